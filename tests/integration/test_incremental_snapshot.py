"""Incremental snapshots against the sandbox: Dataverse change tracking and F&O partitions.

An incremental snapshot must hold exactly what a full one holds (same fingerprints, same
snapshot id) after inserts, updates and deletes in FS, and must fall back to a full read,
with a note, when the change-tracking token has expired.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.config import Profile, load_profile
from reconciler.rules import RuleSet
from reconciler.sandbox import Sandbox
from reconciler.session import snapshot_now
from reconciler.snapshot import SnapshotInfo


def by_table(info: SnapshotInfo) -> dict[str, tuple[str, str, int]]:
    return {t.label: (t.system, t.mode, t.requests) for t in info.tables}


def fingerprints(info: SnapshotInfo) -> dict[str, str]:
    return {t.label: t.fingerprint for t in info.tables}


def change_fs(world: Sandbox) -> None:
    """An insert, an update and a delete in tables the rules read whole."""
    products = world.dataverse.rows("products")
    world.edit_dataverse_row("products", products[0]["productid"], {"name": "Changed in FS"})
    doomed = world.dataverse.rows("msdyn_productinventories")[0]
    world.dataverse.delete("msdyn_productinventories", doomed["msdyn_productinventoryid"])
    world.dataverse.insert(
        "uoms",
        {
            "name": "crate",
            "_uomscheduleid_value": world.dataverse.rows("uomschedules")[0]["uomscheduleid"],
        },
    )


def test_incremental_snapshot_equals_a_full_one(
    world: Sandbox, profile: Profile, rules: RuleSet
) -> None:
    first = snapshot_now(profile, rules)
    tracked = [t for t in first.tables if t.system == "dataverse" and t.delta_link]
    assert tracked and all(t.mode == "full" for t in tracked)

    change_fs(world)
    notes: list[str] = []
    delta = snapshot_now(profile, rules, on_note=notes.append)
    full = snapshot_now(profile, rules, incremental=False)
    assert notes == []
    modes = {label: mode for label, (_system, mode, _requests) in by_table(delta).items()}
    assert {modes[t.label] for t in tracked} == {"delta"}
    assert fingerprints(delta) == fingerprints(full)
    assert delta.snapshot_id == full.snapshot_id != first.snapshot_id
    changed = by_table(delta)["products"]
    assert changed[2] == 1, "a small delta fits in one request"


def test_an_expired_token_falls_back_to_a_full_read(
    world: Sandbox, profile: Profile, rules: RuleSet
) -> None:
    snapshot_now(profile, rules)
    change_fs(world)
    world.expire_change_tokens()
    notes: list[str] = []
    again = snapshot_now(profile, rules, on_note=notes.append)
    assert notes and all("read in full" in note for note in notes)
    assert "products" in " ".join(notes)
    assert {t.mode for t in again.tables if t.delta_link} == {"full"}
    full = snapshot_now(profile, rules, incremental=False)
    assert fingerprints(again) == fingerprints(full)
    following = snapshot_now(profile, rules)  # the fresh tokens work again
    assert {t.mode for t in following.tables if t.delta_link} == {"delta"}


def test_fno_partitions_read_the_same_rows_as_one_read(
    profile_path: Path, profile: Profile, rules: RuleSet
) -> None:
    partitioned = snapshot_now(profile, rules, incremental=False)
    modes = {t.label: t.mode for t in partitioned.tables if t.system == "fno"}
    assert modes["Warehouses"] == "partitioned"
    text = profile_path.read_text()
    assert "[http]" not in text
    profile_path.write_text(text + "\n[http]\nconcurrency = 1\n")
    single = snapshot_now(load_profile(profile_path), rules, incremental=False)
    assert {t.mode for t in single.tables if t.system == "fno"} == {"full"}
    assert fingerprints(single) == fingerprints(partitioned)
