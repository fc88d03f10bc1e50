"""How serious each finding is: a default table, overridden per profile (pure, no I/O).

Audits and go-live validation need one answer to "does this block us?". The default
follows what each finding means for the integration:

- **error**: the integration cannot match or write the record at all, so data would be
  lost or doubled (blank or duplicate keys, one product number in several companies with
  conflicting values, an enum value the field map does not know, a lookup that no record or
  planned create can satisfy, a work order pointing at a project that is not there, a
  required value that is blank, a document that cannot be written whole or a line whose
  header nothing creates, a journal line whose quantity is not in the product's inventory
  unit: the journal checks' ``not_inventory_unit``, which holds the line back).
- **warning**: real drift or a data problem a person should look at, but nothing the tool
  gets wrong (orphans, drift on an invoiced or posted SCM document (``frozen``), a canceled
  work order whose sales order exists, missing or changed records in report-only rules, an
  SCM legal entity the profile does not map, a source row whose lookup matches nothing
  (``unknown_*``), and the other rule ``[[checks]]`` findings such as ``negative_onhand``).
  Names not in the table are warnings too, so a new finding is shown, never silently
  downgraded.
- **info**: worth knowing, harmless (``precision_loss``: FS keeps fewer decimals).

A profile's ``[severity]`` table (finding name -> ``"error"``/``"warning"``/``"info"``)
overrides any entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.errors import ConfigError
from reconciler.plan import Action
from reconciler.report.model import SEVERITY_ORDER, Severity
from reconciler.rules import RuleSet

__all__ = [
    "DEFAULT_SEVERITIES",
    "FALLBACK",
    "check_overrides",
    "classify",
    "count_by_severity",
    "known_findings",
    "severity_for",
]

DEFAULT_SEVERITIES: Mapping[str, Severity] = {
    "blank_key_source": "error",
    "blank_key_target": "error",
    "duplicate_key_source": "error",
    "duplicate_key_target": "error",
    "key_in_several_companies": "error",
    "unmapped_value": "error",
    "unresolved_link": "error",
    "broken_reference": "error",
    "missing_required": "error",
    "incomplete_document": "error",
    "no_header": "error",
    "not_inventory_unit": "error",
    "orphan": "warning",
    "frozen": "warning",
    "canceled_synced": "warning",
    "missing": "warning",
    "changed": "warning",
    "unmapped_company": "warning",
    "precision_loss": "info",
}
FALLBACK: Severity = "warning"
"""``unknown_<lookup>``, rule checks and any finding the table does not name."""


def severity_for(finding: str, overrides: Mapping[str, Severity] | None = None) -> Severity:
    """The severity of one finding name: the profile's override, else the default table."""
    if overrides and finding in overrides:
        return overrides[finding]
    return DEFAULT_SEVERITIES.get(finding, FALLBACK)


def classify(
    actions: Iterable[Action], overrides: Mapping[str, Severity] | None = None
) -> dict[str, Severity]:
    """Action id -> severity for every ``report`` action (what ``AuditView`` expects)."""
    return {
        action.id: severity_for(action.finding or "", overrides)
        for action in actions
        if action.kind == "report"
    }


def count_by_severity(severities: Mapping[str, Severity]) -> dict[str, int]:
    """Findings per severity, every severity present (zeros included), most severe first."""
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    for severity in severities.values():
        counts[severity] += 1
    return counts


def known_findings(rules: RuleSet) -> set[str]:
    """Every finding name ``rules`` can produce: the table, lookup misses and checks."""
    names = set(DEFAULT_SEVERITIES)
    for rule in rules:
        names.update(lookup.finding for lookup in rule.source.lookups if lookup.required)
        names.update(check.name for check in rule.checks)
    return names


def check_overrides(overrides: Mapping[str, Severity], rules: RuleSet, where: str) -> None:
    """Refuse an override for a finding no rule produces: a typo would otherwise silently
    leave a go-live blocker at its default severity. ``where`` names the profile file."""
    known = known_findings(rules)
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(
            f"{where}: [severity] names finding(s) {', '.join(unknown)} that no rule produces; "
            f"known findings: {', '.join(sorted(known))}"
        )
