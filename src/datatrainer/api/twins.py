"""Every CLI command's Python twin, in one place: the call that does the command's work from Python.

Targets read `ws.PATH` (an attribute path on a `Workspace`) or `module:QUALNAME` (a function or class of the
library). A test walks the CLI's command tree and checks that every command is listed here and that its target
resolves to something callable, so a new command comes with its Python call (or, rarely, a reason in
`CLI_ONLY`).
"""

from __future__ import annotations

TWINS: dict[str, str] = {
    "init": "datatrainer.workspace:Workspace.init",
    "ingest": "ws.ingest",
    "datasets list": "ws.datasets.names",
    "datasets show": "ws.version",
    "datasets head": "datatrainer.store.versions:DatasetVersion.head",
    "datasets diff": "ws.datasets.diff",
    "datasets dropped": "datatrainer.store.versions:DatasetVersion.artifact",
    "datasets delete": "datatrainer.compliance.delete:delete_dataset",
    "export": "ws.export",
    "apply": "ws.apply",
    "filter": "ws.filter",
    "dedup": "ws.dedup",
    "operations": "datatrainer.operations:operation_names",
    "gc": "ws.collect_garbage",
    "quality metrics": "datatrainer.quality.metrics:measure_and_store",
    "quality report": "ws.quality_report",
    "quality filter": "ws.apply",
    "quality balance": "datatrainer.quality.balance:balance_report",
    "embed": "ws.embed",
    "score ask-llm": "ws.score",
    "score perplexity": "ws.score",
    "score density": "ws.score",
    "score distilled": "ws.score",
    "scores show": "ws.scores.computed",
    "scores export": "datatrainer.scoring.export:export_scores",
    "sample": "ws.sample",
    "coverage": "datatrainer.sampling.coverage_report:build_coverage_report",
    "users add": "ws.annotation.create_user",
    "users list": "ws.annotation.list_users",
    "users disable": "ws.annotation.set_disabled",
    "users role": "ws.annotation.set_role",
    "users token": "ws.annotation.create_api_token",
    "annotate create": "ws.annotation.create_project",
    "annotate list": "ws.annotation.list_projects",
    "annotate add-member": "ws.annotation.add_member",
    "annotate remove-member": "ws.annotation.remove_member",
    "annotate status": "ws.annotation.progress",
    "annotate export": "ws.annotation.export_version",
    "annotate import": "ws.annotation.import_docs",
    "annotate suggest": "datatrainer.annotation.preannotate.runner:run_suggester",
    "audit log": "ws.audit.entries",
    "audit verify": "ws.audit.verify",
    "audit export": "datatrainer.security.audit_export:export_log",
    "audit verify-export": "datatrainer.security.audit_export:verify_export",
    "audit public-key": "datatrainer.security.audit_export:signing_key",
    "serve": "datatrainer.server.app:create_app",
    "eval": "ws.evaluate",
    "train": "ws.train",
    "models list": "ws.models.list",
    "models show": "ws.models.get",
    "models export": "datatrainer.training:export_model",
    "experiment data": "datatrainer.experiments.data:ensure_mixture",
    "experiment samplers": "datatrainer.experiments.samplers:SamplerExperiment",
    "jobs list": "ws.jobs.list_jobs",
    "jobs show": "ws.jobs.get_job",
    "jobs stop": "ws.jobs.request_stop",
    "jobs resume": "ws.jobs.resume",
    "encrypt": "datatrainer.security.keys_encrypt:encrypt_workspace",
    "keys status": "ws.keys.status",
    "keys rotate": "ws.keys.rotate",
    "erase": "datatrainer.compliance.erasure:erase",
    "retention apply": "datatrainer.compliance.retention:apply_retention",
    "pii scan": "datatrainer.pii.scan:scan_version",
    "pii redact": "ws.apply",
}

# Commands that are a terminal experience rather than a piece of work, with the reason.
CLI_ONLY: dict[str, str] = {
    "demo": "a guided tour that builds a sample workspace step by step; each step is one of the calls above",
}
