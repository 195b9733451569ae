"""The lineage graph of the catalog's versions (who was derived from whom), read in one query."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatrainer.store.models import VersionParentRow


class Lineage:
    def __init__(self, session: Session) -> None:
        self.children: dict[int, set[int]] = defaultdict(set)
        self.parents: dict[int, set[int]] = defaultdict(set)
        for child, parent in session.execute(select(VersionParentRow.child_id, VersionParentRow.parent_id)):
            self.children[parent].add(child)
            self.parents[child].add(parent)

    def descendants(self, roots: Iterable[int]) -> set[int]:
        """The roots and every version derived from them, however indirectly."""
        return self._walk(roots, lambda node: self.children[node])

    def family(self, roots: Iterable[int]) -> set[int]:
        """Every version connected to the roots through lineage, in either direction: a record matched in one
        of them is the same record (same id) in its ancestors and in everything derived from those."""
        return self._walk(roots, lambda node: self.children[node] | self.parents[node])

    @staticmethod
    def _walk(roots: Iterable[int], step: Callable[[int], set[int]]) -> set[int]:
        seen = set(roots)
        todo = list(seen)
        while todo:
            for nxt in step(todo.pop()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen
