"""Where data lives: a local folder (the default) or an object-storage prefix (`s3://bucket/prefix`).

Everything that stores files (dataset versions, their artifacts, the score and embedding caches) goes
through a `DataLocation`, a picklable pair of a `pyarrow.fs` filesystem and a base path, so a Ray worker can
write where the driver reads. Credentials are never stored: they come from the standard AWS variables
(`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, a web identity) and the endpoint of an
S3-compatible service from `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`. Timeouts and retries are short, so a
wrong endpoint fails in seconds with one line instead of a retry storm.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from pyarrow import fs as pafs

from datatrainer.errors import DatatrainerError

if TYPE_CHECKING:
    import duckdb

ENV_ENDPOINTS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
_CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
CONNECT_TIMEOUT_S = 3.0
REQUEST_TIMEOUT_S = 30.0
MAX_ATTEMPTS = 3


def is_remote(url: str) -> bool:
    return urlparse(url).scheme in ("s3", "s3a")


def _endpoint() -> tuple[str | None, str]:
    """(host[:port], scheme) of an S3-compatible service from the environment, or (None, https) for AWS."""
    for name in ENV_ENDPOINTS:
        value = os.environ.get(name)
        if value:
            parsed = urlparse(value if "://" in value else f"https://{value}")
            return parsed.netloc, parsed.scheme
    return None, "https"


def _has_credentials() -> bool:
    if any(os.environ.get(name) for name in _CREDENTIAL_VARS):
        return True
    if os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "false":  # explicitly use the instance role
        return True
    home = Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE", Path.home() / ".aws" / "credentials"))
    return home.is_file()


def s3_filesystem(url: str) -> pafs.S3FileSystem:
    """An S3 filesystem configured from the environment (keys are read by the SDK, never stored or pickled)."""
    if not _has_credentials():
        raise DatatrainerError(
            f"no credentials for {url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE; "
            "AWS_EC2_METADATA_DISABLED=false to use an instance role)")
    endpoint, scheme = _endpoint()
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return pafs.S3FileSystem(
        endpoint_override=endpoint, scheme=scheme, region=region, connect_timeout=CONNECT_TIMEOUT_S,
        request_timeout=REQUEST_TIMEOUT_S, retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=MAX_ATTEMPTS),
        allow_bucket_creation=False, allow_bucket_deletion=False)


def filesystem_for(url: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a local path, a `file://` URL or an `s3://bucket/key` URL."""
    parsed = urlparse(url)
    if parsed.scheme in ("s3", "s3a"):
        if not parsed.netloc:
            raise DatatrainerError(f"{url}: no bucket named (expected s3://bucket/prefix)")
        return s3_filesystem(url), f"{parsed.netloc}/{parsed.path.strip('/')}".rstrip("/")
    if parsed.scheme == "file":
        return pafs.LocalFileSystem(), str(Path(parsed.path).resolve())
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+://", url):
        raise DatatrainerError(f"{url}: unsupported storage scheme {parsed.scheme!r} (use a local path or s3://)")
    return pafs.LocalFileSystem(), str(Path(url).resolve())


def storage_error(url: str, exc: OSError) -> DatatrainerError:
    """One line for the ways object storage fails: unreachable endpoint, missing bucket, refused access."""
    text = str(exc)
    endpoint = _endpoint()[0] or "AWS S3"
    if "NETWORK_CONNECTION" in text or "Could not connect" in text or "resolve host" in text.lower():
        return DatatrainerError(f"{url}: cannot reach the object store at {endpoint} (check AWS_ENDPOINT_URL)")
    if "NoSuchBucket" in text or "NO_SUCH_BUCKET" in text:
        return DatatrainerError(f"{url}: the bucket does not exist")
    if "ACCESS_DENIED" in text or "AccessDenied" in text or "InvalidAccessKeyId" in text or "403" in text:
        return DatatrainerError(f"{url}: access denied (check the AWS credentials)")
    first = text.splitlines()[0] if text else type(exc).__name__
    return DatatrainerError(f"{url}: {first}")


@dataclass(frozen=True)
class DataLocation:
    """A base URL plus the filesystem that reaches it; picklable, so workers rebuild nothing.

    Paths handed out are paths *inside* `filesystem` (`bucket/prefix/versions/...` on S3, absolute OS paths
    locally), joined with `/`.
    """

    url: str

    @cached_property
    def _resolved(self) -> tuple[pafs.FileSystem, str]:
        return filesystem_for(self.url)

    @property
    def filesystem(self) -> pafs.FileSystem:
        return self._resolved[0]

    @property
    def base(self) -> str:
        return self._resolved[1]

    @property
    def is_local(self) -> bool:
        return not is_remote(self.url)

    def path(self, *parts: str) -> str:
        return "/".join([self.base, *parts])

    def uri(self, path: str) -> str:
        """A path inside the filesystem as users (and DuckDB) name it."""
        return path if self.is_local else f"s3://{path}"

    def check(self) -> None:
        """Fail now, in one line, if the bucket is missing or the store cannot be reached."""
        if self.is_local:
            return
        bucket = self.base.split("/", 1)[0]
        try:
            info = self.filesystem.get_file_info(bucket)
        except OSError as exc:
            raise storage_error(self.url, exc) from None
        if info.type == pafs.FileType.NotFound:
            raise DatatrainerError(f"{self.url}: the bucket {bucket!r} does not exist")

    def list(self, folder: str, recursive: bool = False) -> list[pafs.FileInfo]:
        """Entries under `folder`; an absent folder is empty."""
        try:
            entries: list[pafs.FileInfo] = self.filesystem.get_file_info(
                pafs.FileSelector(folder, allow_not_found=True, recursive=recursive))
            return entries
        except OSError as exc:
            raise storage_error(self.uri(folder), exc) from None

    def delete(self, path: str) -> None:
        """Remove a file or a folder with its contents; already gone is fine."""
        try:
            info = self.filesystem.get_file_info(path)
            if info.type == pafs.FileType.Directory:
                self.filesystem.delete_dir(path)
            elif info.type == pafs.FileType.File:
                self.filesystem.delete_file(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise storage_error(self.uri(path), exc) from None

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Let DuckDB read `s3://` paths of this location through the same filesystem (no httpfs needed)."""
        if self.is_local:
            return
        from fsspec.implementations.arrow import ArrowFSWrapper  # type: ignore[import-untyped]

        wrapper = ArrowFSWrapper(self.filesystem)
        if wrapper.protocol not in con.list_filesystems():
            con.register_filesystem(wrapper)
