"""``--fail-on`` limits: which drift should fail a pipeline (pure: parse and count, no I/O).

A nightly audit always finds some drift; a pipeline should fail only on what matters. Each
spec is one or more comma-separated terms::

    TERM     := SUBJECT [OP LIMIT]          no OP means ">0" (any at all)
    SUBJECT  := RULE:KIND                   actions of one kind in one rule
              | RULE                        the writes of one rule (every kind but report)
              | KIND                        actions of one kind across rules
              | *  | all                    the writes of every rule (also *:KIND = KIND)
              | findings[:SEVERITY]         findings (of exactly that severity)
    OP       := > | >=
    KIND     := create | update | adjust | deactivate | report
    SEVERITY := error | warning | info

The words ``findings``, ``*``/``all`` and the kinds win over a rule of the same name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reconciler.errors import ReconcilerError
from reconciler.plan import KIND_ORDER, Plan
from reconciler.report.model import WRITE_KINDS, Breach, Severity

__all__ = ["Threshold", "ThresholdError", "evaluate", "parse_thresholds"]

_TERM = re.compile(r"^(?P<subject>[^<>=!]+?)\s*(?:(?P<op>>=|>)\s*(?P<limit>\d+))?$")
_ALL = ("*", "all")
_SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
_SYNTAX = (
    "expected RULE:KIND, RULE, KIND, * or findings[:SEVERITY], optionally followed by >N "
    "or >=N (e.g. onhand:adjust>50, findings:error)"
)


class ThresholdError(ReconcilerError):
    """A ``--fail-on`` spec that cannot be read; names the spec and what is valid."""


@dataclass(frozen=True)
class Threshold:
    """One parsed term: what it counts and the limit the count must stay within."""

    spec: str
    rule: str | None
    kinds: tuple[str, ...]
    severity: Severity | None
    limit: int
    at_least: bool = False

    def count(self, plan: Plan, severities: Mapping[str, Severity]) -> int:
        """How many actions (or findings of ``severity``) of the plan this term counts."""
        if self.severity is not None:
            return sum(1 for level in severities.values() if level == self.severity)
        return sum(
            counts.get(kind, 0)
            for rule, counts in plan.summary.items()
            if self.rule is None or rule == self.rule
            for kind in self.kinds
        )

    def breached_by(self, actual: int) -> bool:
        return actual >= self.limit if self.at_least else actual > self.limit

    def describe(self, actual: int) -> str:
        """Why it failed, in words: "62 adjust action(s) in onhand; at most 50 allowed"."""
        if self.severity is not None:
            what = f"{actual} {self.severity} finding(s)"
        elif self.kinds == ("report",):
            what = f"{actual} finding(s)"
        else:
            kinds = "write" if self.kinds == WRITE_KINDS else "/".join(self.kinds)
            what = f"{actual} {kinds} action(s)"
        where = f" in {self.rule}" if self.rule else ""
        allowed = self.limit - 1 if self.at_least else self.limit
        limit = "none allowed" if allowed <= 0 else f"at most {allowed} allowed"
        return f"{what}{where}; {limit}"


def parse_thresholds(specs: Iterable[str], rules: Sequence[str]) -> tuple[Threshold, ...]:
    """Every term of every ``--fail-on`` value, checked against the rules of this run."""
    terms = [term.strip() for spec in specs for term in spec.split(",")]
    return tuple(_parse(term, rules) for term in terms if term)


def evaluate(
    thresholds: Iterable[Threshold], plan: Plan, severities: Mapping[str, Severity]
) -> tuple[Breach, ...]:
    """The limits this plan exceeds, in the order they were given."""
    breaches = []
    for threshold in thresholds:
        actual = threshold.count(plan, severities)
        if threshold.breached_by(actual):
            breaches.append(
                Breach(threshold.spec, actual, threshold.limit, threshold.describe(actual))
            )
    return tuple(breaches)


def _parse(term: str, rules: Sequence[str]) -> Threshold:
    match = _TERM.match(term.lower())
    if not match:
        raise ThresholdError(f"--fail-on {term!r}: {_SYNTAX}")
    parts = [part.strip() for part in match["subject"].split(":")]
    op, limit = match["op"] or ">", int(match["limit"] or 0)
    spec = f"{':'.join(parts)}{op}{limit}" if match["op"] else ":".join(parts)
    made = _subject(term, parts, rules)
    return Threshold(spec, *made, limit=limit, at_least=op == ">=")


def _subject(
    term: str, parts: list[str], rules: Sequence[str]
) -> tuple[str | None, tuple[str, ...], Severity | None]:
    """(rule or None for every rule, counted kinds, severity) of a term's subject."""
    head, rest = parts[0], parts[1:]
    if len(rest) > 1 or not head or any(not part for part in rest):
        raise ThresholdError(f"--fail-on {term!r}: {_SYNTAX}")
    if head == "findings":
        if not rest:
            return None, ("report",), None
        return None, (), _severity(term, rest[0])
    if head in KIND_ORDER and not rest:
        return None, (head,), None
    rule = None if head in _ALL else _rule(term, head, rules)
    if not rest:
        return rule, WRITE_KINDS, None
    return rule, (_kind(term, rest[0]),), None


def _rule(term: str, name: str, rules: Sequence[str]) -> str:
    if name not in rules:
        raise ThresholdError(
            f"--fail-on {term!r}: no rule named {name!r} in this run; rules: "
            f"{', '.join(rules)} (or * for all; kinds: {', '.join(KIND_ORDER)}; "
            "findings:SEVERITY)"
        )
    return name


def _kind(term: str, name: str) -> str:
    if name not in KIND_ORDER:
        raise ThresholdError(
            f"--fail-on {term!r}: {name!r} is not an action kind; kinds: {', '.join(KIND_ORDER)}"
        )
    return name


def _severity(term: str, name: str) -> Severity:
    for severity in _SEVERITIES:
        if name == severity:
            return severity
    raise ThresholdError(
        f"--fail-on {term!r}: {name!r} is not a severity; severities: {', '.join(_SEVERITIES)}"
    )
