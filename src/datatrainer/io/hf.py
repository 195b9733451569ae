"""Reader for a dataset saved with Hugging Face `datasets` (`save_to_disk`), memory-mapped, in batches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from datatrainer.errors import DatatrainerError, InputError
from datatrainer.io.csv import TableChunk

BATCH_ROWS = 65_536


def is_saved_hf_dataset(folder: Path) -> bool:
    return (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file()


def load_saved(folder: Path, split: str | None) -> Any:
    try:
        import datasets
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise DatatrainerError(
            "reading Hugging Face datasets needs the 'hf' extra: pip install 'datatrainer[hf]'") from None
    try:
        loaded = datasets.load_from_disk(str(folder))
    except (FileNotFoundError, ValueError, OSError) as exc:
        raise InputError(str(folder), f"not a readable saved Hugging Face dataset: {exc}") from None
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        if split is None and len(splits) == 1:
            split = splits[0]
        if split not in loaded:
            problem = "pick a split with --split" if split is None else f"no split {split!r}; pick one with --split"
            raise InputError(str(folder), f"{problem} (available: {', '.join(splits)})")
        return loaded[split]
    if split is not None:
        raise InputError(str(folder), "this saved dataset has no splits; drop --split")
    return loaded


class HFDatasetReader:
    unit = "rows"

    def __init__(self, folder: Path, split: str | None) -> None:
        self.path = str(folder)
        self._dataset = load_saved(folder, split)
        self.total = len(self._dataset)

    def field_names(self) -> list[str]:
        return list(self._dataset.column_names)

    def chunks(self) -> Iterator[TableChunk]:
        first_row = 1
        for table in self._dataset.with_format("arrow").iter(batch_size=BATCH_ROWS):
            assert isinstance(table, pa.Table)
            yield TableChunk(self.path, table, first_row, table.num_rows, "row")
            first_row += table.num_rows
