"""Write a version's scores to a file users can plot and reuse: one row per record, `id`, `score`,
`config_hash`, as JSON lines or Parquet (chosen by the file's extension), written atomically."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa

from datatrainer.errors import DatatrainerError
from datatrainer.scoring.shards import connect
from datatrainer.scoring.store import CONFIG_HASH_KEY, SCORE
from datatrainer.store.schema import ID

FORMATS = {".jsonl": "JSON", ".ndjson": "JSON", ".parquet": "PARQUET"}


def export_scores(table: pa.Table, out: Path) -> int:
    """Write `(id, score, config_hash)` rows of a `ScoreStore.scores_for` table; returns the row count."""
    kind = FORMATS.get(out.suffix.lower())
    if kind is None:
        raise DatatrainerError(f"{out}: unknown score file type; use one of {', '.join(FORMATS)}")
    config = (table.schema.metadata or {}).get(CONFIG_HASH_KEY, b"").decode()
    rows = pa.table({ID: table[ID], SCORE: table[SCORE],
                     "config_hash": pa.array([config] * table.num_rows, pa.string())})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    con = connect()
    try:
        con.register("scores", rows)
        path = str(tmp).replace("'", "''")
        con.execute(f"COPY scores TO '{path}' (FORMAT {kind})")
        os.replace(tmp, out)
    finally:
        con.close()
        tmp.unlink(missing_ok=True)
    return int(rows.num_rows)
