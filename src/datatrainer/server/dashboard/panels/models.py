"""What a model page shows: where the model came from (its dataset version, base model and configuration), its
training curve, and every stored evaluation with the headline metrics over time."""

from __future__ import annotations

from html import escape

from datatrainer.evaluation.report import HEADLINE, fmt_metric
from datatrainer.evaluation.report import _history as evaluation_history  # the evaluation report's own table
from datatrainer.server.dashboard.html import folded, json_block, muted, report_link, version_link
from datatrainer.server.dashboard.plots import lines_svg
from datatrainer.server.dashboard.registry import MODEL_PANELS, Context, ModelSubject

LOSSES = ("train_loss", "eval_loss")


@MODEL_PANELS.register("overview", "Model", scope="datasets:read", order=10)
def overview(ctx: Context, subject: ModelSubject) -> str:
    model = subject.model
    if model is None:
        return muted(f"{subject.name} is not in the model registry: only its evaluations are stored here.")
    cards = "".join(f"<div class='card'><div class='value'>{fmt_metric(name, value)}</div>"
                    f"<div class='label'>{escape(name)}</div></div>"
                    for name, value in model.metrics.items() if isinstance(value, int | float))
    return (f"<p>{escape(model.method)} training of <b>{escape(model.base_model)}</b> on "
            f"{version_link(model.dataset_ref)}, registered {model.created_at:%Y-%m-%d %H:%M} UTC "
            f"(configuration {escape(model.config_hash[:12])}).</p><div class='cards'>{cards}</div>"
            + folded("Configuration", json_block(model.config)))


@MODEL_PANELS.register("training", "Training curve", scope="datasets:read", order=20)
def training(ctx: Context, subject: ModelSubject) -> str | None:
    history = subject.model.history if subject.model is not None else []
    series = {}
    for loss in LOSSES:
        points = [(float(entry["step"]), float(entry[loss])) for entry in history if loss in entry and "step" in entry]
        if points:
            series[loss.replace("_", " ")] = ([p[0] for p in points], [p[1] for p in points])
    if not series:
        return None
    return lines_svg(series, "step", "loss")


@MODEL_PANELS.register("evaluations", "Evaluations", scope="datasets:read", order=30)
def evaluations(ctx: Context, subject: ModelSubject) -> str:
    records = subject.evaluations
    if not records:
        return muted(f"No evaluation stored yet: `datatrainer eval {subject.name} --suite perplexity --data VERSION` "
                     "adds one.")
    # The evaluation report leaves perplexity out of its 0..1 trend plots; it gets its own axis here.
    perplexities = [(r.created_at, r.metrics[HEADLINE["perplexity"]]) for r in records
                    if r.suite == "perplexity" and isinstance(r.metrics.get(HEADLINE["perplexity"]), int | float)]
    plot = lines_svg({"perplexity": (list(range(len(perplexities))), [p[1] for p in perplexities])},
                     "evaluation (oldest first)", "perplexity") if len(perplexities) >= 2 else ""
    report = ctx.ws.root / "reports" / f"eval-{subject.name}.html"
    link = f"<p>{report_link(report, 'The latest evaluation report')}</p>" if report.is_file() else ""
    return link + evaluation_history(records) + plot
