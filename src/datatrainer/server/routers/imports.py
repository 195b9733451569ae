"""Import annotation files into a project: pre-annotations (suggestions) or finished annotations.

The file is the raw request body, so any HTTP client can send it (`curl --data-binary @ls.json`). It is read
by the same format readers as `datatrainer annotate import`, and the service stores everything in one
transaction, so a bad record leaves the project untouched.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from datatrainer.annotation import formats
from datatrainer.annotation.service import AnnotationService
from datatrainer.annotation.types import UserInfo
from datatrainer.server.deps import Authenticated, ProjectId
from datatrainer.server.schemas import NO_NUL, ImportOut

router = APIRouter(prefix="/projects/{project_id}", tags=["export"])
MAX_BYTES = 100 * 1024 * 1024
FileFormat = Literal["jsonl", "conll", "spacy", "label-studio"]
_BODY = {"required": True, "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                 "format": "binary"}}}}


@router.post("/import/{fmt}", response_model=ImportOut, openapi_extra={"requestBody": _BODY},
             responses={413: {"description": "File larger than 100 MiB"}})
async def import_file(project_id: ProjectId, fmt: FileFormat, request: Request, api: Authenticated,
                      as_annotations: bool = False,
                      source: Annotated[str, Query(min_length=1, max_length=200, pattern=NO_NUL)] = "import"
                      ) -> ImportOut:
    """Store each document's spans/labels as suggestions from `source`, or with `as_annotations` as
    submitted annotations by the annotators the file names (project admins only)."""
    if int(request.headers.get("content-length") or 0) > MAX_BYTES:
        raise HTTPException(413, f"import: the file is larger than {MAX_BYTES // 2**20} MiB")
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise HTTPException(413, f"import: the file is larger than {MAX_BYTES // 2**20} MiB")
    return await api.run(lambda user: _import(api.svc, user, project_id, fmt, body, as_annotations, source))


def _import(svc: AnnotationService, user: UserInfo, project_id: int, fmt: str, body: bytes, as_annotations: bool,
            source: str) -> ImportOut:
    svc.get_project(user, project_id)  # 403/404 before reading a file nobody may import
    folder = Path(tempfile.mkdtemp(prefix="datatrainer-import-"))
    try:
        path = folder / f"upload.{fmt}"
        path.write_bytes(body)
        docs = formats.read(path, fmt)
        report = svc.import_docs(user, project_id, docs, as_annotations, source)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return ImportOut.of(report)
