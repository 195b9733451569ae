"""Datasets, their versions (show, head, lineage, stats) and the scores computed for them: read-only, for
callers with the `datasets:read` scope (curators, reviewers, auditors, administrators)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from datatrainer.io.card import lineage
from datatrainer.server.deps import DatasetsRead, Ws
from datatrainer.server.schemas import NO_NUL
from datatrainer.store.catalog import VersionInfo

router = APIRouter(tags=["datasets"])
Name = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]
Ref = Annotated[str, Path(min_length=1, max_length=220, pattern=NO_NUL, description="e.g. `web@2`, or `web` "
                                                                                      "for the newest version")]
MAX_HEAD = 100


class VersionSummary(BaseModel):
    ref: str
    rows: int
    operation: str
    parents: list[str]
    created_at: datetime

    @classmethod
    def of(cls, info: VersionInfo) -> VersionSummary:
        return cls(ref=info.ref, rows=info.row_count, operation=info.operation, parents=list(info.parents),
                   created_at=info.created_at)


class VersionDetail(VersionSummary):
    params: dict[str, Any]
    code_version: str
    schema_: dict[str, str] = Field(alias="schema", serialization_alias="schema")
    stats: dict[str, Any]

    @classmethod
    def of(cls, info: VersionInfo) -> VersionDetail:
        return cls.model_validate({**VersionSummary.of(info).model_dump(), "params": info.params,
                                   "code_version": info.code_version, "stats": info.stats,
                                   "schema": {field.name: str(field.type) for field in info.schema}})


class DatasetOut(BaseModel):
    name: str
    versions: int
    latest: VersionSummary


class ComputedOut(BaseModel):
    kind: str = Field(description="`score` or `embedding`")
    name: str
    config_hash: str
    covered: int
    records: int
    params: dict[str, Any]


class ScoreRow(BaseModel):
    id: str
    score: float | None


@router.get("/datasets", response_model=list[DatasetOut])
async def list_datasets(api: DatasetsRead, ws: Ws) -> list[DatasetOut]:
    """Every dataset with its number of versions and its newest version."""
    def work(_: object) -> list[DatasetOut]:
        out = []
        for name in ws.datasets.names():
            versions = ws.datasets.versions(name)
            out.append(DatasetOut(name=name, versions=len(versions), latest=VersionSummary.of(versions[-1].info)))
        return out
    return await api.run(work)


@router.get("/datasets/{name}/versions", response_model=list[VersionSummary])
async def list_versions(name: Name, api: DatasetsRead, ws: Ws) -> list[VersionSummary]:
    """A dataset's versions, oldest first."""
    return await api.run(lambda _: [VersionSummary.of(v.info) for v in ws.datasets.versions(name)])


@router.get("/versions/{ref}", response_model=VersionDetail, response_model_by_alias=True)
async def show_version(ref: Ref, api: DatasetsRead, ws: Ws) -> VersionDetail:
    """One version: rows, schema, the operation and parameters that made it, its parents and stats."""
    return await api.run(lambda _: VersionDetail.of(ws.version(ref).info))


@router.get("/versions/{ref}/head", response_model=list[dict[str, Any]])
async def head(ref: Ref, api: DatasetsRead, ws: Ws, n: Annotated[int, Query(ge=1, le=MAX_HEAD)] = 10
               ) -> list[dict[str, Any]]:
    """The first `n` records."""
    return await api.run(lambda _: _jsonable_rows(ws.version(ref).head(n)))


@router.get("/versions/{ref}/lineage", response_model=list[VersionSummary])
async def version_lineage(ref: Ref, api: DatasetsRead, ws: Ws) -> list[VersionSummary]:
    """The version and every ancestor, nearest first."""
    return await api.run(lambda _: [VersionSummary.of(v.info) for v in lineage(ws, ws.version(ref))])


@router.get("/versions/{ref}/stats", response_model=dict[str, Any])
async def stats(ref: Ref, api: DatasetsRead, ws: Ws) -> dict[str, Any]:
    """The statistics stored with the version when it was written."""
    return await api.run(lambda _: ws.version(ref).info.stats)


@router.get("/versions/{ref}/scores", response_model=list[ComputedOut])
async def computed(ref: Ref, api: DatasetsRead, ws: Ws) -> list[ComputedOut]:
    """Every scorer config and embedding model computed for the version, with how many records it covers."""
    def work(_: object) -> list[ComputedOut]:
        version = ws.version(ref)
        found = [("score", item) for item in ws.scores.computed(version)]
        found += [("embedding", item) for item in ws.embeddings.computed(version)]
        return [ComputedOut(kind=kind, name=item.config.name, config_hash=item.config.config_hash,
                            covered=item.covered, records=item.records, params=item.config.params)
                for kind, item in found]
    return await api.run(work)


@router.get("/versions/{ref}/scores/{scorer}", response_model=list[ScoreRow])
async def scores(ref: Ref, scorer: Name, api: DatasetsRead, ws: Ws,
                 config: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
                 offset: Annotated[int, Query(ge=0)] = 0,
                 limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> list[ScoreRow]:
    """One scorer's score per record (null where a record has none), a page at a time in record order."""
    def work(_: object) -> list[ScoreRow]:
        table = ws.scores.scores_for(ws.version(ref), scorer, config).slice(offset, limit)
        return [ScoreRow(id=str(i), score=s) for i, s in zip(table["id"].to_pylist(), table["score"].to_pylist(),
                                                              strict=True)]
    return await api.run(work)


def _jsonable_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Records as JSON values: binary columns as latin-1 text would mislead, so they are left out by name."""
    keep = [name for name, kind in zip(table.column_names, table.schema.types, strict=True)
            if not (pa.types.is_binary(kind) or pa.types.is_large_binary(kind))]
    return [dict(row) for row in table.select(keep).to_pylist()]
