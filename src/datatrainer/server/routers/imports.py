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

from fastapi import APIRouter, Query, Request

from datatrainer.annotation import formats
from datatrainer.annotation.service import AnnotationService
from datatrainer.annotation.types import UserInfo
from datatrainer.server.deps import Annotate, ProjectId
from datatrainer.server.schemas import NO_NUL, ImportOut

router = APIRouter(prefix="/projects/{project_id}", tags=["export"])
MAX_BYTES = 100 * 1024 * 1024  # enforced while streaming by `body_limit.BodyLimit` (see `app.py`)
FileFormat = Literal["jsonl", "conll", "spacy", "label-studio"]
_BODY = {"required": True, "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                 "format": "binary"}}}}


@router.post("/import/{fmt}", response_model=ImportOut, openapi_extra={"requestBody": _BODY},
             responses={413: {"description": "File larger than 100 MiB"}})
async def import_file(project_id: ProjectId, fmt: FileFormat, request: Request, api: Annotate,
                      as_annotations: bool = False,
                      source: Annotated[str, Query(min_length=1, max_length=200, pattern=NO_NUL)] = "import"
                      ) -> ImportOut:
    """Store each document's spans/labels as suggestions from `source`, or with `as_annotations` as
    submitted annotations by the annotators the file names (project admins only).

    The caller is authenticated and their access to the project checked before a byte of the body is read;
    the body then streams to a temporary file, cut off with 413 past `MAX_BYTES` (`body_limit.py`).
    """
    await api.run(lambda user: api.svc.get_project(user, project_id))  # 401/403/404 before reading the file
    folder = Path(tempfile.mkdtemp(prefix="datatrainer-import-"))
    try:
        path = folder / f"upload.{fmt}"
        with path.open("wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
        return await api.run(lambda user: _import(api.svc, user, project_id, fmt, path, as_annotations, source))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _import(svc: AnnotationService, user: UserInfo, project_id: int, fmt: str, path: Path, as_annotations: bool,
            source: str) -> ImportOut:
    docs = formats.read(path, fmt)
    return ImportOut.of(svc.import_docs(user, project_id, docs, as_annotations, source))
