"""HashSet64 against Python's set, as a property."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from datatrainer.io.seen import HashSet64

batches = st.lists(st.lists(st.integers(0, 2**64 - 1), max_size=50), max_size=30)


@settings(max_examples=60, deadline=None)
@given(batches, st.lists(st.integers(0, 2**64 - 1), max_size=50))
def test_membership_matches_a_python_set(added: list[list[int]], probes: list[int]) -> None:
    seen, reference = HashSet64(), set()
    for batch in added:
        values = np.array(batch, dtype=np.uint64)
        expected = np.array([v in reference for v in batch], dtype=bool)
        assert (seen.contains(values) == expected).all()
        seen.add_new(values[~expected])
        reference.update(batch)
    assert len(seen) == len(reference)
    query = np.array(probes + [next(iter(reference))] if reference else probes, dtype=np.uint64)
    assert seen.contains(query).tolist() == [int(v) in reference for v in query]
