"""Fixtures that run the sandbox on a real loopback port and point a profile at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.config import SANDBOX_SECRET_ENV, Profile, load_profile, sandbox_profile_text
from reconciler.rules import RuleSet, default_rules_dir, load_rules
from reconciler.sandbox import RunningSandbox, Sandbox, SandboxConfig, start


def write_profile(running: RunningSandbox, folder: Path) -> Path:
    path = folder / "profile.toml"
    path.write_text(
        sandbox_profile_text(
            running.profile_values(),
            rules_dir=default_rules_dir(),
            snapshots_dir=folder / "snapshots",
        )
    )
    return path


@pytest.fixture
def world() -> Sandbox:
    """The demo seed; tests may mutate it or swap faults in before using it."""
    return Sandbox.from_seed("demo", seed=7)


@pytest.fixture
def running(world: Sandbox) -> Iterator[RunningSandbox]:
    with start(world) as server:
        yield server


@pytest.fixture
def profile_path(running: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(SANDBOX_SECRET_ENV, str(running.profile_values()["client_secret"]))
    return write_profile(running, tmp_path)


@pytest.fixture
def profile(profile_path: Path) -> Profile:
    return load_profile(profile_path)


@pytest.fixture
def rules(profile: Profile) -> RuleSet:
    return load_rules(profile.rules_dir)


def small_pages() -> SandboxConfig:
    """Tiny page sizes so a few dozen rows take many pages on both services."""
    return SandboxConfig(fno_page_size=7, dataverse_max_page_size=5)
