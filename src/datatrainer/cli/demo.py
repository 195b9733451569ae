"""`datatrainer demo`: every landed stage, end to end, on real text bundled in installed wheels."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from datatrainer.cli.context import console, state
from datatrainer.config import CONFIG_FILE
from datatrainer.corpora import wikipedia_articles, write_jsonl
from datatrainer.demo import crawl_records
from datatrainer.engine.base import Engine
from datatrainer.errors import DatatrainerError
from datatrainer.io.ingest import IngestOptions
from datatrainer.quality.metrics import QualityConfig
from datatrainer.quality.report import build_report, default_paths, write_report
from datatrainer.sampling.coverage_report import build_coverage_report, write_coverage_report
from datatrainer.sampling.coverage_report import default_paths as coverage_paths
from datatrainer.scoring.jobs import ensure_embeddings, score_density
from datatrainer.scoring.race import RaceParams
from datatrainer.store.versions import DatasetVersion
from datatrainer.workspace import Workspace

DEMO_MARKER = ".datatrainer-demo"
DEMO_PASSWORD = "demo-password"  # a throwaway local account, printed for the user to log in with  # nosec B105  # a name or a throwaway demo account shown to the user, not a secret
ANNOTATED_TASKS = 12
DEMO_SEQ_LEN = 128
DEMO_TRAIN_STEPS = 40  # a tiny GPT on 2 cores: a few seconds, enough for the loss to fall visibly
ASK_LLM_DOC_TOKENS = 128  # the documents' tokens in the Ask-LLM prompt: the default student reads whole texts


def demo_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Workspace folder the demo creates (default: ./demo-workspace).")]
    = Path("demo-workspace"),
) -> None:
    """Ingest real text, measure, filter and deduplicate it, embed and sample it, and export to HF datasets."""
    cli = state(ctx)
    engine = cli.engine()
    root = (cli.workspace or out).resolve()
    _fresh(root)
    with Workspace.init(root, cli.db_url) as ws:
        (root / DEMO_MARKER).touch()
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

        console.rule("6. personal data: find emails, phones, cards, IBANs, IPs and national ids; pseudonymise them")
        _personal_data(ws, deduped, engine)

        console.rule("7. embeddings (MiniLM), density scores (RACE sketch), a density sample and its coverage")
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

        console.rule("8. quality: Ask-LLM (SmolLM2) scores the sample; the best-measured score keeps its best half")
        best = _ask_llm(ws, sample, engine.progress)

        console.rule("9. annotation: an NER project pre-annotated by spaCy, reviewed, exported")
        _annotation(ws, sample, root)

        console.rule("10. train a tiny GPT from scratch on the curated crawl, evaluate it on held-out Wikipedia")
        _train_and_evaluate(ws, best, wiki, engine.progress)

        console.rule("11. versions and lineage")
        for name in ws.datasets.names():
            for version in ws.datasets.versions(name):
                parents = ", ".join(version.info.parents) or "-"
                console.print(f"{version.ref:<16} {version.num_rows:>5} rows  {version.info.operation:<15} "
                              f"parents: {parents}")

        console.rule("12. export to Hugging Face datasets")
        out_dir = root / "exports" / "crawl-clean-hf"
        ws.export(deduped, out_dir, "hf", engine=engine, overwrite=True)
        import datasets

        loaded = datasets.load_from_disk(str(out_dir))
        console.print(f"{out_dir}: datasets.load_from_disk -> {loaded.num_rows} rows; "
                      f"dataset card with lineage: {out_dir / 'README.md'}")
    console.print(f"[green]demo done[/]: workspace at [bold]{root}[/]; try "
                  f"`datatrainer -w {root} datasets show {deduped.ref}`")


def _ask_llm(ws: Workspace, version: DatasetVersion, progress: bool) -> DatasetVersion:
    """`score ask-llm` on the density sample, then `sample --by ask-llm` keeps its best half: by the default
    kind that run stores, the quality student (n-gram classifier and C4 word share voting), the score that
    measured best on held-out real text (`scoring.measured`); the bundled 135M model's own P(yes) is shown
    beside it, with what each measured."""
    from scipy.stats import spearmanr

    from datatrainer.scoring.measured import key_of, measured, sampling_warning

    scored = ws.score("ask-llm", version, max_doc_tokens=ASK_LLM_DOC_TOKENS, progress=progress)
    configs = {config.params["score"]: config for config in
               (ws.scores.resolve(version, "ask-llm", hash_) for hash_ in scored.hashes)}
    default = ws.scores.resolve(version, "ask-llm", scored.config)
    student, llm = (ws.scores.scores_for(version, "ask-llm", config.config_hash)["score"].to_numpy()
                    for config in (default, configs["pyes"]))
    results = measured()["scores"]

    def auc(key: str | None) -> str:
        found = results.get(key or "")
        return f"ROC-AUC {found['auc']:.2f}" if found else "not measured"

    console.print(f"ask-llm scored the {version.num_rows} records of {version.ref}; on held-out real text the default "
                  f"score ({default.params['score']}) measured {auc(key_of(default))}, SmolLM2's P(yes) "
                  f"{auc('ask-llm:smollm2:paper:pyes')} (at 512 tokens); Spearman correlation of the two here "
                  f"{spearmanr(student, llm)[0]:.2f}", markup=False, highlight=False)
    best = ws.sample(version, by="ask-llm", budget="50%", name="crawl-best")
    warning = sampling_warning(ws.scores.resolve(version, "ask-llm", best.info.params["score_config"]))
    console.print(f"{best.ref} keeps the best {best.num_rows} by ask-llm config {best.info.params['score_config']}"
                  + (f"; warning: {warning}" if warning else ""), markup=False, highlight=False)
    return best


def _personal_data(ws: Workspace, version: DatasetVersion, engine: Engine) -> None:
    """What a team does before sharing data: count the personal data per kind, then write a version where each
    value is replaced by a realistic surrogate, the same one wherever the value recurs (keyed by a secret of
    this workspace, so the surrogates cannot be traced back without it)."""
    from datatrainer.pii.config import NAME_TYPES, PII_TYPES, PiiConfig
    from datatrainer.pii.scan import scan_version

    structured = [kind for kind in PII_TYPES if kind not in NAME_TYPES]  # names need spaCy: slower, and noisier
    summary = scan_version(version, PiiConfig(types=structured), engine=engine)
    kinds = ", ".join(f"{kind} {count}" for kind, count in summary.findings.items()) or "none"
    console.print(f"{version.ref}: {summary.records_with_pii} of {summary.records} records hold personal data "
                  f"({kinds})")
    private = ws.apply("pii-redact", [version], {"mode": "pseudonymise", "types": structured},
                       name="crawl-shareable", engine=engine)
    console.print(f"{private.ref}: the same {private.num_rows} records with every value pseudonymised; "
                  f"`datatrainer -w {ws.root} pii scan {private.ref}` finds only surrogates")


def _train_and_evaluate(ws: Workspace, version: DatasetVersion, held_out: DatasetVersion, progress: bool) -> None:
    """The smallest honest version of "does curation pay": a few steps of a tiny GPT trained from scratch on the
    kept records, its loss curve, and its perplexity on text it never saw (the Wikipedia version), all stored
    with the model in the registry (`datatrainer models show demo-tiny-gpt`)."""
    from datatrainer.evaluation.report import write_report
    from datatrainer.evaluation.runner import run_perplexity
    from datatrainer.training import TrainConfig, train

    config = TrainConfig(model="tiny-gpt", tiny={"n_layer": 2, "n_head": 2, "n_embd": 64}, seq_len=DEMO_SEQ_LEN,
                         batch_size=8, learning_rate=3e-3, max_steps=DEMO_TRAIN_STEPS,
                         eval_every=DEMO_TRAIN_STEPS // 2, save_every=DEMO_TRAIN_STEPS, seed=0)
    result = train(ws, version, config, "demo-tiny-gpt", progress=progress)
    losses = [entry["train_loss"] for entry in result.history if "train_loss" in entry]
    console.print(f"model demo-tiny-gpt trained on {version.ref}: {DEMO_TRAIN_STEPS} steps, training loss "
                  f"{losses[0]:.2f} -> {losses[-1]:.2f}; folder {result.model.path}")
    # The model's context is its training length; the BOS token perplexity is conditioned on takes one place.
    run = run_perplexity(ws, "demo-tiny-gpt", held_out.ref, max_tokens=DEMO_SEQ_LEN - 1, progress=progress)
    console.print(f"perplexity on {held_out.ref} (never trained on): {run.metrics['perplexity']:.1f}; "
                  f"report {write_report(ws, run)}")


def _fresh(root: Path) -> None:
    """Start from an empty folder: an earlier demo's workspace (it carries the marker) is replaced, so the
    README's command can be run again; any other workspace is refused, never deleted."""
    if not (root / CONFIG_FILE).exists():
        return
    if not (root / DEMO_MARKER).is_file():
        raise DatatrainerError(f"{root} holds a workspace the demo did not create; pass --out with a new folder")
    console.print(f"replacing the earlier demo workspace at {root}")
    shutil.rmtree(root)


def _annotation(ws: Workspace, version: DatasetVersion, root: Path) -> None:
    """What a team does in the web UI, done through the same service: spaCy suggests entities, an annotator
    accepts them for a few tasks, a reviewer accepts those, and the results leave as a version and as files."""
    from datatrainer.annotation.formats import write
    from datatrainer.annotation.preannotate.runner import run_suggester
    from datatrainer.annotation.preannotate.spacy_ner import SpacyNerSuggester
    from datatrainer.annotation.types import local_admin

    admin, service, labels = local_admin(), ws.annotation, ["PER", "ORG", "LOC"]
    project = service.create_project(admin, "demo-people", version.ref, "ner", labels, overlap=1,
                                     ordering="uncertainty", guidelines="Mark people, organisations and places.")
    # The demo login is an administrator, so a newcomer sees every page: the dashboard, review, agreement and
    # the audit log, not only the annotation queue.
    demo_user = service.create_user(admin, "demo", DEMO_PASSWORD, role="admin")
    service.add_member(admin, project.name, demo_user.username, "admin")
    report = run_suggester(ws, admin, project, SpacyNerSuggester(labels))
    console.print(f"project {project.name}: {report.tasks} tasks from {version.ref}; spaCy suggested {report.items} "
                  f"entities, {report.uncertain} tasks uncertain (served first)")
    for _ in range(ANNOTATED_TASKS):
        task = service.next_task(demo_user, project.name)
        if task is None:
            break
        suggestions = service.get_task(demo_user, task.id).suggestions
        if suggestions:
            service.submit(demo_user, task.id, suggestions[0].result, suggestion_id=suggestions[0].id)
        else:
            service.submit(demo_user, task.id, {"spans": []})
        service.review(admin, task.id, "accept")
    progress = service.progress(admin, project.name)
    accepted = sum(item.accepted for item in service.suggestion_acceptance(admin, project.name))
    console.print(f"annotated and reviewed {progress.by_state.get('accepted', 0)} tasks ({accepted} suggested "
                  f"entities kept)")
    gold = service.export_version(admin, project.name, "demo-people-gold")
    docs = service.annotated_docs(admin, project.name)
    exports = root / "exports"
    console.print(f"{gold.ref}: {gold.num_rows} records with their reviewed spans")
    for fmt, name in (("conll", "demo-people.conll"), ("spacy", "demo-people.spacy"),
                      ("label-studio", "demo-people.json")):
        console.print(write(docs, fmt, exports / name, overwrite=True).describe(), markup=False, highlight=False)
    console.print(f"look and annotate in the browser: `datatrainer -w {root} serve`, open /dashboard (or / to "
                  f"annotate), log in as demo / {DEMO_PASSWORD}; `datatrainer -w {root} audit verify` checks the "
                  "audit log")


def _report(ws: Workspace, version: DatasetVersion, config: QualityConfig, engine: Engine) -> None:
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
