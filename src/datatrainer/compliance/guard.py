"""The publishing side of erasure: an operation whose input was rewritten by an erasure while it ran must not
publish, since it read the records before they were erased.

Checked in the transaction that publishes the output, with the inputs' catalog rows locked (FOR UPDATE), so
it serialises with the erasure's swap of those rows: either the output is published first (and the erasure,
which looks for new descendants after its swaps, rewrites it too) or the swap is, and this refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from datatrainer.errors import DatatrainerError
from datatrainer.store.catalog import VersionInfo
from datatrainer.store.models import VersionRow

AlsoRecord = Callable[[Session, VersionInfo], None]


def inputs_unchanged(inputs: Sequence[VersionInfo], then: AlsoRecord | None = None) -> AlsoRecord:
    """An `also_record` refusing the publish if an input's files changed since it was read; then `then`."""
    def check(session: Session, info: VersionInfo) -> None:
        for parent in inputs:
            current = session.scalar(select(VersionRow.storage_key).where(VersionRow.id == parent.id)
                                     .with_for_update())
            if current is not None and current != parent.storage_key:
                raise DatatrainerError(f"{parent.ref} was rewritten by an erasure while this ran, so the result "
                                       f"could hold erased records; nothing was published: run it again")
        if then is not None:
            then(session, info)
    return check
