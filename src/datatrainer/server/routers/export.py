"""Export a project's results: as a new dataset version, or as a file in an annotation format."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from datatrainer.annotation import formats
from datatrainer.annotation.service import AnnotationService
from datatrainer.annotation.types import UserInfo
from datatrainer.security.keys_cleartext import allow_clear_export
from datatrainer.server.deps import Annotate, ProjectId, Ws
from datatrainer.server.schemas import ExportIn, VersionOut
from datatrainer.workspace import Workspace

router = APIRouter(prefix="/projects/{project_id}", tags=["export"])
Format = Literal["jsonl", "hf", "conll", "spacy", "label-studio"]
_SUFFIX = {"jsonl": ".jsonl", "hf": "", "conll": ".conll", "spacy": ".spacy", "label-studio": ".json"}


@router.post("/export", response_model=VersionOut, status_code=201)
async def export(project_id: ProjectId, body: ExportIn, api: Annotate) -> VersionOut:
    """Final results (review, else consensus) and every annotator's result, with the source as parent."""
    return await api.run(lambda user: _export(api.svc, user, project_id, body))


def _export(svc: AnnotationService, user: UserInfo, project_id: int, body: ExportIn) -> VersionOut:
    name = body.name or svc.get_project(user, project_id).name
    version = svc.export_version(user, project_id, name, body.include_unannotated)
    return VersionOut(ref=version.ref, num_rows=version.num_rows, parents=list(version.info.parents))


@router.get("/download/{fmt}", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {}},
                             "description": "The file; `hf` is a zip of a `datasets.save_to_disk` folder."}})
async def download(project_id: ProjectId, fmt: Format, api: Annotate, ws: Ws, per_annotator: bool = False,
                   decrypt: bool = False) -> FileResponse:
    """ner and classification results as a file: final results, or one document per annotator's result
    (`per_annotator`; Label Studio always carries every annotator). From an encrypted workspace the file is
    plaintext, so it needs `decrypt=true`, which is recorded in the audit log."""
    return await api.run(lambda user: _download(ws, api.svc, user, project_id, fmt, per_annotator, decrypt))


def _download(ws: Workspace, svc: AnnotationService, user: UserInfo, project_id: int, fmt: Format,
              per_annotator: bool, decrypt: bool) -> FileResponse:
    project = svc.get_project(user, project_id)
    allow_clear_export(ws, f"project {project.name}", "a download", decrypt, user.username, flag="decrypt=true")
    docs = svc.annotated_docs(user, project_id, per_annotator or fmt == "label-studio")
    folder = Path(tempfile.mkdtemp(prefix="datatrainer-download-"))
    cleanup = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
    try:
        target = folder / f"{project.name}{_SUFFIX[fmt]}"
        formats.write(docs, fmt, target)
        if fmt == "hf":
            target = Path(shutil.make_archive(str(target), "zip", root_dir=target))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(target, filename=target.name, media_type="application/octet-stream", background=cleanup)
