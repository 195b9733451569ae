"""The default data of the sampler comparison: a crawl-like training pool and clean held-out text.

Everything is real text from the gensim wheel (Wikipedia paragraphs and Lee news paragraphs, as the scoring
dev set cuts them) plus what a web crawl adds to it, in shares the user sets:

- `clean`: real paragraphs from the *pool* half of the source documents (`evaluation.fixtures.devset.split_documents`);
- `junk`: the dev set's 13 junk families (navigation menus, cookie banners, spam, keyword stuffing, product
  listings, log dumps, ...), each built around a pool paragraph the way boilerplate sits on a real page,
  with lengths drawn from the clean lengths so length alone does not give them away;
- `near_duplicates`: mirrored copies of clean paragraphs with light edits (words dropped, a pair swapped,
  lower-cased, a source tag), several copies of some paragraphs, as syndicated news is;
- `exact_duplicates`: byte-identical copies.

The validation text (what every model is evaluated on) and the DSIR target (the text the DSIR sampler is
told to resemble) are clean paragraphs from the *other* source documents, split between the two by
document, so neither shares a document with the pool or with each other.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from datatrainer.errors import DatatrainerError
from datatrainer.evaluation.fixtures.devset import FAMILIES, Paragraph, part_paragraphs
from datatrainer.evaluation.fixtures.planted import near_copy

CLEAN, NEAR_DUPLICATE, EXACT_DUPLICATE = "clean", "near-duplicate", "exact-duplicate"
JUNK = "junk"  # kinds of junk records are "junk:<family>"
MAX_COPIES = 4  # a duplicated paragraph appears 1..MAX_COPIES extra times


class MixtureParams(BaseModel):
    """How the pool is mixed: `clean` real paragraphs, then junk and duplicates as shares of the whole pool."""

    model_config = ConfigDict(extra="forbid")
    clean: int = Field(800, ge=10, description="real paragraphs in the pool")
    junk: float = Field(0.30, ge=0, lt=1, description="share of the pool that is crawl junk")
    near_duplicates: float = Field(0.15, ge=0, lt=1, description="share that are edited copies of clean records")
    exact_duplicates: float = Field(0.05, ge=0, lt=1, description="share that are exact copies of clean records")
    validation: int = Field(100, ge=1, description="clean held-out paragraphs every model is evaluated on")
    target: int = Field(200, ge=1, description="clean paragraphs for DSIR's target (other documents)")
    seed: int = Field(0, description="seed of every choice")

    def counts(self) -> dict[str, int]:
        """Records of each kind: the clean count stays as given, the others are shares of the total."""
        other = self.junk + self.near_duplicates + self.exact_duplicates
        if other >= 1:
            raise DatatrainerError("mixture: --junk + --near-duplicates + --exact-duplicates must be below 1")
        total = self.clean / (1 - other)
        return {CLEAN: self.clean, JUNK: round(total * self.junk),
                NEAR_DUPLICATE: round(total * self.near_duplicates),
                EXACT_DUPLICATE: round(total * self.exact_duplicates)}


@dataclass(frozen=True)
class Mixture:
    """Records (`id`, `text`, `kind`, `document`: the source) of the pool, the validation text and the DSIR target."""

    pool: list[dict[str, Any]]
    validation: list[dict[str, Any]]
    target: list[dict[str, Any]]


def build_mixture(params: MixtureParams) -> Mixture:
    rng = random.Random(f"mixture-{params.seed}")  # nosec B311  # reproducible sampling or jitter, not a secret
    counts = params.counts()
    paragraphs = part_paragraphs(params.seed, "pool")
    if counts[CLEAN] + counts[JUNK] > len(paragraphs):
        raise DatatrainerError(f"the pool documents hold {len(paragraphs):,} paragraphs, fewer than the "
                               f"{counts[CLEAN]:,} clean + {counts[JUNK]:,} junk records asked for (junk needs a host "
                               "paragraph each)")
    chosen = rng.sample(paragraphs, counts[CLEAN] + counts[JUNK])
    clean, hosts = chosen[:counts[CLEAN]], chosen[counts[CLEAN]:]
    pool = [_record(f"clean-{i:05d}", text, CLEAN, source) for i, (source, text) in enumerate(clean)]
    lengths = [len(text) for _, text in clean]
    families = sorted(FAMILIES)
    for i, (source, host) in enumerate(hosts):
        family = families[i % len(families)]
        pool.append(_record(f"junk-{i:05d}", FAMILIES[family](rng, host, rng.choice(lengths)), f"{JUNK}:{family}",
                            source))
    pool += _copies(clean, counts[NEAR_DUPLICATE], NEAR_DUPLICATE, rng)
    pool += _copies(clean, counts[EXACT_DUPLICATE], EXACT_DUPLICATE, rng)
    rng.shuffle(pool)
    validation, target = _held_out(params, rng)
    return Mixture(pool, validation, target)


def _record(id_: str, text: str, kind: str, source: str) -> dict[str, Any]:
    return {"id": id_, "text": text, "kind": kind, "document": source}


def _copies(clean: list[Paragraph], count: int, kind: str, rng: random.Random) -> list[dict[str, Any]]:
    """`count` copies of clean paragraphs, 1..MAX_COPIES per copied paragraph."""
    records: list[dict[str, Any]] = []
    while len(records) < count:
        source, text = rng.choice(clean)
        for _ in range(min(rng.randint(1, MAX_COPIES), count - len(records))):
            copy = near_copy(text, rng) if kind == NEAR_DUPLICATE else text
            records.append(_record(f"{kind}-{len(records):05d}", copy, kind, source))
    return records


def _held_out(params: MixtureParams, rng: random.Random) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Validation and target paragraphs from the dev documents, split between the two by document."""
    paragraphs = part_paragraphs(params.seed, "dev")
    documents = sorted({source for source, _ in paragraphs})
    rng.shuffle(documents)
    validation_documents = set(documents[::2])
    parts: dict[bool, list[Paragraph]] = {True: [], False: []}
    for source, text in paragraphs:
        parts[source in validation_documents].append((source, text))
    picked = []
    for is_validation, count, prefix in ((True, params.validation, "valid"), (False, params.target, "target")):
        available = parts[is_validation]
        if count > len(available):
            raise DatatrainerError(f"the held-out documents hold {len(available):,} {prefix} paragraphs, fewer "
                                   f"than {count:,}")
        picked.append([_record(f"{prefix}-{i:05d}", text, CLEAN, source)
                       for i, (source, text) in enumerate(rng.sample(available, count))])
    return picked[0], picked[1]
