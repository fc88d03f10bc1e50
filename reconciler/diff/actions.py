"""Small builders shared by the finding queries and the drift shaper."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from reconciler.plan import Action, action_id
from reconciler.rules import Condition, Rule, Scalar, Test

__all__ = [
    "conditions_text",
    "describe",
    "finding",
    "in_company",
    "json_number",
    "key_of",
    "number_key",
    "system_name",
    "typed_keys",
]


def finding(
    rule: Rule,
    name: str,
    company: str,
    key_values: Sequence[Any],
    key: dict[str, Any],
    message: str,
    changes: dict[str, dict[str, Any]] | None = None,
) -> Action:
    """A ``report`` action: named, explained, never written."""
    return Action(
        id=action_id(rule.name, "report", name, company, [str(v) for v in key_values]),
        rule=rule.name,
        kind="report",
        system=rule.target.system,
        entity=rule.target.entity,
        key=key,
        changes=whole_numbers(changes or {}),
        finding=name,
        message=message,
    )


def whole_numbers(changes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Plain JSON numbers: 690970000, not 690970000.0 or Decimal('690970000.0000000000').
    Snapshots hold numbers as exact decimals, and Dataverse refuses a decimal literal for an
    integer or option-set column."""
    return {
        name: {part: json_number(v) for part, v in change.items()}
        for name, change in changes.items()
    }


def json_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def typed_keys(rule: Rule, names: Sequence[str], values: Sequence[Any]) -> list[Any]:
    """Key values as findings show them: number keys (a line number) as numbers, not the
    canonical text the snapshot joins on."""
    return [
        number_key(value) if rule.key_kind(name) == "number" else value
        for name, value in zip(names, values, strict=True)
    ]


def number_key(value: Any) -> Any:
    """A number key's canonical text (``-1``, ``1.5``) as the number it is; keys and writes
    need the number."""
    if not isinstance(value, str):
        return value
    number = float(value)
    return int(number) if number.is_integer() else number


def key_of(rule: Rule, company: str, key_values: Sequence[Any]) -> dict[str, Any]:
    key: dict[str, Any] = {"company": company} if rule.source.company else {}
    key.update({k.target: key_values[i] for i, k in enumerate(rule.keys)})
    return key


def in_company(company: str | None) -> str:
    return f" in {company!r}" if company else ""


def system_name(system: str) -> str:
    return "SCM" if system == "fno" else "FS"


def describe(names: Sequence[str], values: Sequence[Any]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in zip(names, values, strict=True))


def conditions_text(conditions: Condition) -> str:
    """``IsPosted = 'Yes'``, ``Status in ('A', 'B')``: a rule's conditions as messages show
    them."""
    return " and ".join(_condition_text(name, test) for name, test in sorted(conditions.items()))


def _condition_text(name: str, test: Scalar | Test) -> str:
    if not isinstance(test, Test):
        return f"{name} = {test!r}"
    if test.ne is not None:
        return f"{name} <> {test.ne!r}"
    return f"{name} in ({', '.join(repr(value) for value in test.values())})"
