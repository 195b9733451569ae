"""The workspace dashboard: server-rendered HTML pages (inline SVG charts, no script framework, nothing fetched
from outside the server) over what the workspace stores: datasets and their lineage, each version's records,
drops, quality, scores and coverage, trained models with their evaluations, and annotation projects.

Pages live in `pages`, the results shown on them are panels registered in `registry` (one registration per
kind of result); importing this package registers the built-in panels.
"""

from datatrainer.server.dashboard.panels import balance, models, projects, versions

__all__ = ["balance", "models", "projects", "versions"]
