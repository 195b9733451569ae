"""One DuckDB connection per thread, for vectorised SQL inside worker threads.

DuckDB connections must not be shared across threads, and the work is already spread over threads (one
batch each), so each connection runs single-threaded instead of competing for the same cores.
"""

from __future__ import annotations

import threading

import duckdb

_local = threading.local()


def thread_connection() -> duckdb.DuckDBPyConnection:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = duckdb.connect()
        connection.execute("SET threads = 1")
        _local.connection = connection
    return connection
