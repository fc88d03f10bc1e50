"""audit, validate and history as a pipeline runs them, against the sandbox over loopback."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from reconciler.cli import main
from reconciler.rules import default_rules_dir
from reconciler.sandbox import Sandbox


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def said(*args: str) -> tuple[int, str]:
    """``run`` with the output's line wrapping undone, for messages."""
    code, out = run(*args)
    return code, " ".join(out.split())


def stdout_json(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def planned(profile_path: Path) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["plan", "--profile", str(profile_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    plan: dict[str, Any] = json.loads(result.stdout)
    return plan


def history_runs(profile_path: Path) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = stdout_json(
        "history", "--profile", str(profile_path), "--format", "json"
    )["runs"]
    return runs


def test_audit_exit_codes_and_fail_on_limits(profile_path: Path) -> None:
    profile = str(profile_path)
    adjusts = planned(profile_path)["summary"]["onhand"]["adjust"]
    assert adjusts > 0
    code, out = run("audit", "--profile", profile)
    assert code == 2, out
    assert out.startswith("## Drift audit: drift found (exit 2)")
    code, out = run("audit", "--profile", profile, "--fail-on", "onhand:adjust>1000")
    assert code == 0, out  # drift, but under the limit
    assert "drift found (exit 0)" in out and "| onhand |" in out
    code, out = run("audit", "--profile", profile, "--fail-on", f"onhand:adjust>{adjusts}")
    assert code == 0, out
    code, out = run("audit", "--profile", profile, "--fail-on", f"onhand:adjust>={adjusts}")
    assert code == 2, out
    assert f"`onhand:adjust>={adjusts}`: {adjusts} (limit {adjusts})" in out
    code, out = run(
        "audit",
        "--profile",
        profile,
        "--fail-on",
        "onhand:adjust>1000",
        "--fail-on",
        "findings:error",
    )
    assert code == 2, out  # the demo seed has error findings (broken project links, …)
    assert "**Limits breached**" in out and "`findings:error`" in out
    assert [r["exit_code"] for r in history_runs(profile_path)] == [2, 2, 0, 0, 2]  # newest first


def test_a_bad_fail_on_spec_exits_1_before_reading_anything(profile_path: Path) -> None:
    snapshots = profile_path.parent / "snapshots"
    code, out = said("audit", "--profile", str(profile_path), "--fail-on", "onhand:adust>5")
    assert code == 1
    assert "--fail-on 'onhand:adust>5'" in out and "kinds: create, update, adjust" in out
    code, out = said("audit", "--profile", str(profile_path), "--fail-on", "*>1,onhnd>2")
    assert code == 1
    assert "'onhnd>2'" in out and "no rule named 'onhnd'" in out and "onhand" in out
    code, out = said(
        "audit", "--profile", str(profile_path), "--rule", "products", "--fail-on", "onhand"
    )
    assert code == 1 and "no rule named 'onhand' in this run; rules: products (" in out
    assert not snapshots.exists() or not any(snapshots.iterdir())


def test_a_run_whose_reports_cannot_be_written_is_not_recorded(
    profile_path: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    code, out = said(
        "audit", "--profile", str(profile_path), "--report-dir", str(blocker / "reports")
    )
    assert code == 1 and "cannot write the reports to" in out
    assert "Not a directory; choose another --report-dir" in out
    assert history_runs(profile_path) == []


def test_findings_are_drift_until_a_limit_says_otherwise(profile_path: Path) -> None:
    code, out = run("apply", "--profile", str(profile_path), "--auto-approve")
    assert code == 0, out
    code, out = run("audit", "--profile", str(profile_path))
    assert code == 2, out  # only findings remain: still drift for the exit code
    assert "| create |" not in out and "| report |" in out
    code, out = run("audit", "--profile", str(profile_path), "--fail-on", "*")
    assert code == 0, out  # nothing left to write
    code, out = run("audit", "--profile", str(profile_path), "--fail-on", "*,findings:error")
    assert code == 2, out


def test_audit_exits_0_without_drift(profile_path: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    text = (default_rules_dir() / "warehouses.toml").read_text()
    (rules / "warehouses.toml").write_text(text.replace('orphan = "report"', 'orphan = "ignore"'))
    args = ("--profile", str(profile_path), "--rules", str(rules))
    assert run("audit", *args)[0] == 2
    code, out = run("apply", *args, "--auto-approve")
    assert code == 0, out
    code, out = run("audit", *args)
    assert code == 0, out
    assert out.startswith("## Drift audit: no drift (exit 0)")
    last = history_runs(profile_path)[0]
    assert last["exit_code"] == 0
    assert last["delta"] == {
        "new": 0,
        "persisted": 0,
        "resolved": 6,  # the demo's 4 creates and 2 updates of warehouses
        "by_rule": {"warehouses": {"new": 0, "persisted": 0, "resolved": 6}},
    }


def test_history_over_three_runs_new_persisted_resolved(world: Sandbox, profile_path: Path) -> None:
    profile = str(profile_path)
    warehouse = world.seed_manifest["in_sync"][0]
    product = world.seed_manifest["products.in_sync"][0]

    assert run("audit", "--profile", profile)[0] == 2  # run 1: the demo's drift, all new
    first = history_runs(profile_path)[0]
    total = sum(sum(kinds.values()) for kinds in first["counts"].values())
    assert (first["delta"]["new"], first["delta"]["persisted"], first["delta"]["resolved"]) == (
        total,
        0,
        0,
    )
    projects = first["counts"]["projects"]
    fixed = projects["create"] + projects["update"]
    assert fixed == 3

    # New drift: a warehouse description edited in FS. Resolved: the projects rule applied.
    world.edit_dataverse_row(
        "msdyn_warehouses", warehouse["fs_id"], {"msdyn_description": "Edited in FS"}
    )
    code, out = run("apply", "--profile", profile, "--target", "projects", "--auto-approve")
    assert code == 0, out
    assert run("audit", "--profile", profile)[0] == 2  # run 2

    # The edit undone (resolved), a product renamed in FS (new).
    world.edit_dataverse_row(
        "msdyn_warehouses", warehouse["fs_id"], {"msdyn_description": warehouse["fs_description"]}
    )
    world.edit_dataverse_row("products", product["fs_id"], {"name": "Renamed in FS"})
    assert run("audit", "--profile", profile)[0] == 2  # run 3

    third, second, again = history_runs(profile_path)
    assert again["run_id"] == first["run_id"]
    assert second["previous_run_id"] == first["run_id"]
    assert third["previous_run_id"] == second["run_id"]
    assert {k: second["delta"][k] for k in ("new", "persisted", "resolved")} == {
        "new": 1,
        "persisted": total - fixed,
        "resolved": fixed,
    }
    assert second["delta"]["by_rule"]["warehouses"]["new"] == 1
    assert second["delta"]["by_rule"]["projects"] == {
        "new": 0,
        "persisted": projects["report"],
        "resolved": fixed,
    }
    assert {k: third["delta"][k] for k in ("new", "persisted", "resolved")} == {
        "new": 1,
        "persisted": total - fixed,
        "resolved": 1,
    }
    assert third["delta"]["by_rule"]["products"]["new"] == 1
    assert third["delta"]["by_rule"]["warehouses"]["resolved"] == 1
    assert third["counts"]["projects"]["create"] == 0

    code, out = run("history", "--profile", profile, "--last", "2")
    assert code == 0
    assert out.count("Run ") == 2  # one table per run
    assert out.index(third["run_id"]) < out.index(second["run_id"])  # newest first
    assert "resolved" in out and "persisted" in out


def test_report_files(profile_path: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    assert run("audit", "--profile", str(profile_path), "--report-dir", str(reports))[0] == 2
    first = json.loads((reports / "report.json").read_text())
    code, out = run(
        "audit",
        "--profile",
        str(profile_path),
        "--report-dir",
        str(reports),
        "--fail-on",
        "findings:error",
    )
    assert code == 2, out
    names = sorted(path.name for path in reports.iterdir())
    assert names == ["junit.xml", "report.html", "report.json", "summary.md"]  # no .partial
    assert all((reports / name).stat().st_size > 0 for name in names)
    assert (reports / "summary.md").read_text() in out
    assert (reports / "report.html").read_text().startswith("<!DOCTYPE html>")
    junit = ET.fromstring((reports / "junit.xml").read_text())
    assert junit.tag == "testsuites" and int(junit.attrib["failures"]) > 0
    report = json.loads((reports / "report.json").read_text())
    assert report["plan_id"].startswith("sha256:") and report["actions"]
    audit = report["audit"]
    assert audit["exit_code"] == 2
    assert audit["breaches"][0]["spec"] == "findings:error"
    delta = audit["delta"]
    assert delta["previous_run_id"] == first["audit"]["run"]["run_id"]
    assert sorted(delta["persisted"]) == sorted(a["id"] for a in report["actions"])
    assert delta["new"] == [] and delta["resolved"] == []
    assert first["audit"]["delta"]["previous_run_id"] is None


def test_validate_verdict_and_severity_overrides(profile_path: Path, tmp_path: Path) -> None:
    reports = tmp_path / "go-live"
    args = ("validate", "--profile", str(profile_path))
    code, out = run(*args, "--report-dir", str(reports))
    assert code == 2, out
    assert "Verdict: NO-GO" in out
    assert "project_links: 3 broken_reference finding(s) of severity error" in out
    assert "ERROR (" in out and "WARNING (" in out and "INFO (" in out
    report = json.loads((reports / "report.json").read_text())
    assert report["audit"]["verdict"] == "no-go" and report["audit"]["exit_code"] == 2
    errors = {
        a["finding"]
        for a in report["actions"]
        if report["audit"]["severities"].get(a["id"]) == "error"
    }
    assert errors == {
        "broken_reference",
        "incomplete_document",  # the journal held back by its line in boxes
        "key_in_several_companies",
        "missing_required",
        "no_header",
        "not_inventory_unit",
        "unresolved_link",
    }

    original = profile_path.read_text()
    downgrade = "".join(f'{name} = "warning"\n' for name in sorted(errors))
    profile_path.write_text(original + "\n[severity]\n" + downgrade)
    code, out = run(*args)
    assert code == 0, out
    assert "Verdict: GO" in out and "no error-severity findings" in out
    code, out = run("audit", "--profile", str(profile_path), "--fail-on", "findings:error")
    assert code == 0, out

    profile_path.write_text(original + '\n[severity]\norphan = "error"\n')
    code, out = run(*args)
    assert code == 2 and "orphan finding(s) of severity error" in out

    profile_path.write_text(original + '\n[severity]\nbroken_refrence = "warning"\n')
    code, out = run(*args)
    assert code == 1
    assert str(profile_path) in out and "broken_refrence" in out

    profile_path.write_text(original + '\n[severity]\norphan = "critical"\n')
    code, out = run(*args)
    assert code == 1 and "severity.orphan" in out


def test_validate_records_nothing_and_history_starts_empty(profile_path: Path) -> None:
    assert run("validate", "--profile", str(profile_path))[0] == 2
    assert history_runs(profile_path) == []
    code, out = run("history", "--profile", str(profile_path))
    assert code == 0 and "No audit runs recorded" in out
