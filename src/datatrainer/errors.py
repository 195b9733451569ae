"""Errors a user can act on.

Every error raised for bad input, a bad reference or a failed write is a `DatatrainerError`: the CLI prints
its one-line message and exits non-zero, never a traceback. Programming errors stay ordinary exceptions.
"""

from __future__ import annotations


class DatatrainerError(Exception):
    """An error whose message alone tells the user what went wrong and where."""


class InputError(DatatrainerError):
    """A record or file that cannot be read; the message names the file and line or record."""

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        self.detail = message
        super().__init__(f"{location}: {message}")


class NotFoundError(DatatrainerError):
    """A workspace, dataset or version that does not exist."""


class WorkspaceError(DatatrainerError):
    """A workspace that is missing, not initialised, or unwritable."""
