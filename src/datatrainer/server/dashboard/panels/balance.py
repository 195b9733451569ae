"""The balance report on a version's page: the stored measurement (`datatrainer quality balance`, or a quality
report with its balance section) drawn by the quality report's own balance section, trend included."""

from __future__ import annotations

from pydantic import ValidationError

from datatrainer.quality.balance import METRICS_KIND, BalanceReport, BalanceSummary, balance_trend
from datatrainer.quality.balance_html import balance_section
from datatrainer.server.dashboard.html import muted
from datatrainer.server.dashboard.registry import VERSION_PANELS, Context
from datatrainer.store.versions import DatasetVersion


@VERSION_PANELS.register("balance-report", "Balance", scope="datasets:read", order=45, heading=False)
def balance(ctx: Context, version: DatasetVersion) -> str:
    payload = ctx.ws.catalog.load_metrics(version.info, METRICS_KIND)
    try:
        summary = BalanceSummary.model_validate(payload) if payload is not None else None
    except ValidationError:  # stored by a code version whose summary had another shape
        summary = None
    if summary is None:
        return muted(f"Balance not measured yet: `datatrainer quality balance {version.ref}` measures it.")
    return balance_section(BalanceReport(summary=summary, trend=balance_trend(ctx.ws, summary, version)))
