"""Real documents for the quality-scoring benchmark, read from what is installed on this machine.

Each family is one kind of text from one kind of source; every document names the file or article it came
from (`source`), so confidence intervals can be bootstrapped over source documents rather than over windows
of the same file. Good text comes from several genres (encyclopedia, news, package descriptions, manual
pages, API docstrings, instructional HTML documentation, code comments); low-quality text comes from real
artefacts (navigation and page furniture extracted from real HTML files, system and test logs, licence and copyright
files, changelogs, file listings, source code). Nothing is generated.

A family whose files are absent on a machine yields nothing: the builder reports which families it found,
and a run on another machine says so. Every reader is bounded (`limit` source files) so that building stays
a matter of seconds.
"""

from __future__ import annotations

import ast
import gzip
import importlib.metadata
import re
import sys
import sysconfig
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

GOOD, JUNK = 1, 0


@dataclass(frozen=True)
class RawDocument:
    """One real document: its family, label (1 good, 0 junk), where it came from, and its whole text."""

    family: str
    label: int
    source: str
    text: str


def _read(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        return str(handle.read())


_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def _prose_blocks(text: str) -> list[str]:
    """Blank-line separated blocks of running text (no markup lines, tables, code fences or badges)."""
    blocks = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.strip().splitlines()]
        if lines and not any(re.match(r"(#|\||```|\[!|<|\.\. |=|-|\*|\+ |\d+\. |>>>|\$ |:)", line) for line in lines):
            blocks.append(_MARKDOWN_LINK.sub(r"\1", " ".join(lines)))
    return blocks


# ---- good text -----------------------------------------------------------------------------------------------

def wikipedia() -> Iterator[RawDocument]:
    from datatrainer.corpora import wikipedia_articles

    for article in wikipedia_articles():
        yield RawDocument("wikipedia", GOOD, article["id"], article["text"].replace("'''", "").replace("''", ""))


def news() -> Iterator[RawDocument]:
    from datatrainer.corpora import news_articles

    for article in news_articles():
        yield RawDocument("news", GOOD, article["id"], article["text"])


def package_descriptions(limit: int = 400) -> Iterator[RawDocument]:
    """Prose paragraphs of installed packages' long descriptions (the body of their METADATA)."""
    for dist in list(importlib.metadata.distributions())[:limit]:
        body = dist.metadata.get_payload() if hasattr(dist.metadata, "get_payload") else ""
        blocks = [block for block in _prose_blocks(str(body or "")) if len(block.split()) >= 15]
        if blocks:
            yield RawDocument("package-descriptions", GOOD, f"pypi:{dist.metadata['Name']}", "\n".join(blocks))


_ROFF_ESCAPES = [(r"\\\*\(Aq", "'"), (r"\\\*\(..|\\\*.", ""), (r"\\f[BIRP]|\\f\(..|\\f\[[A-Z]*\]", ""),
                 (r"\\-", "-"), (r"\\\(aq", "'"), (r"\\\((lq|rq)", '"'),
                 (r"\\\(em|\\\(en", "-"), (r"\\&|\\/|\\,|\\:|\\\||\\\^|\\s[-+]?\d", ""), (r"\\ ", " ")]


def manual_pages(limit: int = 600, root: Path = Path("/usr/share/man")) -> Iterator[RawDocument]:
    """The running-text paragraphs (`.PP`/`.LP`/`.P` blocks) of English section 1, 5 and 8 manual pages."""
    files = sorted(path for section in ("man1", "man5", "man8") for path in (root / section).glob("*.gz"))
    for path in files[:limit]:
        paragraphs: list[str] = []
        current: list[str] = []
        for line in _read(path).splitlines():
            if line.startswith((".PP", ".LP", ".P ", ".SH", ".TP", ".IP", ".SS")) or line == ".P":
                paragraphs.append(" ".join(current))
                current = [] if line.startswith((".PP", ".LP", ".P")) else ["\0"]  # \0: not a plain paragraph
            elif not line.startswith((".", "'")):
                for pattern, replacement in _ROFF_ESCAPES:
                    line = re.sub(pattern, replacement, line)
                current.append(line.strip())
        kept = [p for p in paragraphs if "\0" not in p and len(p.split()) >= 12]
        if kept:
            yield RawDocument("manual-pages", GOOD, f"man:{path.name}", "\n".join(kept))


def _stdlib_files(limit: int) -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.glob("*.py") if not p.name.startswith("_"))[:limit]


def docstrings(limit: int = 300) -> Iterator[RawDocument]:
    """Module, class and function docstrings of the Python standard library, paragraphs of prose only."""
    for path in _stdlib_files(limit):
        try:
            tree = ast.parse(_read(path))
        except SyntaxError:
            continue
        nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef))]
        blocks = [block for node in nodes if (doc := ast.get_docstring(node))
                  for block in _prose_blocks(doc) if len(block.split()) >= 10]
        if blocks:
            yield RawDocument("docstrings", GOOD, f"stdlib:{path.name}", "\n".join(blocks))


def _html_files(limit: int) -> list[Path]:
    roots = [Path("/usr/share/doc"), *Path(sys.prefix).glob("share/doc"),
             *Path.home().glob(".rustup/toolchains/stable-*/share/doc/rust/html/book")]
    files: list[Path] = []
    for root in roots:
        files.extend(sorted(root.rglob("*.html"))[:limit])
    return files[:limit]


def _html_tree(path: Path) -> object | None:
    import lxml.html  # type: ignore[import-untyped]

    try:
        tree: object = lxml.html.fromstring(path.read_bytes())
        return tree
    except (ValueError, OSError, lxml.etree.ParserError):
        return None


def _text(element: object) -> str:
    return re.sub(r"\s+", " ", str(element.text_content())).strip()  # type: ignore[attr-defined]


def instructional_html(limit: int = 400) -> Iterator[RawDocument]:
    """`<p>` paragraphs of real HTML documentation (manuals, guides, the Rust book)."""
    for path in _html_files(limit):
        tree = _html_tree(path)
        if tree is not None:
            paragraphs = [_text(p) for p in tree.iter("p")]  # type: ignore[attr-defined]
            kept = [p for p in paragraphs if len(p.split()) >= 12]
            if kept:
                yield RawDocument("instructional-html", GOOD, f"html:{path}", "\n".join(kept))


def code_comments(limit: int = 300) -> Iterator[RawDocument]:
    """Blocks of three or more consecutive `#` comment lines in standard-library source, as prose."""
    for path in _stdlib_files(limit):
        blocks: list[str] = []
        current: list[str] = []
        for line in _read(path).splitlines():
            stripped = line.strip()
            if stripped.startswith("#") and not stripped.startswith("#!"):
                current.append(stripped.lstrip("#").strip())
            else:
                if len(current) >= 3:
                    blocks.append(" ".join(current))
                current = []
        kept = [b for b in blocks
                if len(b.split()) >= 15 and sum(c.isalpha() or c.isspace() for c in b) > 0.85 * len(b)]
        if kept:
            yield RawDocument("code-comments", GOOD, f"comments:{path.name}", "\n".join(kept))


# ---- low-quality text ----------------------------------------------------------------------------------------

_FURNITURE = ("nav", "header", "footer", "aside")
_FURNITURE_CLASS = re.compile(r"sidebar|toc|menu|nav|breadcrumb|footer|header|chapter|search|related|topbar")


def navigation(limit: int = 400) -> Iterator[RawDocument]:
    """Page furniture of real HTML files: the text of nav/header/footer/aside elements and of elements whose
    class or id names a sidebar, menu, table of contents or breadcrumb, one line per link or item."""
    for path in _html_files(limit):
        tree = _html_tree(path)
        if tree is None:
            continue
        lines: list[str] = []
        for element in tree.iter():  # type: ignore[attr-defined]
            if not isinstance(element.tag, str):
                continue
            marker = f"{element.get('class', '')} {element.get('id', '')}".lower()
            if element.tag in _FURNITURE or (element.tag in ("div", "ul", "ol", "table") and
                                             _FURNITURE_CLASS.search(marker)):
                items = [_text(item) for item in element.iter("a", "li", "span", "h1", "h2", "h3")]
                lines.extend(item for item in items if item)
        lines = list(dict.fromkeys(lines))
        if len(" ".join(lines).split()) >= 30:
            yield RawDocument("navigation", JUNK, f"html:{path}", "\n".join(lines))


def logs(limit: int = 100) -> Iterator[RawDocument]:
    """System, service and package-manager logs, test-suite logs shipped with packages' documentation, and
    the per-test logs (`.jtr`) of test-result archives shipped there; a file shipped by several packages
    counts once."""
    doc = Path("/usr/share/doc")
    paths = [*sorted(Path("/var/log").glob("*.log")), *sorted(Path("/var/log").glob("*/*.log")),
             *sorted(Path.home().glob(".npm/_logs/*.log")), *sorted(doc.glob("*/*.log*")),
             *sorted(doc.glob("*/*/*.log*"))]
    documents = [(f"log:{path}", _read_or_empty(path)) for path in paths]
    for archive in sorted(doc.glob("*/*/*.tar.gz")):
        documents.extend(_archive_members(archive, ".jtr"))
    first: dict[str, str] = {}  # text -> its first source: packages of one build ship the same files
    for source, text in documents:
        first.setdefault(text, source)
    kept = [(source, text) for text, source in first.items() if len(text.split()) >= 200]
    for source, text in kept[:limit]:
        yield RawDocument("logs", JUNK, source, text)


def _read_or_empty(path: Path) -> str:
    try:
        return _read(path)
    except OSError:
        return ""


def _archive_members(archive: Path, suffix: str, limit: int = 50) -> list[tuple[str, str]]:
    """(source, text) of the first `limit` members of a tar archive whose names end in `suffix`."""
    try:
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(suffix)][:limit]
            return [(f"log:{archive}:{m.name}", handle.read().decode("utf-8", "replace"))
                    for m in members if (handle := tar.extractfile(m)) is not None]
    except (OSError, tarfile.TarError):
        return []


def licences(limit: int = 300) -> Iterator[RawDocument]:
    """Debian copyright files: licence texts and file/copyright stanzas, as every package carries them."""
    for path in sorted(Path("/usr/share/doc").glob("*/copyright"))[:limit]:
        text = _read(path)
        if len(text.split()) >= 100:
            yield RawDocument("licences", JUNK, f"copyright:{path.parent.name}", text)


def changelogs(limit: int = 300) -> Iterator[RawDocument]:
    """Debian and upstream changelogs shipped under /usr/share/doc."""
    paths = sorted(Path("/usr/share/doc").glob("*/changelog*.gz"))[:limit]
    for path in paths:
        text = _read(path)
        if len(text.split()) >= 100:
            yield RawDocument("changelogs", JUNK, f"changelog:{path.parent.name}/{path.name}", text)


def listings(limit: int = 300) -> Iterator[RawDocument]:
    """File listings: installed wheels' RECORD files and dpkg's per-package file lists."""
    paths = [*sorted(Path(sysconfig.get_paths()["purelib"]).glob("*.dist-info/RECORD"))[:limit // 2],
             *sorted(Path("/var/lib/dpkg/info").glob("*.list"))[:limit // 2]]
    for path in paths:
        text = _read(path)
        if len(text.split()) >= 60:
            yield RawDocument("listings", JUNK, f"listing:{path.name}:{path.parent.name}", text)


def source_code(limit: int = 300) -> Iterator[RawDocument]:
    """Standard-library Python source with its comments and docstrings (real files as they are)."""
    for path in _stdlib_files(limit):
        yield RawDocument("code", JUNK, f"code:{path.name}", _read(path))


Reader = Callable[[], Iterator[RawDocument]]
GOOD_FAMILIES: dict[str, Reader] = {
    "wikipedia": wikipedia, "news": news, "package-descriptions": package_descriptions,
    "manual-pages": manual_pages, "docstrings": docstrings, "instructional-html": instructional_html,
    "code-comments": code_comments,
}
JUNK_FAMILIES: dict[str, Reader] = {
    "navigation": navigation, "logs": logs, "licences": licences, "changelogs": changelogs,
    "listings": listings, "code": source_code,
}
