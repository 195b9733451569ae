"""The panel registries: a new kind of result on the dashboard is one registered function, not a new page.

A page (a version, a model, an annotation project) shows every panel registered for its kind of subject, in
order, that the caller's scopes allow and that has something to say about this subject (the function returns
None otherwise). So the balance report, or any later result stored beside a version, appears on every version
page by adding one decorated function to a module the package imports:

    @VERSION_PANELS.register("balance", "Balance", scope="datasets:read", order=45)
    def balance(ctx: Context, version: DatasetVersion) -> str | None:
        ...  # escaped HTML, or None when the version has no balance report

Panels render HTML fragments with the quality report's helpers (`html_table`, `fmt_*`, the SVG plots); every
value that comes from the data goes through `html.escape`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Generic, TypeVar

from datatrainer.annotation.types import ProjectInfo, UserInfo
from datatrainer.errors import DatatrainerError
from datatrainer.store.versions import DatasetVersion
from datatrainer.training.registry import EvaluationRecord, TrainedModel
from datatrainer.workspace import Workspace

S = TypeVar("S")
Render = Callable[["Context", S], str | None]


@dataclass(frozen=True)
class Context:
    """Who is looking at which workspace: panels read the workspace as `user`, within `scopes`."""

    ws: Workspace
    user: UserInfo
    scopes: frozenset[str]

    def may(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class Panel(Generic[S]):
    key: str  # the HTML id of the panel's section, stable for links and tests
    title: str
    scope: str  # who may see it at all
    order: int
    render: Render[S]
    heading: bool = True  # False: the HTML brings its own heading (a report's section reused as it is)


@dataclass
class PanelRegistry(Generic[S]):
    """The panels of one kind of page, kept in `order`; keys are unique within a registry."""

    subject: str
    _panels: dict[str, Panel[S]] = field(default_factory=dict)

    def register(self, key: str, title: str, *, scope: str, order: int,
                 heading: bool = True) -> Callable[[Render[S]], Render[S]]:
        def add(render: Render[S]) -> Render[S]:
            if key in self._panels:
                raise DatatrainerError(f"{self.subject} panel {key!r} is registered twice")
            self._panels[key] = Panel(key, title, scope, order, render, heading)
            return render

        return add

    def panels(self) -> list[Panel[S]]:
        return sorted(self._panels.values(), key=lambda panel: (panel.order, panel.key))

    def render(self, ctx: Context, subject: S) -> list[tuple[Panel[S], str]]:
        """(panel, HTML) for each panel the caller may see that has something to show for `subject`.

        A panel that cannot read what it shows (a damaged report file, a version whose key is not at hand)
        says so in its own section; the rest of the page still shows.
        """
        shown = []
        for panel in self.panels():
            if not ctx.may(panel.scope):
                continue
            try:
                html = panel.render(ctx, subject)
            except DatatrainerError as exc:
                html = f'<p class="error">{escape(str(exc))}</p>'
            if html is not None:
                shown.append((panel, html))
        return shown


@dataclass(frozen=True)
class ModelSubject:
    """A model page's subject: a registered model, or a name that only has evaluations (a base model
    evaluated before training, a model from elsewhere)."""

    name: str
    model: TrainedModel | None
    evaluations: list[EvaluationRecord]


VERSION_PANELS: PanelRegistry[DatasetVersion] = PanelRegistry("version")
MODEL_PANELS: PanelRegistry[ModelSubject] = PanelRegistry("model")
PROJECT_PANELS: PanelRegistry[ProjectInfo] = PanelRegistry("project")
