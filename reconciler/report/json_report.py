"""The plan file's JSON plus an ``audit`` object, for scripts and dashboards (pure).

Everything under the plan's own keys is ``Plan.to_json()`` unchanged, so a script that reads
plan files reads this too; the audit adds one top-level key, as a minor version may.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from reconciler.report.model import AuditView

__all__ = ["render_json"]


def render_json(view: AuditView) -> str:
    data = view.plan.to_json()
    data["audit"] = _audit(view)
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _audit(view: AuditView) -> dict[str, Any]:
    return {
        "run": asdict(view.run),
        "profile": view.profile,
        "snapshot_id": view.snapshot_id,
        "exit_code": view.exit_code,
        "verdict": view.verdict,
        "reasons": list(view.reasons),
        "breaches": [asdict(breach) for breach in view.breaches],
        "severities": dict(view.severities),
        "delta": None if view.delta is None else asdict(view.delta),
    }
