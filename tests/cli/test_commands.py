"""The CLI as users run it: exit codes, messages, files — against the sandbox over loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import main
from reconciler.config import SANDBOX_SECRET_ENV
from reconciler.rules import default_rules_dir
from reconciler.sandbox import RunningSandbox, Sandbox
from reconciler.sandbox.datadir import save_data_dir
from tests.conftest import write_profile


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_plan_show_apply_and_exit_codes(profile_path: Path, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    code, out = run(
        "plan", "--profile", str(profile_path), "--out", str(plan_file), "--detailed-exitcode"
    )
    assert code == 2, out
    assert "to create" in out and "to update" in out and plan_file.is_file()
    code, shown = run("show", str(plan_file), "--format", "json")
    assert code == 0 and json.loads(shown) == json.loads(plan_file.read_text())
    code, out = run("apply", str(plan_file), "--profile", str(profile_path))
    assert code == 0, out
    assert "All actions applied" in out
    code, out = run("plan", "--profile", str(profile_path), "--format", "json")
    assert code == 0
    again = json.loads(out)
    assert {a["kind"] for a in again["actions"]} == {"report"}


def test_plan_without_drift_exits_zero_with_detailed_exitcode(
    profile_path: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (default_rules_dir() / "warehouses.toml").read_text()
    (rules / "warehouses.toml").write_text(text.replace('orphan = "report"', 'orphan = "ignore"'))
    plan_file = tmp_path / "p.json"
    code, _ = run(
        "plan", "--profile", str(profile_path), "--rules", str(rules), "--out", str(plan_file)
    )
    assert code == 0
    code, out = run("apply", str(plan_file), "--profile", str(profile_path), "--rules", str(rules))
    assert code == 0, out
    code, out = run(
        "plan", "--profile", str(profile_path), "--rules", str(rules), "--detailed-exitcode"
    )
    assert code == 0, out
    assert "No changes" in out


def test_apply_refuses_a_plan_made_from_other_rules(profile_path: Path, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    assert run("plan", "--profile", str(profile_path), "--out", str(plan_file))[0] == 0
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    (rules / "warehouses.toml").write_text(
        (rules / "warehouses.toml").read_text().replace('changed = "update"', 'changed = "report"')
    )
    code, out = run("apply", str(plan_file), "--profile", str(profile_path), "--rules", str(rules))
    assert code == 1
    assert "made from other rules" in out


def test_bad_secret_exits_1_naming_tenant_client_and_resource(
    running: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile_path = write_profile(running, tmp_path)
    monkeypatch.setenv(SANDBOX_SECRET_ENV, "wrong-secret-value")
    code, out = run("plan", "--profile", str(profile_path))
    values = running.profile_values()
    assert code == 1
    assert str(values["tenant_id"]) in out and str(values["client_id"]) in out
    assert "wrong-secret-value" not in out
    assert "AADSTS7000215" in out


def test_rules_check_names_file_and_field(tmp_path: Path) -> None:
    code, out = run("rules", "check", "--rules", str(default_rules_dir()))
    assert code == 0 and "14 rule(s) valid" in out
    broken = tmp_path / "warehouses.toml"
    broken.write_text(
        (default_rules_dir() / "warehouses.toml")
        .read_text()
        .replace('missing = "create"', 'missing = "insert"')
    )
    code, out = run("rules", "check", "--rules", str(tmp_path))
    assert code == 1
    assert f"{broken}:" in out and "actions.missing" in out and "'insert'" in out


def test_rules_check_names_a_bad_check(tmp_path: Path) -> None:
    shutil.copytree(default_rules_dir(), tmp_path, dirs_exist_ok=True)
    broken = tmp_path / "adjustment_journal_lines.toml"
    text = broken.read_text()
    assert 'equals = "product._msdynce_inventoryunit_value"\n' in text
    broken.write_text(text.replace("blocks = true\n", "blocks = true\nmin = 0\n"))
    code, out = run("rules", "check", "--rules", str(tmp_path))
    line = broken.read_text().splitlines().index("[[checks]]") + 1
    flat = out.replace("\n", "")  # the console wraps long lines
    assert code == 1
    assert f"{broken}:{line}:" in flat and "rule 'adjustment_journal_lines'" in flat
    assert "checks[0]" in flat and "check 'not_inventory_unit'" in flat
    assert "exactly one of 'min'" in flat


def test_help_documents_commands_and_exit_codes() -> None:
    code, out = run("--help")
    assert code == 0
    for command in ("snapshot", "plan", "show", "apply", "rules", "sandbox", "demo"):
        assert command in out
    assert "Exit codes" in out
    code, out = run("plan", "--help")
    assert "--detailed-exitcode" in out


def test_installed_entry_point_plans_and_applies(profile_path: Path, tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("reconcile")
    assert exe.is_file(), "the console script must be installed"
    env = dict(os.environ)
    plan_file = tmp_path / "plan.json"
    planned = subprocess.run(
        [
            str(exe),
            "plan",
            "--profile",
            str(profile_path),
            "--out",
            str(plan_file),
            "--detailed-exitcode",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert planned.returncode == 2, planned.stderr
    applied = subprocess.run(
        [str(exe), "apply", str(plan_file), "--profile", str(profile_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr


def test_wrong_tenant_and_wrong_resource_exit_1_with_names(
    running: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = running.profile_values()
    monkeypatch.setenv(SANDBOX_SECRET_ENV, str(values["client_secret"]))
    profile_path = write_profile(running, tmp_path)
    text = profile_path.read_text()
    profile_path.write_text(
        text.replace(str(values["tenant_id"]), "99999999-9999-4999-8999-999999999999")
    )
    code, out = run("plan", "--profile", str(profile_path))
    assert code == 1
    assert "99999999-9999-4999-8999-999999999999" in out and str(values["client_id"]) in out
    wrong_url = str(values["dataverse_url"]).replace("/dataverse", "/crm")
    profile_path.write_text(
        text.replace(f'url = "{values["dataverse_url"]}"', f'url = "{wrong_url}"')
    )
    code, out = run("plan", "--profile", str(profile_path))
    assert code == 1
    assert wrong_url in out and "AADSTS500011" in out


@pytest.mark.parametrize("source", ["seed", "data"])
def test_sandbox_serve_writes_a_working_profile(tmp_path: Path, source: str) -> None:
    exe = Path(sys.executable).with_name("reconcile")
    profile_path = tmp_path / "sandbox.toml"
    if source == "seed":
        world_args = ["--seed", "demo"]
    else:  # the same world, as a folder of OData payloads a user could have captured
        data = tmp_path / "data"
        world = Sandbox.from_seed("demo", seed=7)
        save_data_dir(world, data)
        (data / "companies.json").write_text(json.dumps(world.companies))
        world_args = ["--data", str(data)]
    server = subprocess.Popen(
        [str(exe), "sandbox", "serve", *world_args, "--profile-out", str(profile_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        lines = []
        for line in server.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        export = next(line for line in lines if line.startswith("Before using it: export "))
        name, _, value = export.removeprefix("Before using it: export ").strip().partition("=")
        env = {**os.environ, name: value}
        planned = subprocess.run(
            [str(exe), "plan", "--profile", str(profile_path), "--detailed-exitcode"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert planned.returncode == 2, planned.stdout + planned.stderr
        assert "to create" in planned.stdout
        assert value not in profile_path.read_text()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_sandbox_serve_needs_exactly_one_data_source() -> None:
    code, out = run("sandbox", "serve")
    assert code == 1 and "exactly one of --seed demo or --data DIR" in out


def test_usage_errors_exit_1_never_2_which_means_drift() -> None:
    for args in (["plan", "--bogus"], ["history", "--last", "0", "--profile", "x"], ["nosuch"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, (args, result.output)
