"""What happened to each action of an apply run (shared by apply and the posting strategies)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ApplyResult", "Outcome", "Status"]

Status = Literal["applied", "unchanged", "conflict", "failed", "skipped", "reported"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one action: ``unchanged`` means it was already in the planned state."""

    action_id: str
    status: Status
    detail: str = ""
    record_id: str | None = None
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    etag: str | None = None
    """For a conflict: the row's ETag when it was re-read, so ``--refresh`` can re-plan it."""


@dataclass
class ApplyResult:
    """All outcomes of one apply run."""

    outcomes: list[Outcome] = field(default_factory=list)
    requests: int = 0
    throttled: int = 0
    """429 answers waited out (the whole applier paused for each)."""

    def counts(self) -> Counter[str]:
        return Counter(outcome.status for outcome in self.outcomes)

    @property
    def ok(self) -> bool:
        counts = self.counts()
        return counts["conflict"] == 0 and counts["failed"] == 0 and counts["skipped"] == 0
