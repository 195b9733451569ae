"""The labelled dev set: deterministic, parts disjoint by source document, every junk family real junk."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from datatrainer.evaluation.fixtures.devset import FAMILIES, GOOD, LabelledSet, labelled_set, split_documents

SIZE = 65  # five of each of the 13 junk families: small, quick, and every family present


@pytest.fixture(scope="module")
def dev() -> LabelledSet:
    return labelled_set("dev", SIZE, SIZE)


@pytest.fixture(scope="module")
def pool() -> LabelledSet:
    return labelled_set("pool", SIZE, SIZE)


def test_deterministic_for_a_seed_and_different_for_another(dev: LabelledSet) -> None:
    again = labelled_set("dev", SIZE, SIZE)
    assert again.texts == dev.texts and again.ids == dev.ids and np.array_equal(again.labels, dev.labels)
    assert set(labelled_set("dev", SIZE, SIZE, seed=1).texts) != set(dev.texts)


def test_parts_share_no_source_document_and_no_text(dev: LabelledSet, pool: LabelledSet) -> None:
    documents = split_documents()
    assert not documents["dev"] & documents["pool"]
    assert set(dev.sources) <= documents["dev"] and set(pool.sources) <= documents["pool"]
    assert not set(dev.texts) & set(pool.texts)
    assert len(set(dev.texts)) == len(dev) and len(set(dev.ids)) == len(dev)


def test_labels_families_and_both_corpora(dev: LabelledSet) -> None:
    counts = Counter(dev.families)
    assert counts[GOOD] == SIZE and set(counts) == {GOOD, *FAMILIES}
    assert all(counts[family] == SIZE // len(FAMILIES) for family in FAMILIES)
    assert all((label == 1) == (family == GOOD) for label, family in zip(dev.labels, dev.families, strict=True))
    good_sources = {source for source, family in zip(dev.sources, dev.families, strict=True) if family == GOOD}
    assert any(s.startswith("enwiki") for s in good_sources) and any(s.startswith("lee") for s in good_sources)
    table = dev.to_table()
    assert table.num_rows == len(dev) and table.column_names == ["id", "text", "label", "family", "source"]


def test_length_alone_does_not_separate_good_from_junk() -> None:
    full = labelled_set("dev")
    lengths = np.array([len(text) for text in full.texts])
    assert 0.35 < roc_auc_score(full.labels, lengths) < 0.65


def test_junk_is_not_a_good_paragraph(dev: LabelledSet) -> None:
    good = {text for text, family in zip(dev.texts, dev.families, strict=True) if family == GOOD}
    good_words = Counter(word for text in good for word in text.split())
    for text, family in zip(dev.texts, dev.families, strict=True):
        if family == GOOD:
            continue
        assert len(text) >= 100 and text not in good
        if family in ("gibberish", "log_dump", "product_listing", "tag_soup"):
            # Not prose: most of its words never occur in the good paragraphs.
            unseen = sum(word not in good_words for word in text.split()) / len(text.split())
            assert unseen > 0.3, (family, text[:80])


def test_word_salad_keeps_the_words_of_its_paragraph_and_loses_their_order() -> None:
    rng = random.Random(3)
    host = ("The river rises in the mountains and flows east to the sea. Its valley was settled early, "
            "and towns grew along its banks.")
    salad = FAMILIES["word_salad"](rng, host, 0)
    assert Counter(salad.split()) == Counter(host.split()) and salad != host


def test_repeated_lines_repeat_one_line() -> None:
    text = FAMILIES["repeated_lines"](random.Random(0), "A sentence about rivers. Another one.", 300)
    lines = text.split("\n")
    assert len(lines) > 3 and len(set(lines)) == 1 and len(text) >= 300


@settings(max_examples=40, deadline=None)
@given(family=st.sampled_from(sorted(FAMILIES)), seed=st.integers(0, 10_000),
       target=st.integers(100, 900))
def test_every_family_reaches_its_length_and_uses_the_host(family: str, seed: int, target: int) -> None:
    host = ("Photosynthesis converts light energy into chemical energy stored in glucose. Plants, algae and "
            "cyanobacteria perform it in their chloroplasts, releasing oxygen as a by-product.")
    text = FAMILIES[family](random.Random(seed), host, target)
    reference = len(host) if family == "word_salad" else target
    assert len(text) >= reference - 20 and text.strip()
    assert text != host
