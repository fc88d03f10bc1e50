"""Shared fixtures for pure-stage tests: a profile on disk and the shipped rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import Profile, load_profile

REPO = Path(__file__).resolve().parents[2]
BU_USMF = "aaaaaaaa-0000-4000-8000-000000000001"
BU_DEMF = "aaaaaaaa-0000-4000-8000-000000000002"


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Profile:
    monkeypatch.setenv("TEST_SECRET", "s3cret-value")
    path = tmp_path / "profile.toml"
    path.write_text(
        f"""
name = "unit"
[fno]
url = "https://contoso.operations.dynamics.com"
[dataverse]
url = "https://contoso.crm.dynamics.com"
[auth]
tenant_id = "tenant-1"
client_id = "client-1"
client_secret_env = "TEST_SECRET"
[companies]
usmf = "{BU_USMF}"
demf = "{BU_DEMF}"
usrt = ""
[paths]
rules = "{REPO / "rules"}"
snapshots = "snaps"
[http]
concurrency = 1  # one read per entity: the in-memory connector does not evaluate filters
"""
    )
    return load_profile(path)
