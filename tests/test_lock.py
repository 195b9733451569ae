"""The hashed lock files CI installs from must cover pyproject.toml: a dependency added to pyproject.toml
but not re-locked (scripts/lock.sh) would be missing from a fresh install, since bootstrap installs the lock
with --no-deps."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _locked(path: Path) -> dict[str, tuple[Version, int]]:
    """Package name -> (pinned version, number of hashes) from a `uv pip compile --generate-hashes` file."""
    entries: dict[str, tuple[Version, int]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", path.read_text()):
        match = re.match(r"([A-Za-z0-9._-]+)==(\S+)", block)
        if match:
            entries[canonicalize_name(match[1])] = (Version(match[2]), block.count("--hash=sha256:"))
    return entries


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = Requirement(extras["all"][0]).extras
    return [Requirement(spec) for spec in project["dependencies"] + [s for e in wanted for s in extras[e]]]


def test_every_declared_dependency_is_locked_with_a_matching_version() -> None:
    locked = _locked(ROOT / "requirements.lock")
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is in pyproject.toml, not in requirements.lock: run scripts/lock.sh"
        assert requirement.specifier.contains(locked[name][0], prereleases=True), (requirement, locked[name][0])


def test_every_locked_file_is_hashed() -> None:
    for path in (ROOT / "requirements.lock", ROOT / "requirements-nodeps.lock"):
        entries = _locked(path)
        assert entries, path
        assert all(hashes >= 1 for _, hashes in entries.values()), path
