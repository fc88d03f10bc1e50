"""Rule files: the shipped set loads; every mistake names file, line, rule and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import RuleError
from reconciler.rules import default_rules_dir, load_rules

SHIPPED = (default_rules_dir() / "warehouses.toml").read_text()


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_shipped_rules_load_and_hash_is_stable() -> None:
    first = load_rules(default_rules_dir())
    second = load_rules(default_rules_dir())
    assert first.names() == [
        "adjustment_journals",
        "adjustment_journal_lines",
        "agreement_invoices",
        "agreement_invoice_lines",
        "products",
        "warehouses",
        "onhand",
        "projects",
        "project_links",
        "transfer_journals",
        "transfer_journal_lines",
        "work_orders",
        "work_order_products",
        "work_order_services",
    ]
    assert first.hash == second.hash and first.hash.startswith("sha256:")


def test_comment_changes_do_not_change_the_hash(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    write(plain, "warehouses.toml", SHIPPED)
    write(tmp_path, "warehouses.toml", SHIPPED + "\n# a new comment\n")
    assert load_rules(tmp_path).hash == load_rules(plain).hash


def test_bad_enum_value_names_file_line_rule_and_field(tmp_path: Path) -> None:
    broken = SHIPPED.replace('compare = "boolean"', 'compare = "bool"')
    path = write(tmp_path, "warehouses.toml", broken)
    with pytest.raises(RuleError) as caught:
        load_rules(tmp_path)
    message = str(caught.value)
    line = broken.splitlines().index('compare = "bool"') + 1
    assert f"{path}:{line}:" in message
    assert "rule 'warehouses'" in message and "fields[1].compare" in message
    assert "'bool'" in message


def test_unknown_setting_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "w.toml",
        SHIPPED.replace('entity = "Warehouses"', 'entity = "Warehouses"\nentty = "x"'),
    )
    with pytest.raises(RuleError, match=r"source\.entty: Extra inputs are not permitted") as caught:
        load_rules(tmp_path)
    assert str(path) in str(caught.value)


def test_field_needs_exactly_one_origin(tmp_path: Path) -> None:
    write(
        tmp_path,
        "w.toml",
        SHIPPED.replace('source = "WarehouseName"', 'source = "WarehouseName"\nvalue = "x"'),
    )
    with pytest.raises(RuleError, match=r"fields\[0\].*exactly one of 'source'"):
        load_rules(tmp_path)


def test_invalid_toml_is_reported_with_position(tmp_path: Path) -> None:
    write(tmp_path, "w.toml", "[rule\nname = 'x'")
    with pytest.raises(RuleError, match=r"w\.toml: not valid TOML: .*line 1"):
        load_rules(tmp_path)


def test_unknown_dependency_and_cycles(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", SHIPPED.replace("depends_on = []", 'depends_on = ["nope"]'))
    with pytest.raises(RuleError, match=r"depends_on: no rule named 'nope'"):
        load_rules(tmp_path)
    write(
        tmp_path,
        "a.toml",
        SHIPPED.replace('name = "warehouses"', 'name = "a"').replace(
            "depends_on = []", 'depends_on = ["b"]'
        ),
    )
    write(
        tmp_path,
        "b.toml",
        SHIPPED.replace('name = "warehouses"', 'name = "b"').replace(
            "depends_on = []", 'depends_on = ["a"]'
        ),
    )
    with pytest.raises(RuleError, match=r"cycle: a -> b -> a"):
        load_rules(tmp_path)


def test_duplicate_rule_names_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"no \*\.toml rule files"):
        load_rules(tmp_path)
    write(tmp_path, "a.toml", SHIPPED)
    write(tmp_path, "b.toml", SHIPPED)
    with pytest.raises(RuleError, match="'warehouses' is also used by"):
        load_rules(tmp_path)


def test_conflicting_column_types_across_rules(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", SHIPPED)
    other = SHIPPED.replace('name = "warehouses"', 'name = "other"').replace(
        'source = "WarehouseName"\ntarget = "msdyn_description"',
        'source = "WarehouseName"\ntarget = "msdyn_description"\ncompare = "number"',
    )
    write(tmp_path, "b.toml", other)
    with pytest.raises(RuleError, match="as number, but rule 'warehouses' compares it as text"):
        load_rules(tmp_path)
