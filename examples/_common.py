"""Shared by the examples: where the workspace goes and the bundled "crawl" the examples read.

Every example takes an optional workspace folder (default: a new temporary folder) so it can be run as is:
`.venv/bin/python examples/ingest_and_report.py [WORKSPACE]`.
"""

from __future__ import annotations

import sys
import tempfile
from itertools import islice
from pathlib import Path

from datatrainer.corpora import labelled_reviews, write_jsonl
from datatrainer.demo import crawl_records


def workspace_folder() -> Path:
    """The folder named on the command line, else a fresh temporary one."""
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    return Path(tempfile.mkdtemp(prefix="datatrainer-example-"))


def bundled_crawl(folder: Path, limit: int | None = None) -> Path:
    """The demo's crawl as JSONL: real news articles (from the gensim wheel) plus planted near-copies, exact
    copies, spam and Bulgarian pages. `limit` keeps the first N records (news first)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "crawl.jsonl"
    write_jsonl(islice(crawl_records(), limit), path)
    return path



def bundled_sentences(folder: Path) -> Path:
    """The 200 labelled movie-review sentences of the gensim wheel (Pang & Lee polarity) as JSONL, with their
    `label` (pos / neg): short real texts, quick to embed."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "reviews.jsonl"
    write_jsonl(({"id": f"r{index:03d}", "text": text, "label": label}
                 for index, (text, label) in enumerate(labelled_reviews())), path)
    return path
