"""Which records an erasure removes: a SQL predicate, a list of ids, or a value anywhere in a record.

Predicates run in the sandboxed per-thread DuckDB connection (`duckdb_local`: no file or network access, no
extensions), over Arrow batches registered on it, so `--where` can name the record's columns and nothing else.
A value is passed as a bound parameter, never spliced into SQL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import duckdb
import orjson
import pyarrow as pa

from datatrainer.duckdb_local import thread_connection
from datatrainer.errors import DatatrainerError
from datatrainer.store.schema import CONTENT_HASH, ID, TEXT
from datatrainer.store.versions import DatasetVersion


@dataclass(frozen=True)
class Selector:
    """Exactly one of `where`, `ids`, `value`."""

    where: str | None = None
    ids: tuple[str, ...] | None = None
    value: str | None = None

    def __post_init__(self) -> None:
        given = [part for part in (self.where, self.ids, self.value) if part is not None]
        if len(given) != 1:
            raise DatatrainerError("erase: give exactly one of --where PREDICATE, --ids FILE or --value TEXT")
        if self.where is not None and not self.where.strip():
            raise DatatrainerError("erase: --where is empty")
        if self.value is not None and not self.value:
            raise DatatrainerError("erase: --value is empty")

    @property
    def kind(self) -> str:
        return "where" if self.where is not None else "ids" if self.ids is not None else "value"

    def digest(self) -> str:
        """What the receipt and the journal keep of the request: a hash, never the value or the ids."""
        return hashlib.sha256(orjson.dumps([self.kind, self.where, self.ids, self.value])).hexdigest()


@dataclass
class Matches:
    """Records one version matched: their ids and content hashes, and their texts (memory only: used to find
    copies in annotation tasks and audit payloads, never stored)."""

    ids: set[str] = field(default_factory=set)
    hashes: set[str] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)

    def update(self, other: Matches) -> None:
        self.ids |= other.ids
        self.hashes |= other.hashes
        self.texts |= other.texts


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _predicate(selector: Selector, schema: pa.Schema) -> str:
    if selector.where is not None:
        return selector.where
    if selector.ids is not None:
        return f"{ID} IN (SELECT id FROM erase_ids)"  # nosec B608  # quoted column names; the --where text runs in the sandboxed DuckDB connection
    return " OR ".join(f"contains(CAST({_quote(name)} AS VARCHAR), $value)" for name in schema.names) or "false"


def _query(selector: Selector, schema: pa.Schema) -> str:
    text = f"CAST({TEXT} AS VARCHAR)" if TEXT in schema.names else "NULL"
    content = CONTENT_HASH if CONTENT_HASH in schema.names else "NULL"
    return (f"SELECT CAST({ID} AS VARCHAR) AS id, {content} AS content_hash, {text} AS text FROM records "  # nosec B608  # quoted column names; the --where text runs in the sandboxed DuckDB connection
            f"WHERE coalesce(({_predicate(selector, schema)}), false)")


def _run(selector: Selector, table: pa.Table | pa.RecordBatch) -> pa.Table:
    con = thread_connection()
    con.register("records", table)
    if selector.ids is not None:
        con.register("erase_ids", pa.table({"id": pa.array(selector.ids, pa.string())}))
    try:
        params = {"value": selector.value} if selector.value is not None else None
        return con.sql(_query(selector, table.schema), params=params).to_arrow_table()
    finally:
        con.unregister("records")
        if selector.ids is not None:
            con.unregister("erase_ids")


def applies_to(selector: Selector, version: DatasetVersion) -> str | None:
    """None if the selector can run on this version's columns, else why not (a column it lacks). A predicate
    that is malformed, or reaches for files, fails here with one line."""
    if ID not in version.schema.names:
        return f"{version.ref} has no {ID} column"
    try:
        _run(selector, version.schema.empty_table())
    except (duckdb.BinderException, duckdb.CatalogException) as exc:
        return _first_line(exc)
    except duckdb.PermissionException as exc:
        raise DatatrainerError(f"invalid --where predicate (it may use the record's columns only): "
                               f"{_first_line(exc)}") from None
    except duckdb.Error as exc:
        raise DatatrainerError(f"invalid --where predicate {selector.where!r}: {_first_line(exc)}") from None
    return None


def match(selector: Selector, version: DatasetVersion) -> Matches:
    found = Matches()
    for batch in version.read_batches():
        result = _run(selector, batch)
        found.ids.update(str(v) for v in result.column("id").to_pylist() if v is not None)
        found.hashes.update(str(v) for v in result.column("content_hash").to_pylist() if v is not None)
        found.texts.update(str(v) for v in result.column("text").to_pylist() if v)
    return found


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
