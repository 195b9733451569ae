"""Round trips through every annotation format, and each file read back by its own library."""

from __future__ import annotations

import tempfile
from pathlib import Path

import datasets
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities
from spacy.tokens import DocBin

from datatrainer.annotation import formats
from datatrainer.annotation.formats.tokens import blank_english, simple_tokens, spacy_tokens
from datatrainer.annotation.spans import AnnotatedDoc, Span
from datatrainer.errors import DatatrainerError
from tests.annotation.formats_strategies import TEXT, docs, token_aligned


def roundtrip(items: list[AnnotatedDoc], fmt: str, **options: str) -> tuple[list[AnnotatedDoc], formats.WriteReport]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"out.{fmt}"
        report = formats.write(items, fmt, path, **options)  # type: ignore[arg-type]
        assert sorted(p.name for p in Path(folder).iterdir()) == [path.name]  # no temporary left behind
        return formats.read(path, fmt), report


@settings(max_examples=150, deadline=None)
@given(docs())
def test_jsonl_and_label_studio_are_lossless(items: list[AnnotatedDoc]) -> None:
    for fmt in ("jsonl", "label-studio"):
        back, report = roundtrip(items, fmt)
        assert back == items, fmt
        assert (report.docs, report.spans, report.snapped) == (len(items), sum(len(d.spans) for d in items), 0)


@settings(max_examples=15, deadline=None)
@given(docs())
def test_hf_is_lossless(items: list[AnnotatedDoc]) -> None:
    if not items:
        with pytest.raises(DatatrainerError, match="no documents"):
            roundtrip(items, "hf")
        return
    back, _ = roundtrip(items, "hf")
    assert back == items


def test_hf_loads_with_datasets_and_uses_class_labels(tmp_path: Path) -> None:
    items = [AnnotatedDoc("a", "Ann met Bob", (Span(0, 3, "PER"), Span(8, 11, "PER")), ("social",), {"k": 1}),
             AnnotatedDoc("b", "IBM", (Span(0, 3, "ORG"),), ("tech", "social"))]
    formats.write(items, "hf", tmp_path / "ds")
    dataset = datasets.load_from_disk(str(tmp_path / "ds"))
    assert dataset.num_rows == 2 and dataset[0]["meta"] == '{"k":1}'
    span_label = dataset.features["spans"].feature["label"]
    assert isinstance(span_label, datasets.ClassLabel) and span_label.names == ["ORG", "PER"]
    assert [span_label.int2str(s["label"]) for s in dataset[0]["spans"]] == ["PER", "PER"]
    assert dataset.features["labels"].feature.names == ["social", "tech"]
    assert dataset[1]["labels"] == [1, 0]


def test_hf_reads_the_older_sequence_layout_with_string_labels(tmp_path: Path) -> None:
    features = datasets.Features({"id": datasets.Value("string"), "text": datasets.Value("string"),
                                  "spans": datasets.Sequence({"start": datasets.Value("int32"),
                                                              "end": datasets.Value("int32"),
                                                              "label": datasets.Value("string")})})
    datasets.Dataset.from_dict({"id": ["x"], "text": ["Ann met Bob"],
                                "spans": [{"start": [0], "end": [3], "label": ["PER"]}]},
                               features=features).save_to_disk(str(tmp_path / "old"))
    assert formats.read(tmp_path / "old", "hf") == [AnnotatedDoc("x", "Ann met Bob", (Span(0, 3, "PER"),))]


@pytest.mark.parametrize("tokenizer", ["simple", "spacy"])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_conll_round_trips_token_aligned_spans_exactly(tokenizer: str, data: st.DataObject) -> None:
    tokenize = simple_tokens if tokenizer == "simple" else spacy_tokens
    items = []
    for index in range(data.draw(st.integers(1, 3))):
        text = data.draw(TEXT)
        items.append(AnnotatedDoc(f"d{index}", text, data.draw(token_aligned(tokenize(text)))))
    back, report = roundtrip(items, "conll", tokenizer=tokenizer)
    assert back == items
    assert report.snapped == report.dropped_overlapping == report.dropped_no_token == 0


@settings(max_examples=150, deadline=None)
@given(docs(with_meta=False))
def test_conll_snaps_or_drops_and_counts_every_change(items: list[AnnotatedDoc]) -> None:
    back, report = roundtrip(items, "conll")
    new = misaligned = 0
    for before, after in zip(items, back, strict=True):
        assert after.text == before.text and after.id == before.id
        for span in after.spans:  # every written span covers the non-space characters of an original one
            assert any(o.label == span.label and all(span.start <= i < span.end for i in range(o.start, o.end)
                                                     if not before.text[i].isspace()) for o in before.spans)
        new += len(set(after.spans) - set(before.spans))
        boundaries = simple_tokens(before.text)
        starts, ends = {start for start, _ in boundaries}, {end for _, end in boundaries}
        misaligned += sum(1 for o in before.spans if o.start not in starts or o.end not in ends)
    assert new <= report.snapped <= misaligned
    assert report.spans == sum(len(d.spans) for d in back)
    assert report.spans + report.dropped_overlapping + report.dropped_no_token == sum(len(d.spans) for d in items)


def test_conll_reports_snapping_and_overlap_in_one_line(tmp_path: Path) -> None:
    doc = AnnotatedDoc("1", "Barack Obama visited  Paris", (Span(1, 9, "PER"), Span(7, 12, "X"), Span(20, 21, "LOC")))
    report = formats.write([doc], "conll", tmp_path / "out.conll")
    assert (report.spans, report.snapped, report.dropped_overlapping, report.dropped_no_token) == (1, 1, 1, 1)
    assert formats.read(tmp_path / "out.conll", "conll")[0].spans == (Span(0, 12, "PER"),)
    line = report.describe()
    assert "\n" not in line and "1 spans snapped" in line and "1 overlapping" in line and "covering no token" in line


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]),
                min_size=1, max_size=12))
def test_conll_reader_chunks_tags_like_seqeval(tags: list[str]) -> None:
    words = [f"w{i}" for i in range(len(tags))]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.conll"
        path.write_text("".join(f"{w} NN {t}\n" for w, t in zip(words, tags, strict=True)))
        (doc,) = formats.read(path, "conll")
    starts = [doc.text.index(w + " ") if i < len(words) - 1 else len(doc.text) - len(w) for i, w in enumerate(words)]
    expected = {Span(starts[a], starts[b] + len(words[b]), label) for label, a, b in get_entities(tags)}
    assert set(doc.spans) == expected


def test_conll_reads_conll2003_style_files_without_comments(tmp_path: Path) -> None:
    path = tmp_path / "eng.train"
    path.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\n"
                    "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n")
    first, second = formats.read(path, "conll")
    assert first == AnnotatedDoc("1", "EU rejects German", (Span(0, 2, "ORG"), Span(11, 17, "MISC")))
    assert second == AnnotatedDoc("2", "Peter Blackburn", (Span(0, 15, "PER"),))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_spacy_round_trips_token_aligned_spans_with_overlaps_and_cats(data: st.DataObject) -> None:
    items = []
    for index in range(data.draw(st.integers(1, 3))):
        text = data.draw(TEXT)
        spans = data.draw(token_aligned(spacy_tokens(text), overlapping=True))
        labels = tuple(data.draw(st.lists(st.sampled_from(["a", "b"]), unique=True, max_size=2)))
        items.append(AnnotatedDoc(f"d{index}", text, spans, labels, {"n": index}))
    back, report = roundtrip(items, "spacy")
    assert report.snapped == report.dropped_no_token == 0
    for before, after in zip(items, back, strict=True):
        assert (after.id, after.text, set(after.spans), set(after.labels), after.meta) == \
               (before.id, before.text, set(before.spans), set(before.labels), before.meta)


def test_spacy_file_loads_with_docbin_ents_spans_and_cats(tmp_path: Path) -> None:
    text = "Barack Obama visited New York"
    doc = AnnotatedDoc("r1", text, (Span(0, 12, "PER"), Span(7, 12, "LAST"), Span(21, 28, "LOC"), Span(2, 5, "X")),
                       ("politics",))
    other = AnnotatedDoc("r2", "nothing here", labels=("sport",))
    report = formats.write([doc, other], "spacy", tmp_path / "train.spacy")
    assert report.snapped == 2  # "rack" -> "Barack"; "New Yor" -> "New York"
    loaded = list(DocBin().from_disk(tmp_path / "train.spacy").get_docs(blank_english().vocab))
    assert [(e.text, e.label_) for e in loaded[0].ents] == [("Barack Obama", "PER"), ("New York", "LOC")]
    assert sorted((s.text, s.label_) for s in loaded[0].spans["sc"]) == [("Barack", "X"), ("Obama", "LAST")]
    assert loaded[0].cats == {"politics": 1.0, "sport": 0.0} and loaded[1].cats == {"politics": 0.0, "sport": 1.0}
    assert loaded[0].user_data["id"] == "r1"


def test_existing_output_needs_overwrite_and_is_replaced_whole(tmp_path: Path) -> None:
    items = [AnnotatedDoc("a", "text")]
    for fmt in formats.FORMATS:
        path = tmp_path / f"out-{fmt}"
        formats.write(items, fmt, path)
        with pytest.raises(DatatrainerError, match="already exists"):
            formats.write(items, fmt, path)
        formats.write([*items, AnnotatedDoc("b", "more")], fmt, path, overwrite=True)
        assert [d.id for d in formats.read(path, fmt)] == ["a", "b"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
