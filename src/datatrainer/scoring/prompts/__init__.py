"""Ask-LLM prompt templates: the builtin ones shipped as `.txt` files in this package, or a user's file.

A template is plain text with a `{text}` where the document goes. It is replaced literally (not with
`str.format`), so a domain prompt may hold other braces, e.g. JSON examples. Trailing whitespace is dropped:
editors end files with a newline that the model would otherwise read before the chat template closes the
user turn. `paper` is the prompt of Sachdeva et al. (2024), Fig. 3, verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from datatrainer.errors import InputError

PLACEHOLDER = "{text}"
DEFAULT_PROMPT = "paper"
_SUFFIX = ".txt"


@dataclass(frozen=True)
class PromptTemplate:
    """A loaded template: `name` says where it came from (a builtin name or the path given), `text` is what
    the scores depend on."""

    name: str
    text: str

    def render(self, document: str) -> str:
        return self.text.replace(PLACEHOLDER, document)


def builtin_prompts() -> list[str]:
    return sorted(entry.name.removesuffix(_SUFFIX) for entry in files(__name__).iterdir()
                  if entry.name.endswith(_SUFFIX))


def load_template(spec: str) -> PromptTemplate:
    """A builtin prompt by name (`paper`), or else a UTF-8 text file by path (`./paper` for a file so named)."""
    if spec in builtin_prompts():
        return _checked(spec, files(__name__).joinpath(spec + _SUFFIX).read_text(encoding="utf-8"))
    path = Path(spec).expanduser()
    if not path.is_file():
        what = "is not a file" if path.exists() else "no such file"
        raise InputError(spec, f"{what}: a prompt is a builtin name ({', '.join(builtin_prompts())}) or a text file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(spec, f"prompt is not valid UTF-8 (byte {exc.start})") from None
    return _checked(spec, text)


def _checked(name: str, text: str) -> PromptTemplate:
    text = text.rstrip()
    if PLACEHOLDER not in text:
        raise InputError(name, f"prompt template has no {PLACEHOLDER} placeholder (where the document goes)")
    return PromptTemplate(name, text)
