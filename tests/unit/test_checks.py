"""Rule ``[[checks]]``: ``min`` or ``equals``, and ``blocks``. Validation names file, rule and
check; planning runs the shipped adjustment journal rules over in-memory snapshots (a line
in another unit than its product's inventory unit holds its journal back, whole; variant
dimensions come from the released distinct product)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from reconciler.config import Profile, load_profile
from reconciler.errors import RuleError
from reconciler.plan import Action, Plan
from reconciler.planner import make_plan
from reconciler.rules import default_rules_dir, load_rules
from reconciler.sandbox.seed_catalog import DIMENSIONS
from reconciler.severity import severity_for
from reconciler.snapshot import take_snapshot
from tests.unit.conftest import BU_USMF
from tests.unit.fakes import MemoryConnector

Row = dict[str, Any]
POSTED = "msdynce_poststatus eq 2"
ADJUSTMENT_LINES = "_msdyn_inventoryadjustment_value ne null"
RULE_FILES = ("adjustment_journals.toml", "adjustment_journal_lines.toml")
EA, BOX = "uom-ea", "uom-box"

ONHAND = (default_rules_dir() / "onhand.toml").read_text()
MIN_CHECK = 'source = "OnHandQuantity"\nmin = 0\n'


# --- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        (
            MIN_CHECK,
            MIN_CHECK + 'equals = "product.ProductNumber"\n',
            r"checks\[0\].*check 'negative_onhand': give exactly one of 'min' .* or 'equals'",
        ),
        (
            MIN_CHECK,
            'source = "OnHandQuantity"\n',
            r"checks\[0\].*check 'negative_onhand': give exactly one of 'min' .* or 'equals'",
        ),
        (
            MIN_CHECK,
            'source = "OnHandQuantity"\nequals = "nope.InventoryUnitSymbol"\n',
            r"check 'negative_onhand': 'nope.InventoryUnitSymbol' names no source.lookups "
            r"entry 'nope'",
        ),
        (
            MIN_CHECK,
            MIN_CHECK + "blocks = 1.5\n",
            r"checks\[0\].blocks: Input should be a valid boolean",
        ),
        (
            '[[checks]]\nname = "negative_onhand"',
            '[[checks]]\nname = "negative_onhand"\nsource = "OnHandQuantity"\nmin = 1\n'
            '[[checks]]\nname = "negative_onhand"',
            r"check name\(s\) used twice: negative_onhand",
        ),
    ],
)
def test_bad_checks_name_file_rule_and_check(
    tmp_path: Path, old: str, new: str, pattern: str
) -> None:
    assert old in ONHAND
    path = tmp_path / "onhand.toml"
    path.write_text(ONHAND.replace(old, new, 1))
    for needed in ("products.toml", "warehouses.toml"):
        shutil.copy(default_rules_dir() / needed, tmp_path / needed)
    with pytest.raises(RuleError, match=pattern) as caught:
        load_rules(tmp_path)
    assert f"{path}" in str(caught.value) and "rule 'onhand'" in str(caught.value)


def test_an_equals_check_reads_both_columns_as_text() -> None:
    rules = load_rules(default_rules_dir())
    lines = rules.get("adjustment_journal_lines")
    (check,) = lines.checks
    assert (check.name, check.equals, check.blocks) == (
        "not_inventory_unit",
        "product._msdynce_inventoryunit_value",
        True,
    )
    needed = lines.columns_needed()
    assert needed[("dataverse", "msdyn_inventoryadjustmentproducts")]["_msdyn_unit_value"] == "text"
    assert needed[("dataverse", "products")]["_msdynce_inventoryunit_value"] == "text"
    assert rules.get("onhand").checks[0].blocks is False  # the default
    assert severity_for("not_inventory_unit") == "error"
    assert severity_for("negative_onhand") == "warning"


# --- planning ------------------------------------------------------------------------------
@pytest.fixture
def profile(tmp_path: Path, profile: Profile) -> Profile:
    """The unit profile with the shipped adjustment journal rules only."""
    rules = tmp_path / "journal-rules"
    rules.mkdir()
    for name in RULE_FILES:
        shutil.copy(default_rules_dir() / name, rules / name)
    text = profile.path.read_text().replace(f'rules = "{profile.rules_dir}"', f'rules = "{rules}"')
    profile.path.write_text(text)
    return load_profile(profile.path)


def adjustment(name: str) -> Row:
    return {
        "msdyn_inventoryadjustmentid": f"adj-{name}",
        "msdyn_name": name,
        "msdynce_poststatus": 2,
        "msdyn_adjustmenttime": "2024-02-05T00:00:00Z",
        "_msdyn_warehouse_value": "wh-main",
        "_owningbusinessunit_value": BU_USMF,
        "@odata.etag": "a",
    }


def line(document: Row, number: int, product: str, unit: str | None, quantity: float) -> Row:
    return {
        "msdyn_inventoryadjustmentproductid": f"{document['msdyn_name']}-{number}",
        "msdyn_name": f"{document['msdyn_name']}-{number}",
        "_msdyn_inventoryadjustment_value": document["msdyn_inventoryadjustmentid"],
        "_msdyn_product_value": f"prod-{product}",
        "_msdyn_unit_value": unit,
        "msdyn_quantity": quantity,
        "createdon": f"2024-02-05T10:00:0{number}Z",
        "_owningbusinessunit_value": BU_USMF,
        "@odata.etag": "l",
    }


def product(number: str, inventory_unit: str | None = EA) -> Row:
    return {
        "productid": f"prod-{number}",
        "productnumber": number,
        "_msdynce_inventoryunit_value": inventory_unit,
        "@odata.etag": "p",
    }


def released(number: str, item: str, **dimensions: str | None) -> Row:
    blank: dict[str, str | None] = dict.fromkeys(DIMENSIONS, "")
    return {
        "dataAreaId": "usmf",
        "ProductNumber": number,
        "ItemNumber": item,
        **blank,
        **dimensions,
        "@odata.etag": "r",
    }


def journal(number: str, description: str) -> Row:
    return {
        "dataAreaId": "usmf",
        "JournalNumber": number,
        "Description": description,
        "JournalNameId": "IAdj",
        "DefaultWarehouseId": "MAIN",
        "DefaultInventorySiteId": "1",
        "IsPosted": "No",
        "@odata.etag": f'W/"{number}"',
    }


def journal_line(number: str, line_number: int, item: str, quantity: float, **values: Any) -> Row:
    return {
        "dataAreaId": "usmf",
        "JournalNumber": number,
        "LineNumber": line_number,
        "ItemNumber": item,
        **dict.fromkeys(DIMENSIONS, ""),
        "InventorySiteId": "1",
        "InventoryWarehouseId": "MAIN",
        "InventoryQuantity": quantity,
        "TransactionDate": "2024-02-05T12:00:00Z",
        "JournalNameId": "IAdj",
        **values,
        "@odata.etag": f'W/"{number}-{line_number}"',
    }


def plan_for(profile: Profile, dataverse: dict[str, list[Row]], fno: dict[str, list[Row]]) -> Plan:
    rules = load_rules(profile.rules_dir)
    filters = {
        POSTED: lambda row: row["msdynce_poststatus"] == 2,
        ADJUSTMENT_LINES: lambda row: row.get("_msdyn_inventoryadjustment_value") is not None,
    }
    connectors = {
        "fno": MemoryConnector("fno", fno, page_size=3),
        "dataverse": MemoryConnector("dataverse", dataverse, page_size=3, filters=filters),
    }
    return make_plan(take_snapshot(profile, rules, connectors).path, rules, profile)


def by_key(plan: Plan) -> dict[tuple[str, str, int | None, str], Action]:
    found = {}
    for action in plan.actions:
        document = action.key.get("Description") or action.key.get("journal.Description")
        number = action.key.get("LineNumber")
        assert number is None or isinstance(number, int)  # findings too: numbers, not text
        found[(action.rule, str(document), number, action.finding or action.kind)] = action
    return found


def world(
    lines: list[Row], scm_journals: list[Row] = (), scm_lines: list[Row] = ()
) -> tuple[dict[str, list[Row]], dict[str, list[Row]]]:
    documents = {row["_msdyn_inventoryadjustment_value"] for row in lines}
    dataverse = {
        "msdyn_inventoryadjustments": [adjustment(d.removeprefix("adj-")) for d in documents],
        "msdyn_inventoryadjustmentproducts": lines,
        "msdyn_warehouses": [
            {
                "msdyn_warehouseid": "wh-main",
                "msdyn_name": "MAIN",
                "_owningbusinessunit_value": BU_USMF,
                "@odata.etag": "w",
            }
        ],
        "products": [
            product("P-1"),
            product("P-2"),
            product("P-3", inventory_unit=None),
            product("V-BLK-L"),
        ],
    }
    fno = {
        "Warehouses": [
            {
                "dataAreaId": "usmf",
                "WarehouseId": "MAIN",
                "OperationalSiteId": "1",
                "@odata.etag": "w",
            }
        ],
        "CDSReleasedDistinctProducts": [
            released("P-1", "I-1"),
            released("P-2", "I-2"),
            released("P-3", "I-3", ProductColorId=None, ProductSizeId=None),
            released("V-BLK-L", "V", ProductColorId="BLK", ProductSizeId="L"),
        ],
        "InventoryAdjustmentJournalHeaders": list(scm_journals),
        "InventoryAdjustmentJournalEntriesV2": list(scm_lines),
    }
    return dataverse, fno


def test_a_line_in_another_unit_holds_its_journal_back_whole(profile: Profile) -> None:
    held, clean = adjustment("ADJ-1"), adjustment("ADJ-2")
    dataverse, fno = world(
        [
            line(held, 1, "P-1", EA, 5),
            line(held, 2, "P-2", BOX, 2),  # boxes: SCM would book 2 ea
            line(clean, 1, "P-1", " UOM-EA ", 1),  # the same unit, as keys compare
            line(clean, 2, "P-3", None, 3),  # no unit on either side: nothing to tell apart
            line(clean, 3, "V-BLK-L", EA, 4),
        ]
    )
    actions = by_key(plan_for(profile, dataverse, fno))

    unit = actions[("adjustment_journal_lines", "ADJ-1", 2, "not_inventory_unit")]
    assert unit.kind == "report"
    assert "inventory unit" in (unit.message or "") and "not written until" in (unit.message or "")
    assert f"(value {BOX}, expected {EA})" in (unit.message or "")
    assert actions[("adjustment_journals", "ADJ-1", None, "incomplete_document")].kind == "report"
    assert actions[("adjustment_journal_lines", "ADJ-1", 1, "no_header")].kind == "report"

    header = actions[("adjustment_journals", "ADJ-2", None, "create")]
    created = {
        number: actions[("adjustment_journal_lines", "ADJ-2", number, "create")]
        for number in (1, 2, 3)
    }
    assert all(a.document == {"rule": header.rule, "action": header.id} for a in created.values())
    variant = {name: change["to"] for name, change in created[3].changes.items()}
    assert (variant["ItemNumber"], variant["ProductColorId"], variant["ProductSizeId"]) == (
        "V",
        "BLK",
        "L",
    )
    assert (variant["ProductStyleId"], variant["ProductConfigurationId"]) == ("", "")
    assert len(actions) == 7, sorted(actions)


def test_blocked_lines_of_a_journal_scm_has_are_not_compared(profile: Profile) -> None:
    """The journal exists: its line in another unit is reported, not compared (its quantity
    differs as well); a wrong size is reported by the rule's changed action; blank (NULL)
    released dimensions agree with F&O's empty strings."""
    document = adjustment("ADJ-3")
    dataverse, fno = world(
        [
            line(document, 1, "P-2", BOX, 2),
            line(document, 2, "V-BLK-L", EA, 1),
            line(document, 3, "P-3", None, 6),
        ],
        scm_journals=[journal("USMF-000001", "ADJ-3")],
        scm_lines=[
            journal_line("USMF-000001", 1, "I-2", 24),
            journal_line(
                "USMF-000001", 2, "V", 1, ProductColorId="BLK", ProductSizeId="M"
            ),  # the wrong size
            journal_line("USMF-000001", 3, "I-3", 6),
        ],
    )
    actions = by_key(plan_for(profile, dataverse, fno))
    assert set(actions) == {
        ("adjustment_journal_lines", "ADJ-3", 1, "not_inventory_unit"),
        ("adjustment_journal_lines", "ADJ-3", 2, "changed"),
    }
    changed = actions[("adjustment_journal_lines", "ADJ-3", 2, "changed")]
    assert changed.changes == {"ProductSizeId": {"from": "M", "to": "L"}}


def test_a_check_that_does_not_block_only_reports(profile: Profile) -> None:
    rules = profile.rules_dir / "adjustment_journal_lines.toml"
    rules.write_text(rules.read_text().replace("blocks = true\n", ""))
    document = adjustment("ADJ-4")
    dataverse, fno = world([line(document, 1, "P-2", BOX, 2)])
    actions = by_key(plan_for(profile, dataverse, fno))
    assert set(actions) == {
        ("adjustment_journals", "ADJ-4", None, "create"),
        ("adjustment_journal_lines", "ADJ-4", 1, "create"),
        ("adjustment_journal_lines", "ADJ-4", 1, "not_inventory_unit"),
    }
    message = actions[("adjustment_journal_lines", "ADJ-4", 1, "not_inventory_unit")].message
    assert "not written" not in (message or "")
