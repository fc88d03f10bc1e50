"""Planning: diff every rule over one snapshot and assemble the ordered plan."""

from __future__ import annotations

from pathlib import Path

from reconciler.config import Profile, profile_identity
from reconciler.diff import diff_rule
from reconciler.errors import SnapshotError
from reconciler.plan import Action, Plan, order_actions
from reconciler.rules import RuleSet
from reconciler.snapshot import open_snapshot, read_info

__all__ = ["make_plan"]


def make_plan(snapshot_path: Path, rules: RuleSet, profile: Profile) -> Plan:
    """The plan for ``rules`` over the snapshot at ``snapshot_path`` (no network, no writes)."""
    info = read_info(snapshot_path)
    if info.rules_hash != rules.hash:
        raise SnapshotError(
            f"snapshot {snapshot_path} was taken with other rules ({info.rules_hash[:19]}…) than "
            f"the ones loaded ({rules.hash[:19]}…); take a new snapshot with `reconcile snapshot`."
        )
    actions: list[Action] = []
    with open_snapshot(snapshot_path) as con:
        for rule in rules:
            actions.extend(diff_rule(con, rule, profile.companies))
    return Plan(
        created_at=info.taken_at,
        profile=profile_identity(profile),
        rules_hash=rules.hash,
        rules=tuple(rules.names()),
        snapshot={
            "id": info.snapshot_id,
            "path": snapshot_path.name,
            "taken_at": info.taken_at,
            "fingerprints": info.fingerprints(),
        },
        actions=order_actions(actions, rules.names()),
    )
