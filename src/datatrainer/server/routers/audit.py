"""The audit log (administrators and auditors, read-only): read it and verify its hash chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from datatrainer.server.deps import AuditRead, Ws
from datatrainer.server.schemas import MAX_ID, NO_NUL, AuditEntryOut, AuditVerifyOut

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=list[AuditEntryOut])
async def entries(api: AuditRead, ws: Ws, after_seq: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  entity: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
                  entity_id: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None
                  ) -> list[AuditEntryOut]:
    """Entries in chain order after `after_seq` (page by passing the last seq seen)."""
    return [AuditEntryOut.of(e) for e in await api.run(lambda _: ws.audit.entries(after_seq, limit, entity,
                                                                                  entity_id))]


@router.get("/verify", response_model=AuditVerifyOut)
async def verify(api: AuditRead, ws: Ws) -> AuditVerifyOut:
    """Walk the whole chain; `broken_seq` names the first entry that was altered, removed or reordered."""
    return AuditVerifyOut.of(await api.run(lambda _: ws.audit.verify()))
