"""Installs are reproducible: the lock files hold what pyproject.toml asks for, and the tests run on what they pin."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = {"core.txt": (), "neural.txt": ("neural",), "hibari.txt": ("hibari",), "dev.txt": ("dev", "neural", "hibari")}
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def pins(lock: str) -> dict[str, str]:
    """The versions a lock file installs on this machine (entries whose markers fit it)."""
    found = {}
    for line in (ROOT / "requirements" / lock).read_text().splitlines():
        match = PIN.match(line)
        if match and (match[3] is None or Marker(match[3]).evaluate()):
            found[canonicalize_name(match[1])] = match[2]
    return found


def requirements(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [r for extra in extras for r in project["optional-dependencies"][extra]]
    return [Requirement(r) for r in wanted]


@pytest.mark.parametrize("lock, extras", LOCKS.items())
def test_each_lock_holds_what_pyproject_asks_for(lock, extras):
    """A dependency added to pyproject.toml without running ./scripts/lock fails here."""
    locked = pins(lock)
    for requirement in requirements(extras):
        if requirement.marker is None or requirement.marker.evaluate():
            name = canonicalize_name(requirement.name)
            assert name in locked, f"{requirement} is not in requirements/{lock}: run ./scripts/lock"
            assert requirement.specifier.contains(locked[name], prereleases=True), f"{lock} pins {name}=={locked[name]}, outside {requirement}"


def hashed_entries(lock: str) -> tuple[int, int]:
    """How many entries a lock has, and how many of them are pinned with hashes."""
    text = (ROOT / "requirements" / lock).read_text()
    entries = re.findall(r"^(\S+==\S+)[^\n]*\\\n((?:\s+--hash=sha256:[0-9a-f]{64}[ \\]*\n)+)", text, re.M)
    names = [line.split("==")[0] for line in text.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    return len(names), len(entries)


def test_every_lock_entry_is_pinned_with_hashes():
    for lock in LOCKS:
        names, hashed = hashed_entries(lock)
        assert names == hashed > 10, lock


def test_the_tools_that_install_the_project_are_locked_too():
    """pip and the build system pyproject.toml names come from requirements/build.txt, hashed, as installed."""
    build_system = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    locked = pins("build.txt")
    for requirement in map(Requirement, ["pip", *build_system]):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is not in requirements/build.txt: run ./scripts/lock"
        assert requirement.specifier.contains(locked[name]), f"build.txt pins {name}=={locked[name]}, outside {requirement}"
        assert installed(name) == locked[name], f"run ./scripts/setup: {name} {installed(name)} is not the locked {locked[name]}"
    assert hashed_entries("build.txt") == (len(locked), len(locked))


def test_the_tests_run_on_the_locked_versions():
    """./scripts/test installs requirements/dev.txt; click, for one, is the version it pins."""
    locked = pins("dev.txt")
    assert "click" in locked
    wrong = {name: (installed(name), version) for name, version in locked.items() if installed(name) != version}
    assert not wrong, f"installed versus locked: {wrong}; run ./scripts/setup dev,neural,hibari"


def installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
