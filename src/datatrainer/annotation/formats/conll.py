"""CoNLL BIO: one token per line (``token<TAB>tag``), a blank line between documents.

Each document starts with ``# id = ...`` and ``# text = ...`` comment lines (the CoNLL-U convention), so reading
restores the exact text and character offsets; files without them (CoNLL-2003, WNUT) are read too, their
text rebuilt by joining tokens with single spaces, taking the first column as the token and the last as the tag.
Writing is lossy in known, counted ways (see `WriteReport`): spans widen to token boundaries, overlapping spans
and spans covering no token are dropped, and document labels and meta are not stored.

Reading accepts IOB2, IOB1 (an ``I-`` tag after ``O`` or another type starts an entity) and IOBES/BILOU tags,
chunked as seqeval chunks them.
"""

from __future__ import annotations

from pathlib import Path

from datatrainer.annotation.formats.base import WriteReport, read_bytes, staged
from datatrainer.annotation.formats.tokens import Offsets, snap, tokenizer
from datatrainer.annotation.spans import AnnotatedDoc, Span, check_doc
from datatrainer.errors import InputError

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNESCAPES = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
_BEGIN, _INSIDE, _CLOSING = frozenset("BSU"), frozenset("IEL"), frozenset("ESLU")


def write_conll(docs: list[AnnotatedDoc], path: Path, overwrite: bool = False,
                tokenizer_name: str = "simple") -> WriteReport:
    tokenize = tokenizer(tokenizer_name)
    spans = snapped = overlapping = no_token = 0
    blocks: list[str] = []
    for doc in docs:
        check_doc(doc, str(path))
        tokens = tokenize(doc.text)
        tags = ["O"] * len(tokens)
        kept: list[Span] = []
        for span in sorted(doc.spans):
            if not span.label or span.label.split() != [span.label]:
                raise InputError(f"{path}: doc {doc.id!r}", f"label {span.label!r} cannot be a BIO tag type "
                                                            "(it contains whitespace)")
            found = snap(span, tokens)
            if found is None:
                no_token += 1
                continue
            first, last = found
            wide = Span(tokens[first][0], tokens[last - 1][1], span.label)
            if kept and wide.start < kept[-1].end:  # spans come sorted, so only the last kept one can overlap
                overlapping += 1
                continue
            snapped += wide != span
            kept.append(wide)
            tags[first] = f"B-{span.label}"
            tags[first + 1:last] = [f"I-{span.label}"] * (last - first - 1)
        spans += len(kept)
        lines = [f"# id = {_escape(doc.id)}", f"# text = {_escape(doc.text)}"]
        lines += [f"{doc.text[start:end]}\t{tag}" for (start, end), tag in zip(tokens, tags, strict=True)]
        blocks.append("\n".join(lines) + "\n")
    with staged(path, overwrite) as temporary:
        temporary.write_text("\n".join(blocks), encoding="utf-8")
    return WriteReport(path, len(docs), spans, snapped, overlapping, no_token)


def read_conll(path: Path) -> list[AnnotatedDoc]:
    try:
        content = read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 (byte {exc.start})") from None
    docs: list[AnnotatedDoc] = []
    block: list[tuple[int, str]] = []
    # Only "\n" ends a line: `splitlines` would also split at characters such as U+2028 inside a "# text" line.
    for number, raw in enumerate([*content.split("\n"), ""], start=1):
        line = raw.removesuffix("\r")
        if line.strip() and not line.startswith("-DOCSTART-"):
            block.append((number, line))
        elif block:
            docs.append(_parse_block(block, path, len(docs) + 1))
            block = []
    return docs


def _parse_block(block: list[tuple[int, str]], path: Path, ordinal: int) -> AnnotatedDoc:
    comments: dict[str, str] = {}
    rows: list[tuple[int, str, str]] = []
    for number, line in block:
        if line.startswith("# ") and "=" in line and "\t" not in line:
            key, _, value = line[2:].partition("=")
            comments[key.strip()] = _unescape(value[1:] if value.startswith(" ") else value)
            continue
        fields = line.split()
        if len(fields) < 2:
            raise InputError(f"{path}:{number}", "expected a token and a tag separated by whitespace")
        rows.append((number, fields[0], fields[-1]))
    text = comments.get("text")
    offsets = _locate(rows, text, path) if text is not None else _joined(rows)
    if text is None:
        text = " ".join(token for _, token, _ in rows)
    doc = AnnotatedDoc(comments.get("id", str(ordinal)), text, tuple(_spans(rows, offsets, path)))
    check_doc(doc, str(path))
    return doc


def _spans(rows: list[tuple[int, str, str]], offsets: Offsets, path: Path) -> list[Span]:
    """Entities from the tags, chunked as seqeval does: a begin tag, an inside tag of another type, or any tag
    after an entity's closing (E/S/L/U) tag starts a new entity."""
    spans: list[Span] = []
    open_label: str | None = None
    closed = True
    start = end = 0
    for (number, _, tag), (token_start, token_end) in zip(rows, offsets, strict=True):
        prefix, _, label = tag.partition("-")
        if tag != "O" and (len(prefix) != 1 or prefix not in _BEGIN | _INSIDE or not label):
            raise InputError(f"{path}:{number}", f"tag {tag!r} is not O or B-/I-/E-/S-/L-/U- with a type")
        if tag == "O" or prefix in _BEGIN or label != open_label or closed:
            if open_label is not None:
                spans.append(Span(start, end, open_label))
            open_label = None if tag == "O" else label
            start = token_start
        end = token_end
        closed = tag == "O" or prefix in _CLOSING
    if open_label is not None:
        spans.append(Span(start, end, open_label))
    return spans


def _locate(rows: list[tuple[int, str, str]], text: str, path: Path) -> Offsets:
    """Each token's offsets in ``text``, searching forward from the previous token."""
    offsets: Offsets = []
    position = 0
    for number, token, _ in rows:
        start = text.find(token, position)
        if start < 0:
            raise InputError(f"{path}:{number}", f"token {token!r} is not in the '# text' line at or after "
                                                 f"character {position}")
        position = start + len(token)
        offsets.append((start, position))
    return offsets


def _joined(rows: list[tuple[int, str, str]]) -> Offsets:
    offsets: Offsets = []
    position = 0
    for _, token, _ in rows:
        offsets.append((position, position + len(token)))
        position += len(token) + 1
    return offsets


def _escape(value: str) -> str:
    return "".join(_ESCAPES.get(char, char) for char in value)


def _unescape(value: str) -> str:
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            char = _UNESCAPES.get(following, "\\" + following)
        out.append(char)
    return "".join(out)
