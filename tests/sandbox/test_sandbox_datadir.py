"""Loading worlds from folders of OData-shaped JSON files, and their error messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import Sandbox
from reconciler.sandbox.datadir import save_data_dir

UNIT = "5f1c9a34-7a0e-4a55-9b51-3c1f1f0f0a01"


def _write(path: Path, payload: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload) if not isinstance(payload, str) else payload)
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    _write(
        tmp_path / "fno" / "Warehouses.json",
        {
            "@odata.context": "https://x/data/$metadata#Warehouses",
            "value": [
                {
                    "@odata.etag": 'W/"old"',
                    "dataAreaId": "USMF",
                    "WarehouseId": "11",
                    "WarehouseName": "Main",
                },
                {"dataAreaId": "demf", "WarehouseId": "11", "WarehouseName": "Haupt"},
            ],
        },
    )
    _write(
        tmp_path / "dataverse" / "businessunits.json",
        {"value": [{"businessunitid": UNIT, "name": "Contoso USMF"}]},
    )
    _write(
        tmp_path / "dataverse" / "msdyn_warehouses.json",
        {
            "value": [
                {
                    "msdyn_name": "11",
                    "msdyn_description": "Main",
                    "_owningbusinessunit_value": UNIT,
                    "msdynce_ismaintainedexternally": True,
                },
            ]
        },
    )
    return tmp_path


def test_load_assigns_ids_etags_and_companies(folder: Path) -> None:
    sandbox = Sandbox.from_data_dir(folder)
    warehouses = sandbox.fno.rows("Warehouses")
    assert {row["dataAreaId"] for row in warehouses} == {"usmf", "demf"}
    assert all(row["@odata.etag"] != 'W/"old"' for row in warehouses)
    (fs,) = sandbox.dataverse.rows("msdyn_warehouses")
    assert fs["msdyn_warehouseid"] and fs["versionnumber"]
    assert sandbox.companies == {"usmf": UNIT}
    unit = sandbox.dataverse.get("businessunits", UNIT)
    assert unit is not None
    assert unit["_parentbusinessunitid_value"] == sandbox.dataverse.root_business_unit_id()


def test_companies_file_wins(folder: Path) -> None:
    _write(folder / "companies.json", {"DEMF": UNIT})
    assert Sandbox.from_data_dir(folder).companies == {"demf": UNIT}


def _without_etags(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "@odata.etag"} for row in rows]


def test_round_trip_through_save(tmp_path: Path) -> None:
    original = Sandbox.from_seed()
    save_data_dir(original, tmp_path)
    loaded = Sandbox.from_data_dir(tmp_path)
    assert _without_etags(loaded.fno.rows("Warehouses")) == _without_etags(
        original.fno.rows("Warehouses")
    )
    assert {r["msdyn_warehouseid"] for r in loaded.dataverse.rows("msdyn_warehouses")} == {
        r["msdyn_warehouseid"] for r in original.dataverse.rows("msdyn_warehouses")
    }
    assert loaded.companies == original.companies
    assert len(loaded.dataverse.rows("businessunits")) == 4


@pytest.mark.parametrize(
    ("relative", "content", "message"),
    [
        ("fno/Warehouse.json", {"value": []}, "'Warehouse' is not a known F&O entity set"),
        ("dataverse/warehouses.json", {"value": []}, "Known sets: accounts, businessunits"),
        ("fno/Warehouses.json", "{not json", "not readable as JSON"),
        ("fno/Warehouses.json", [], "OData collection shape"),
        ("fno/Warehouses.json", {"value": [1]}, "value[0] is not a JSON object"),
        (
            "fno/Warehouses.json",
            {"value": [{"WarehouseId": "1", "Colour": "x"}]},
            "value[0]: invalid row: The property 'Colour' does not exist",
        ),
        (
            "fno/Warehouses.json",
            {"value": [{"WarehouseId": "a"}, {"WarehouseId": "A "}]},
            "value[1]: duplicate key",
        ),
        (
            "dataverse/msdyn_warehouses.json",
            {"value": [{"msdyn_warehouseid": "nope"}]},
            "'nope' is not a valid GUID",
        ),
        ("companies.json", {"usmf": "not-a-guid"}, "is not a GUID"),
        ("companies.json", {"usmf": UNIT}, "is not in dataverse/businessunits.json"),
        ("fno/readme.txt", "hello", "only <entity set>.json files"),
    ],
)
def test_bad_files_name_the_file(tmp_path: Path, relative: str, content: Any, message: str) -> None:
    (tmp_path / "fno").mkdir()
    path = _write(tmp_path / relative, content)
    with pytest.raises(ValueError) as error:
        Sandbox.from_data_dir(tmp_path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_folder_without_service_folders(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected a 'fno' and/or 'dataverse' sub-folder"):
        Sandbox.from_data_dir(tmp_path)
    with pytest.raises(ValueError, match="not a directory"):
        Sandbox.from_data_dir(tmp_path / "missing")
