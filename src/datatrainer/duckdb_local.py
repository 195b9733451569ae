"""One DuckDB connection per thread, for vectorised SQL inside worker threads, sandboxed.

DuckDB connections must not be shared across threads, and the work is already spread over threads (one
batch each), so each connection runs single-threaded instead of competing for the same cores.

These connections only ever see Arrow data registered on them, and they run user-written SQL (filter and
erase predicates), which may one day arrive through the REST API. They are therefore opened with external
access disabled: no file or network functions (`read_text('/etc/hostname')` fails), no ATTACH or COPY, no
extension installing, loading or autoloading. DuckDB refuses to turn external access back on once the
database runs, so a predicate cannot undo this.
"""

from __future__ import annotations

import threading

import duckdb

_local = threading.local()

SANDBOX = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
    "threads": 1,
}


def sandboxed_connection() -> duckdb.DuckDBPyConnection:
    """A new in-memory connection that can read only what is registered on it."""
    return duckdb.connect(config=dict(SANDBOX))


def thread_connection() -> duckdb.DuckDBPyConnection:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = sandboxed_connection()
        _local.connection = connection
    return connection
