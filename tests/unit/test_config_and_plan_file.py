"""Profiles and plan files: clear errors, no secrets, stable round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.config import Profile, load_profile, resolve_secret
from reconciler.errors import ConfigError, PlanError
from reconciler.plan import Action, Plan, dumps, load_plan, order_actions, save_plan

BASE = """
[fno]
url = "https://contoso.operations.dynamics.com"
[dataverse]
url = "https://contoso.crm.dynamics.com"
[auth]
tenant_id = "t"
client_id = "c"
client_secret_env = "MY_SECRET"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(text)
    return path


def test_missing_secret_variable_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_SECRET", raising=False)
    profile = load_profile(write(tmp_path, BASE))
    with pytest.raises(ConfigError, match=r"MY_SECRET .* is not set"):
        resolve_secret(profile)


def test_secret_is_read_from_env_and_never_kept_in_profile(
    profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_secret(profile) == ("s3cret-value", None)
    assert "s3cret-value" not in repr(profile)


def test_plain_http_only_for_loopback(tmp_path: Path) -> None:
    text = BASE.replace("https://contoso.crm.dynamics.com", "http://contoso.crm.dynamics.com")
    with pytest.raises(ConfigError, match=r"dataverse\.url: .*loopback"):
        load_profile(write(tmp_path, text))
    loopback = BASE.replace("https://contoso.crm.dynamics.com", "http://127.0.0.1:8080/dataverse")
    assert (
        load_profile(write(tmp_path, loopback)).dataverse_url == "http://127.0.0.1:8080/dataverse"
    )


def test_identity_endpoint_must_be_loopback(tmp_path: Path) -> None:
    text = BASE + 'identity_endpoint = "https://evil.example.com/login"\n'
    with pytest.raises(ConfigError, match="identity_endpoint is for local emulators"):
        load_profile(write(tmp_path, text))


def test_secret_source_is_required_once(tmp_path: Path) -> None:
    text = BASE.replace('client_secret_env = "MY_SECRET"', "")
    with pytest.raises(ConfigError, match="exactly one of client_secret_env"):
        load_profile(write(tmp_path, text))


def test_missing_profile_and_unknown_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_profile(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"auth\.client_secrett: Extra inputs"):
        load_profile(write(tmp_path, BASE + 'client_secrett = "x"\n'))


def _plan(actions: tuple[Action, ...]) -> Plan:
    return Plan(
        created_at="2026-01-01T00:00:00Z",
        profile={"name": "p"},
        rules_hash="sha256:abc",
        rules=("warehouses",),
        snapshot={"id": "sha256:def"},
        actions=actions,
    )


def test_plan_round_trip_is_byte_identical(tmp_path: Path) -> None:
    actions = order_actions(
        [
            Action(
                "b",
                "warehouses",
                "report",
                "dataverse",
                "msdyn_warehouses",
                {"company": "usmf"},
                finding="orphan",
                message="m",
            ),
            Action(
                "a",
                "warehouses",
                "update",
                "dataverse",
                "msdyn_warehouses",
                {"company": "usmf", "msdyn_name": "O'BRIEN"},
                changes={"msdyn_description": {"from": "x", "to": "y"}},
                etag='W/"1"',
                target_id="00000000-0000-0000-0000-000000000001",
            ),
        ],
        ["warehouses"],
    )
    assert [a.kind for a in actions] == ["update", "report"]
    path = tmp_path / "plan.json"
    save_plan(_plan(actions), path)
    again = load_plan(path)
    assert dumps(again) == path.read_text()
    data = json.loads(path.read_text())
    assert data["summary"]["warehouses"]["update"] == 1
    assert data["actions"][0]["changes"]["msdyn_description"] == {"from": "x", "to": "y"}


def test_plan_from_a_newer_major_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    save_plan(_plan(()), path)
    data = json.loads(path.read_text())
    data["format_version"] = "2.0"
    path.write_text(json.dumps(data))
    with pytest.raises(PlanError, match=r"format_version '2\.0'"):
        load_plan(path)
    path.write_text("{not json")
    with pytest.raises(PlanError, match="not readable JSON"):
        load_plan(path)
