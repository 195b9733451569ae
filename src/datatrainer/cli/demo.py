"""`datatrainer demo`: every landed stage, end to end, on real text bundled in installed wheels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datatrainer.cli.context import console, state
from datatrainer.corpora import news_articles, wikipedia_articles, write_jsonl
from datatrainer.io.ingest import IngestOptions
from datatrainer.workspace import Workspace


def demo_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Workspace folder the demo creates (default: ./demo-workspace).")]
    = Path("demo-workspace"),
) -> None:
    """Ingest real Wikipedia and news text, filter it, diff the versions and export to HF datasets."""
    cli = state(ctx)
    engine = cli.engine()
    root = (cli.workspace or out).resolve()
    with Workspace.init(root, cli.db_url) as ws:
        inputs = root / "inputs"
        inputs.mkdir(exist_ok=True)
        wiki_file, news_file = inputs / "enwiki.jsonl", inputs / "lee-news.jsonl"
        console.rule("1. real text from the gensim wheel")
        console.print(f"{write_jsonl(wikipedia_articles(), wiki_file)} Wikipedia articles -> {wiki_file}")
        console.print(f"{write_jsonl(news_articles(), news_file)} news articles -> {news_file}")

        console.rule("2. ingest")
        wiki = ws.ingest(wiki_file, "wiki", IngestOptions(source="enwiki", license="CC-BY-SA-3.0"), engine)
        news = ws.ingest(news_file, "news", IngestOptions(source="lee-corpus", license="research"), engine)
        for version in (wiki, news):
            console.print(f"{version.ref}: {version.num_rows} records, columns {', '.join(version.schema.names)}")

        console.rule("3. filter: keep articles of at least 100 words")
        long_wiki = ws.apply("filter", [wiki], {"where": "len(string_split(text, ' ')) >= 100"}, engine=engine)
        diff = ws.datasets.diff(wiki, long_wiki)
        console.print(f"{long_wiki.ref}: kept {long_wiki.num_rows} of {wiki.num_rows}; removed "
                      f"{diff.removed_count} (e.g. {', '.join(diff.removed[:3]) or '-'})")

        console.rule("4. versions and lineage")
        for name in ws.datasets.names():
            for version in ws.datasets.versions(name):
                parents = ", ".join(version.info.parents) or "-"
                console.print(f"{version.ref:<10} {version.num_rows:>5} rows  {version.info.operation:<7} "
                              f"parents: {parents}")

        console.rule("5. export to Hugging Face datasets")
        out_dir = root / "exports" / "wiki-long-hf"
        ws.export(long_wiki, out_dir, "hf", engine=engine, overwrite=True)
        import datasets

        loaded = datasets.load_from_disk(str(out_dir))
        console.print(f"{out_dir}: datasets.load_from_disk -> {loaded.num_rows} rows, "
                      f"features {list(loaded.features)}; dataset card: {out_dir / 'README.md'}")
    console.print(f"[green]demo done[/]: workspace at [bold]{root}[/]; try "
                  f"`datatrainer -w {root} datasets show {long_wiki.ref}`")
