"""The identity-term lexicon of the balance report: categories of groups, each group a list of terms.

The default ships with the package (`balance_lexicon.toml`); a user's file has the same shape. Each group
becomes one RE2 pattern of whole-word alternatives, so pyarrow.compute counts a group's mentions over a
whole column in one call.
"""

from __future__ import annotations

import re
import tomllib
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel

from datatrainer.errors import DatatrainerError

DEFAULT_NAME = "built-in (balance_lexicon.toml)"


class Lexicon(BaseModel):
    name: str
    categories: dict[str, dict[str, list[str]]]

    def patterns(self) -> dict[tuple[str, str], str]:
        """(category, group) -> RE2 pattern matching any of the group's terms as whole words, in lower case."""
        return {(category, group): r"\b(?:" + "|".join(re.escape(t.lower()) for t in sorted(terms, key=len,
                                                                                              reverse=True)) + r")\b"
                for category, groups in self.categories.items() for group, terms in groups.items()}


def load_lexicon(path: Path | None = None) -> Lexicon:
    """The lexicon in `path` (TOML), or the built-in one; a malformed file is a one-line error."""
    if path is None:
        text, name = files("datatrainer.quality").joinpath("balance_lexicon.toml").read_text("utf-8"), DEFAULT_NAME
    else:
        try:
            text, name = path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise DatatrainerError(f"cannot read lexicon {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DatatrainerError(f"lexicon {name}: {exc}") from None
    categories: dict[str, dict[str, list[str]]] = {}
    for category, groups in data.items():
        if not isinstance(groups, dict) or len(groups) < 2:
            raise DatatrainerError(f"lexicon {name}: category [{category}] needs at least two groups of terms")
        for group, terms in groups.items():
            if not isinstance(terms, list) or not terms or not all(isinstance(t, str) and t.strip() for t in terms):
                raise DatatrainerError(f"lexicon {name}: [{category}] {group} must be a non-empty list of terms")
        categories[category] = {group: [t.strip() for t in terms] for group, terms in groups.items()}
    if not categories:
        raise DatatrainerError(f"lexicon {name} has no categories")
    return Lexicon(name=name, categories=categories)
