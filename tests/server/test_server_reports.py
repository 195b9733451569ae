"""Reports and downloads through the server, checked against independent references.

Agreement against scikit-learn's Cohen's kappa and hand-counted span F1; each download format read back with
the library that owns the format (json, `datasets`, spaCy).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score

from tests.server.site import Site


def _annotate(site: Site, who: str, project: int, results: list[dict[str, object]]) -> list[int]:
    client = site.client(who)
    ids = []
    for result in results:
        task = client.post(f"/projects/{project}/tasks/next").json()
        client.post(f"/tasks/{task['id']}/submit", json={"result": result}).raise_for_status()
        ids.append(task["id"])
    return ids


def test_classification_agreement_matches_sklearn(sqlite_site: Site) -> None:
    project = sqlite_site.projects["classification"]
    ann = ["politics", "sport", "other", "sport", "politics", "other", "sport", "sport"]
    bob = ["politics", "sport", "sport", "sport", "other", "other", "politics", "sport"]
    assert _annotate(sqlite_site, "ann", project, [{"labels": [x]} for x in ann]) == \
        _annotate(sqlite_site, "bob", project, [{"labels": [x]} for x in bob])
    report = sqlite_site.client("padmin").get(f"/projects/{project}/agreement").json()
    assert report["task_type"] == "classification"
    pair = report["classification"]["pairs"][0]
    assert {pair["annotator"], pair["other"]} == {"ann", "bob"} and pair["items"] == len(ann)
    assert pair["kappa"] == pytest.approx(cohen_kappa_score(ann, bob))


def test_span_agreement_counts_exact_and_overlap_matches(sqlite_site: Site) -> None:
    project = sqlite_site.projects["ner"]
    ann = [{"spans": [{"start": 0, "end": 4, "label": "PER"}, {"start": 10, "end": 15, "label": "LOC"}]}]
    bob = [{"spans": [{"start": 0, "end": 4, "label": "PER"}, {"start": 11, "end": 15, "label": "LOC"}]}]
    _annotate(sqlite_site, "ann", project, ann)
    _annotate(sqlite_site, "bob", project, bob)
    pair = sqlite_site.client("root").get(f"/projects/{project}/agreement").json()["spans"]["pairs"][0]
    assert pair["exact"]["micro"]["f1"] == pytest.approx(0.5)  # one of two spans identical
    assert pair["overlap"]["micro"]["f1"] == pytest.approx(1.0)  # the LOC spans overlap


def test_downloads_in_every_format_load_in_their_libraries(sqlite_site: Site, tmp_path: Path) -> None:
    project = sqlite_site.projects["ner"]
    text = sqlite_site.client("ann").post(f"/projects/{project}/tasks/next").json()["data"]["text"]
    first_word_end = text.index(" ")
    result = {"spans": [{"start": 0, "end": first_word_end, "label": "LOC"}]}
    _annotate(sqlite_site, "ann", project, [result])
    _annotate(sqlite_site, "bob", project, [result])
    admin = sqlite_site.client("padmin")

    def fetch(fmt: str) -> bytes:
        response = admin.get(f"/projects/{project}/download/{fmt}")
        assert response.status_code == 200, response.text
        assert "attachment" in response.headers["content-disposition"]
        return response.content

    lines = [json.loads(line) for line in fetch("jsonl").splitlines()]
    assert [(d["text"][s["start"]:s["end"]], s["label"]) for d in lines for s in d["spans"]] == \
        [(text[:first_word_end], "LOC")]
    studio = json.loads(fetch("label-studio"))
    assert len(studio) == 1 and len(studio[0]["annotations"]) == 2  # both annotators, one task
    assert f"{text[:first_word_end]}\tB-LOC" in fetch("conll").decode().replace(" ", "\t")

    import datasets
    import spacy
    from spacy.tokens import DocBin

    zipfile.ZipFile(io.BytesIO(fetch("hf"))).extractall(tmp_path / "hf")
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    assert loaded.num_rows == 1
    docs = list(DocBin().from_bytes(fetch("spacy")).get_docs(spacy.blank("en").vocab))
    assert [(e.text, e.label_) for e in docs[0].ents] == [(text[:first_word_end], "LOC")]
    unknown = admin.get(f"/projects/{project}/download/xml")
    assert unknown.status_code == 422 and "path.fmt" in unknown.json()["detail"]
    preference = admin.get(f"/projects/{sqlite_site.projects['preference']}/download/jsonl")
    assert preference.status_code == 422 and "dataset version" in preference.json()["detail"]


def test_label_studio_round_trip_through_the_server(sqlite_site: Site) -> None:
    """Export Label Studio from one project and import it into another over HTTP, as annotations."""
    ner = sqlite_site.projects["ner"]
    _annotate(sqlite_site, "ann", ner, [{"spans": [{"start": 0, "end": 3, "label": "PER"}]}])
    _annotate(sqlite_site, "bob", ner, [{"spans": [{"start": 0, "end": 3, "label": "ORG"}]}])
    root = sqlite_site.client("root")
    exported = root.get(f"/projects/{ner}/download/label-studio").content
    copy = root.post("/projects", json={"name": "ner-copy", "source": "news", "task_type": "ner",
                                        "labels": ["PER", "ORG", "LOC"], "overlap": 2}).json()
    for who in ("ann", "bob"):
        root.put(f"/projects/{copy['id']}/members", json={"username": who, "role": "annotator"}).raise_for_status()
    imported = root.post(f"/projects/{copy['id']}/import/label-studio", params={"as_annotations": True},
                         content=exported)
    assert imported.status_code == 200, imported.text
    assert imported.json()["annotations"] == 2
    first = root.get(f"/projects/{copy['id']}/tasks", params={"limit": 1}).json()[0]
    stored = {a["username"]: a["result"] for a in root.get(f"/tasks/{first['id']}").json()["annotations"]}
    assert stored == {"ann": {"spans": [{"start": 0, "end": 3, "label": "PER"}]},
                      "bob": {"spans": [{"start": 0, "end": 3, "label": "ORG"}]}}
    broken = root.post(f"/projects/{copy['id']}/import/label-studio", content=b"[{]")
    assert broken.status_code == 422 and "\n" not in broken.json()["detail"]
