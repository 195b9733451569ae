"""Child process of test_ray_engine's version-mismatch test: a driver joining the test's Ray cluster while
the cluster reports another Ray version (the GCS metadata Ray's own check reads, patched); prints the error."""

from __future__ import annotations

import sys
from typing import Any

import ray._common.usage.usage_lib as usage

from datatrainer.engine.select import engine_from_options
from datatrainer.errors import DatatrainerError

_read = usage.get_cluster_metadata


def _older_cluster(gcs_client: Any) -> Any:
    found = _read(gcs_client)
    return {**found, "ray_version": "2.9.3"} if found else found


usage.get_cluster_metadata = _older_cluster

if __name__ == "__main__":
    try:
        engine_from_options("ray", sys.argv[1])
    except DatatrainerError as error:
        print(f"error: {error}")
