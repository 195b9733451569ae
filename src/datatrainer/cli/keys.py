"""`datatrainer encrypt`, `datatrainer keys status|rotate`, and the key-provider options `init --encrypt` shares."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from datatrainer.annotation.types import local_admin
from datatrainer.cli.context import console, state
from datatrainer.security.keys import ENV_NEW_PASSPHRASE, PROVIDERS, KeyProvider, new_provider
from datatrainer.workspace import Workspace

app = typer.Typer(help="Encryption keys of an encrypted workspace: status, rotate.", no_args_is_help=True)

ProviderOption = Annotated[str | None, typer.Option(
    "--key-provider", help=f"Where the master key comes from: {', '.join(PROVIDERS)} (default: passphrase when "
    "DATATRAINER_PASSPHRASE is set, else a new key file).")]
KeyFileOption = Annotated[Path | None, typer.Option(
    "--key-file", help="keyfile provider: the key file to use or create (default: a new one under "
    "~/.config/datatrainer/keys/).")]
KmsClientOption = Annotated[str | None, typer.Option(
    "--kms-client", help="kms provider: module:attribute returning your KmsClient (or DATATRAINER_KMS_CLIENT).")]
KmsKeyOption = Annotated[str | None, typer.Option("--kms-key-id", help="kms provider: the master key's id in the KMS.")]


def describe(provider: KeyProvider, passphrase: str = "the passphrase in DATATRAINER_PASSPHRASE") -> str:  # nosec B107  # a label or help text, not a password
    settings = provider.settings()
    if provider.kind == "keyfile":
        return f"key file {settings['path']} (keep a copy somewhere safe: without it the data is lost)"
    if provider.kind == "kms":
        return f"KMS key {settings['key_id']} through {settings['client']}"
    return f"{passphrase} (without it the data is lost)"


def switch_on(ws: Workspace, kind: str | None, key_file: Path | None, kms_client: str | None,
              kms_key_id: str | None) -> None:
    """`init --encrypt`: encryption on from the first version."""
    provider = new_provider(kind, key_file=key_file, kms_client=kms_client, kms_key_id=kms_key_id)
    if ws.keys.setup(provider):
        ws.audit.record(actor=local_admin().username, action="keys.setup", entity="workspace_keys", entity_id=1,
                        after={"provider": provider.kind})
        console.print(f"encryption at rest on; master key: {describe(provider)}", markup=False, highlight=False)
    else:
        console.print(f"{ws.root} is already encrypted (see `datatrainer keys status`)", markup=False)


def encrypt_command(
    ctx: typer.Context,
    key_provider: ProviderOption = None,
    key_file: KeyFileOption = None,
    kms_client: KmsClientOption = None,
    kms_key_id: KmsKeyOption = None,
) -> None:
    """Encrypt an existing workspace: every version, artifact, score and embedding file is rewritten
    encrypted, one file at a time (each replaced atomically); re-run to resume after an interruption."""
    from datatrainer.security.keys_encrypt import encrypt_workspace

    cli = state(ctx)
    with cli.open() as ws:
        if not ws.keys.encrypted:  # said before the long part, so an interrupted run still tells where the key is
            switch_on(ws, key_provider, key_file, kms_client, kms_key_id)
        try:
            report = encrypt_workspace(ws, None, local_admin().username, cli.progress)
        except KeyboardInterrupt:
            # Unlike other commands nothing is discarded: every file replaced so far stays encrypted.
            print("error: interrupted: the files done so far stay encrypted; run `datatrainer encrypt` again to "
                  "finish", file=sys.stderr)
            raise typer.Exit(130) from None
    console.print(f"encrypted {report.files_rewritten:,} file(s) of {report.versions:,} version(s) and the score "
                  f"and embedding stores ({report.files_already_encrypted:,} already encrypted), and "
                  f"{report.catalog_values:,} annotation and audit value(s) in the catalog")


@app.command("status")
def status_command(ctx: typer.Context) -> None:
    """Whether the workspace is encrypted, its key provider, key generation and data key counts."""
    with state(ctx).open() as ws:
        status = ws.keys.status()
    if status is None:
        console.print("not encrypted (see `datatrainer encrypt`)")
        return
    where = ", ".join(f"{key}={value}" for key, value in status.settings.items() if key in ("path", "key_id"))
    counts = ", ".join(f"{count} {kind}" for kind, count in sorted(status.data_keys.items())) or "none yet"
    rotated = f"{status.rotated_at:%Y-%m-%d %H:%M}" if status.rotated_at else "never"
    console.print(f"encrypted with {status.provider}{f' ({where})' if where else ''}; key generation "
                  f"{status.generation}, last rotated {rotated}; data keys: {counts}", markup=False, highlight=False)


@app.command("rotate")
def rotate_command(
    ctx: typer.Context,
    key_provider: ProviderOption = None,
    key_file: KeyFileOption = None,
    kms_client: KmsClientOption = None,
    kms_key_id: KmsKeyOption = None,
) -> None:
    """Re-wrap every data key under a new master key (no data is rewritten). The new passphrase comes from
    DATATRAINER_NEW_PASSPHRASE; a key file rotation creates a new key file (or uses --key-file)."""
    with state(ctx).open() as ws:
        current = ws.keys.provider()  # unlocks with the current key first: a wrong one changes nothing
        new = new_provider(key_provider or current.kind, key_file=key_file, kms_client=kms_client,
                           kms_key_id=kms_key_id, passphrase_env=ENV_NEW_PASSPHRASE)
        count = ws.keys.rotate(new, ws.audit, local_admin().username)
    hint = "the new passphrase (give it as DATATRAINER_PASSPHRASE from now on)"
    console.print(f"re-wrapped {count:,} data key(s); master key now: {describe(new, hint)}", markup=False,
                  highlight=False)
    if current.kind == "keyfile" and current.settings() != new.settings():
        console.print(f"the old key file {current.settings()['path']} is no longer used: destroy it",
                      markup=False, highlight=False)
