"""A folder of .txt/.md files: one record per file, with its relative path kept as the `path` field."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from datatrainer.io.chunks import LoadedChunk
from datatrainer.io.encoding import first_invalid_utf8, is_utf8
from datatrainer.io.errors import ErrorSink

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
FILES_PER_CHUNK = 2_000


def text_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES)


@dataclass
class TextFilesChunk:
    root: Path
    files: list[Path]
    text_field: str
    encoding: str
    size: int

    def load(self, sink: ErrorSink, earlier: pa.Schema | None = None) -> LoadedChunk:
        paths: list[str] = []
        texts: list[str] = []
        for file in self.files:
            relative = file.relative_to(self.root).as_posix()
            data = file.read_bytes()
            if is_utf8(self.encoding):
                problem = first_invalid_utf8(data)
                if problem:
                    sink(str(file), problem.replace("of the line", "of the file"))
                    continue
            try:
                text = data.decode(self.encoding)
            except UnicodeDecodeError as exc:
                sink(str(file), f"not valid {self.encoding}: {exc.reason}")
                continue
            paths.append(relative)
            texts.append(text.removeprefix("\ufeff"))
        table = pa.table({"path": pa.array(paths, pa.string()), self.text_field: pa.array(texts, pa.string())})
        return LoadedChunk(table, lambda row: str(self.root / paths[row]))


class TextFolderReader:
    unit = "files"

    def __init__(self, folder: Path, files: list[Path], text_field: str, encoding: str) -> None:
        self.path = str(folder)
        self._folder = folder
        self._files = files
        self._text_field = text_field
        self._encoding = encoding
        self.total = len(files)

    def field_names(self) -> list[str]:
        return ["path", self._text_field]

    def chunks(self) -> Iterator[TextFilesChunk]:
        for start in range(0, len(self._files), FILES_PER_CHUNK):
            files = self._files[start:start + FILES_PER_CHUNK]
            yield TextFilesChunk(self._folder, files, self._text_field, self._encoding, len(files))
