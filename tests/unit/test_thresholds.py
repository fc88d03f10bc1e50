"""--fail-on: the grammar, its errors, and what each term counts against a plan."""

from __future__ import annotations

import pytest

from reconciler.plan import Plan
from reconciler.severity import classify
from reconciler.thresholds import ThresholdError, evaluate, parse_thresholds
from tests.report.sample import RULES, plan_of, tricky_actions

# tricky_actions: products 1 create, 2 update, 1 error finding; warehouses 2 create, 1 orphan;
# onhand 3 adjust, 1 negative_onhand (warning); projects 1 precision_loss (info).


@pytest.fixture
def plan() -> Plan:
    return plan_of(tricky_actions())


def counts(specs: list[str], plan: Plan) -> dict[str, int]:
    severities = classify(plan.actions)
    return {t.spec: t.count(plan, severities) for t in parse_thresholds(specs, RULES)}


def test_each_subject_counts_what_it_names(plan: Plan) -> None:
    assert counts(
        [
            "onhand:adjust>1",
            "products>0",
            "create",
            "report>=2",
            "*>10",
            "all:update>5",
            "findings",
            "findings:error",
            "findings:warning>1",
            "findings:info>=1",
        ],
        plan,
    ) == {
        "onhand:adjust>1": 3,
        "products>0": 3,  # writes only: 1 create + 2 updates, the finding is not a write
        "create": 3,
        "report>=2": 4,
        "*>10": 8,
        "all:update>5": 2,
        "findings": 4,
        "findings:error": 1,
        "findings:warning>1": 2,
        "findings:info>=1": 1,
    }


def test_comma_separated_repeatable_spaces_and_case(plan: Plan) -> None:
    parsed = parse_thresholds([" onhand : adjust > 50 ,FINDINGS:Error", "warehouses>=2"], RULES)
    assert [t.spec for t in parsed] == ["onhand:adjust>50", "findings:error", "warehouses>=2"]
    assert [t.limit for t in parsed] == [50, 0, 2]
    assert [t.at_least for t in parsed] == [False, False, True]
    assert parse_thresholds(["", " , "], RULES) == ()


def test_breaches_are_reported_in_order_with_actual_limit_and_reason(plan: Plan) -> None:
    thresholds = parse_thresholds(
        ["onhand:adjust>2,onhand:adjust>3,warehouses>=2,findings:error,findings:info>1"], RULES
    )
    breaches = evaluate(thresholds, plan, classify(plan.actions))
    assert [(b.spec, b.actual, b.limit) for b in breaches] == [
        ("onhand:adjust>2", 3, 2),
        ("warehouses>=2", 2, 2),
        ("findings:error", 1, 0),
    ]
    assert breaches[0].message == "3 adjust action(s) in onhand; at most 2 allowed"
    assert breaches[1].message == "2 write action(s) in warehouses; at most 1 allowed"
    assert breaches[2].message == "1 error finding(s); none allowed"
    assert (breaches[0].rule, breaches[0].kind) == ("onhand", "adjust")


def test_a_clean_plan_breaches_nothing() -> None:
    empty = plan_of([])
    thresholds = parse_thresholds(["*", "findings", "report", "onhand:adjust>=1"], RULES)
    assert evaluate(thresholds, empty, {}) == ()


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("onhnd:adjust>5", "no rule named 'onhnd' in this run; rules: products, warehouses"),
        ("onhand:adust>5", "'adust' is not an action kind; kinds: create, update, adjust"),
        ("findings:fatal", "'fatal' is not a severity; severities: error, warning, info"),
        ("onhand:adjust=>5", "expected RULE:KIND"),
        ("onhand:adjust>-1", "expected RULE:KIND"),
        ("onhand:adjust>", "expected RULE:KIND"),
        ("onhand:adjust:create", "expected RULE:KIND"),
        (":adjust>1", "expected RULE:KIND"),
        ("onhand<5", "expected RULE:KIND"),
    ],
)
def test_bad_specs_name_the_spec_and_what_is_valid(spec: str, says: str) -> None:
    with pytest.raises(ThresholdError) as caught:
        parse_thresholds(["findings:error", spec], RULES)
    assert f"--fail-on {spec!r}" in str(caught.value)
    assert says in str(caught.value)
