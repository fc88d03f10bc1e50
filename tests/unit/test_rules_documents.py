"""Rule format for documents and computed values: every construct is validated with an error
that names file, rule and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import RuleError
from reconciler.rules import load_rules

HEADER = """
[rule]
name = "orders"

[source]
system = "dataverse"
entity = "msdyn_workorders"
company = "_owningbusinessunit_value"
filter = "msdyn_systemstatus ne 690970005"

[[source.excluded]]
name = "canceled"
filter = "msdyn_systemstatus eq 690970005"
message = "canceled in FS"

[target]
system = "fno"
entity = "CDSSalesOrderHeaders"
company = "dataAreaId"
frozen_when = { SalesOrderStatus = "Invoiced" }

[[keys]]
source = "msdyn_name"
target = "SalesOrderNumber"

[[fields]]
source = "msdyn_systemstatus"
target = "ExternalWorkOrderStatus"
map = { "690970001" = "OpenScheduled" }
"""

LINES = """
[rule]
name = "lines"
depends_on = ["orders"]

[source]
system = "dataverse"
entity = "msdyn_workorderservices"
company = "_owningbusinessunit_value"

[[source.lookups]]
name = "workorder"
entity = "msdyn_workorders"
required = true
on = { msdyn_workorderid = "_msdyn_workorder_value" }

[[source.lookups]]
name = "site"
system = "fno"
entity = "Warehouses"
company = "dataAreaId"
on = { WarehouseId = "workorder.msdyn_name" }

[target]
system = "fno"
entity = "CDSSalesOrderLinesV2"
company = "dataAreaId"

[[keys]]
source = "workorder.msdyn_name"
target = "SalesOrderNumber"

[[keys]]
source = "msdyn_lineorder"
target = "LineCreationSequenceNumber"
compare = "number"
negate = true

[[fields]]
target = "OrderedSalesQuantity"
compare = "number"
divide = 60
decimals = 2

[[fields.choose]]
when = { msdyn_linestatus = 690970000, msdynce_headersystemstatus = { ne = 690970004 } }
source = "msdyn_estimateduration"

[[fields.choose]]
source = "msdyn_duration"

[[fields]]
source = "site.OperationalSiteId"
target = "ShippingSiteId"

[document]
header = "orders"
keys = { SalesOrderNumber = "SalesOrderNumber" }
navigation = "CDSSalesOrderLinesV2"
"""


def load(tmp_path: Path, header: str = HEADER, lines: str = LINES) -> list[str]:
    (tmp_path / "orders.toml").write_text(header)
    (tmp_path / "lines.toml").write_text(lines)
    return load_rules(tmp_path).names()


def refused(tmp_path: Path, pattern: str, *, header: str = HEADER, lines: str = LINES) -> str:
    with pytest.raises(RuleError, match=pattern) as caught:
        load(tmp_path, header, lines)
    return str(caught.value)


def test_the_examples_load_and_read_what_they_need(tmp_path: Path) -> None:
    assert load(tmp_path) == ["orders", "lines"]
    rules = load_rules(tmp_path)
    reads = rules.reads()
    assert ("dataverse", "msdyn_workorders", "msdyn_systemstatus eq 690970005") in reads
    assert ("fno", "Warehouses", None) in reads  # the cross-system lookup
    lines = rules.get("lines")
    needed = lines.columns_needed()
    assert needed[("dataverse", "msdyn_workorderservices")]["msdyn_lineorder"] == "number"
    assert needed[("dataverse", "msdyn_workorderservices")]["msdyn_linestatus"] == "number"
    assert needed[("fno", "CDSSalesOrderLinesV2")]["LineCreationSequenceNumber"] == "number"
    assert needed[("fno", "Warehouses")] == {
        "WarehouseId": "text",
        "dataAreaId": "text",
        "OperationalSiteId": "text",
    }
    assert lines.record_key() == ["dataAreaId", "SalesOrderNumber", "LineCreationSequenceNumber"]
    assert (
        "SalesOrderStatus" in rules.get("orders").columns_needed()[("fno", "CDSSalesOrderHeaders")]
    )


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        (
            '[[fields.choose]]\nsource = "msdyn_duration"\n',
            "",
            r"fields\[0\].*last 'choose' entry must have no 'when'",
        ),
        (
            "divide = 60\n",
            'divide = 60\nmap = { "1" = 2 }\n',
            r"'map' translates one source; it cannot follow 'choose'",
        ),
        (
            'compare = "number"\nnegate = true',
            "negate = true",
            r"keys\[1\].*'negate' and 'position' need compare = \"number\"",
        ),
        (
            "{ ne = 690970004 }",
            "{ ne = 690970004, in = [1] }",
            r"a test is \{ ne = value \} or \{ in = \[values\] \}",
        ),
        (
            "msdyn_linestatus = 690970000, msdynce",
            '"nope.msdyn_linestatus" = 690970000, msdynce',
            r"source reference 'nope.msdyn_linestatus' names no source.lookups entry 'nope'",
        ),
        ("required = true\n", "required = true\ninner = true\n", r"'required' .* or 'inner'"),
        (
            'system = "fno"\nentity = "Warehouses"',
            'system = "dataverse"\nentity = "Warehouses"',
            r"'system' is only needed for the other system",
        ),
        ('header = "orders"', 'header = "lines"', r"must be another rule, listed in depends_on"),
        (
            "keys = { SalesOrderNumber = ",
            "keys = { ProductNumber = ",
            r"'ProductNumber' is not a key target of this rule",
        ),
        (
            'keys = { SalesOrderNumber = "SalesOrderNumber" }',
            'keys = { SalesOrderNumber = "OrderNumber" }',
            r"document.keys: OrderNumber not key target\(s\) of rule 'orders'",
        ),
    ],
)
def test_line_rule_mistakes(tmp_path: Path, old: str, new: str, pattern: str) -> None:
    assert old in LINES
    message = refused(tmp_path, pattern, lines=LINES.replace(old, new))
    assert "lines.toml" in message and "'lines'" in message


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        (
            'frozen_when = { SalesOrderStatus = "Invoiced" }',
            'entity_key = ["dataAreaId"]\n[source.x]',
            r"Extra inputs",
        ),
        (
            "[target]\n",
            '[target]\nexcluded = [{ name = "x", filter = "a eq 1" }]\n',
            r"target.excluded: only source rows can be excluded",
        ),
        (
            'filter = "msdyn_systemstatus ne 690970005"',
            'filter = "msdyn_systemstatus ne 690970005"\nfrozen_when = { statecode = 1 }',
            r"source.frozen_when: only the target side's records can be frozen",
        ),
        (
            'map = { "690970001" = "OpenScheduled" }',
            'map = { "690970001" = "OpenScheduled" }\nnegate = true',
            r"'negate', 'divide' .* apply to compare = \"number\" only",
        ),
        (
            '[[fields]]\nsource = "msdyn_systemstatus"',
            '[[fields]]\ntarget = "InvoiceDate"\nvalue = "x"\nrequired = true\n'
            '[[fields]]\nsource = "msdyn_systemstatus"',
            r"'required' applies to a source, not to a constant",
        ),
        (
            '[[fields]]\nsource = "msdyn_systemstatus"',
            '[[fields]]\ntarget = "InvoiceDate"\nsource = "x"\nrequired = true\ndefault = "y"\n'
            '[[fields]]\nsource = "msdyn_systemstatus"',
            r"'default' stands in for a blank source value: not with 'value' or 'required'",
        ),
        (
            '[[fields]]\nsource = "msdyn_systemstatus"',
            '[[fields]]\ntarget = "Amount"\nsource = "x"\ncompare = "number"\ndefault = "none"\n'
            '[[fields]]\nsource = "msdyn_systemstatus"',
            r"default 'none' is not a number",
        ),
    ],
)
def test_header_rule_mistakes(tmp_path: Path, old: str, new: str, pattern: str) -> None:
    assert old in HEADER
    refused(tmp_path, pattern, header=HEADER.replace(old, new))


def test_entity_key_only_for_an_fno_target(tmp_path: Path) -> None:
    warehouses = (
        '[rule]\nname = "w"\n[source]\nsystem = "fno"\nentity = "Warehouses"\n'
        'company = "dataAreaId"\n[target]\nsystem = "dataverse"\nentity = "msdyn_warehouses"\n'
        'id = "msdyn_warehouseid"\nentity_key = ["msdyn_name"]\n'
        '[[keys]]\nsource = "WarehouseId"\ntarget = "msdyn_name"\n'
    )
    (tmp_path / "w.toml").write_text(warehouses)
    with pytest.raises(RuleError, match=r"target.entity_key applies to an F&O target only"):
        load_rules(tmp_path)


def test_every_header_key_must_be_mapped_and_lines_share_a_navigation(tmp_path: Path) -> None:
    two_keys = HEADER.replace(
        '[[fields]]\nsource = "msdyn_systemstatus"',
        '[[keys]]\nsource = "msdyn_workordersummary"\ntarget = "SalesOrderName"\n\n'
        '[[fields]]\nsource = "msdyn_systemstatus"',
    )
    refused(tmp_path, r"the header's key SalesOrderName is not mapped", header=two_keys)
    other = (
        LINES.replace('name = "lines"', 'name = "more"')
        .replace("msdyn_workorderservices", "msdyn_workorderproducts")
        .replace('navigation = "CDSSalesOrderLinesV2"', 'navigation = "Lines"')
    )
    (tmp_path / "more.toml").write_text(other)
    refused(tmp_path, r"lines of one header share one navigation")


def test_a_header_rule_must_write_fno_per_company(tmp_path: Path) -> None:
    no_company = HEADER.replace('company = "dataAreaId"\nfrozen_when', "frozen_when")
    refused(tmp_path, r"'orders' must write F&O records per company", header=no_company)
