"""`datatrainer dedup VERSION`: remove exact or near-duplicate records, keeping one per cluster."""

from __future__ import annotations

from typing import Annotated

import typer

from datatrainer.cli.context import console, state


def dedup_command(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Input version, e.g. web@1.")],
    method: Annotated[str, typer.Option(
        help="exact: same text after normalisation; minhash: near-duplicates by word-shingle Jaccard.")] = "minhash",
    threshold: Annotated[float, typer.Option(help="Jaccard similarity at or above which texts are duplicates.")] = 0.8,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations (signature slots).")] = 128,
    ngram: Annotated[int, typer.Option(help="Words per shingle.")] = 3,
    seed: Annotated[int, typer.Option(help="Seed of the hash functions.")] = 1,
    bands: Annotated[int | None, typer.Option(help="LSH bands (default: chosen from threshold and num-perm).")] = None,
    normalize: Annotated[bool, typer.Option(
        "--normalize/--no-normalize", help="Ignore case, punctuation and spacing differences.")] = True,
    name: Annotated[str | None, typer.Option("--name", "-n", help="Output dataset (default: the input's).")] = None,
) -> None:
    """Keep the first record (in version order) of every duplicate cluster, as a new version.

    What was removed and why: `datatrainer datasets dropped NEW`; every cluster with its members'
    similarity to the kept record: `datatrainer datasets dropped NEW --artifact clusters`.
    """
    cli = state(ctx)
    with cli.open() as ws:
        result = ws.dedup(ref, method, threshold=threshold, num_perm=num_perm, ngram=ngram, seed=seed, bands=bands,
                          normalize=normalize, name=name, engine=cli.engine())
    stats = result.info.stats
    console.print(f"[green]created[/] [bold]{result.ref}[/]: kept {stats['kept']:,} of {stats['rows']:,} records, "
                  f"dropped {stats['dropped']:,} duplicates in {stats['clusters']:,} clusters "
                  f"(largest {stats['largest_cluster']:,})")
    if stats["dropped"]:
        console.print(f"see what was removed and why: datatrainer datasets dropped {result.ref}", markup=False,
                      highlight=False)
