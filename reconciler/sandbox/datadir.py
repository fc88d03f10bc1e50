"""Worlds stored as folders of JSON files, one per entity set, in OData collection shape::

    DIR/fno/<EntitySet>.json         {"value": [{...}, ...]}   e.g. fno/Warehouses.json
    DIR/dataverse/<entityset>.json   {"value": [{...}, ...]}   e.g. dataverse/businessunits.json
    DIR/companies.json               {"usmf": "<business unit GUID>", ...}   (optional)

``@odata.*`` annotations in rows are ignored; ETags, version numbers and missing Dataverse
primary ids are assigned on load. Business units without a parent are placed under the
sandbox's root business unit (a row carrying the root's own id updates it instead).
Without companies.json, a business unit maps to a company when its name, or the last word
of its name, equals a dataAreaId found in the F&O files (case-insensitive): "usmf" and
"Contoso USMF" both map to usmf. Any problem raises ValueError naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.sandbox.dataverse_store import normalize_id
from reconciler.sandbox.schema import DATAVERSE_TABLES, FNO_ENTITIES
from reconciler.sandbox.state import DuplicateKey, InvalidRecord, StoreError

if TYPE_CHECKING:
    from reconciler.sandbox.world import Sandbox


def _rows(path: Path) -> list[dict[str, Any]]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not readable as JSON ({exc})") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("value"), list):
        raise ValueError(f'{path}: expected an object {{"value": [...]}} (OData collection shape)')
    rows = payload["value"]
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"{path}: value[{index}] is not a JSON object")
    return [{k: v for k, v in row.items() if not k.startswith("@")} for row in rows]


def _files(folder: Path, known: set[str], system: str) -> Iterator[tuple[str, Path]]:
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        if path.suffix != ".json":
            raise ValueError(f"{path}: only <entity set>.json files belong in {folder}")
        if path.stem not in known:
            raise ValueError(
                f"{path}: '{path.stem}' is not a known {system} entity set (names are "
                f"case-sensitive). Known sets: {', '.join(sorted(known))}"
            )
        yield path.stem, path


def _load_fno(sandbox: Sandbox, folder: Path) -> set[str]:
    """F&O rows; returns the dataAreaIds seen (for deriving the company map)."""
    areas: set[str] = set()
    for entity_set, path in _files(folder, set(FNO_ENTITIES), "F&O"):
        for index, row in enumerate(_rows(path)):
            try:
                key = sandbox.fno.insert(entity_set, row)
            except StoreError as exc:
                raise ValueError(f"{path}: value[{index}]: {_describe(exc)}") from None
            if "dataAreaId" in key:
                areas.add(str(key["dataAreaId"]).lower())
            if entity_set == "LegalEntities":
                areas.add(str(row.get("LegalEntityId", "")).lower())
    return areas


def _load_dataverse(sandbox: Sandbox, folder: Path) -> None:
    files = dict(_files(folder, set(DATAVERSE_TABLES), "Dataverse"))
    ordered = sorted(files, key=lambda name: name != "businessunits")
    for entity_set in ordered:
        path = files[entity_set]
        for index, row in enumerate(_rows(path)):
            try:
                _insert_dataverse(sandbox, entity_set, row)
            except StoreError as exc:
                raise ValueError(f"{path}: value[{index}]: {_describe(exc)}") from None


def _insert_dataverse(sandbox: Sandbox, entity_set: str, row: dict[str, Any]) -> None:
    store = sandbox.dataverse
    if entity_set != "businessunits":
        store.insert(entity_set, row)
        return
    root = store.root_business_unit_id()
    given = row.get("businessunitid")
    if given is not None and root is not None and normalize_id(given) == root:
        store.update(entity_set, root, row)
        return
    if row.get("_parentbusinessunitid_value") is None:
        row = {**row, "_parentbusinessunitid_value": root}
    store.insert(entity_set, row)


def _describe(exc: StoreError) -> str:
    kind = "duplicate key" if isinstance(exc, DuplicateKey) else "invalid row"
    return f"{kind}: {exc}"


def _load_companies(sandbox: Sandbox, path: Path) -> dict[str, str]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not readable as JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise ValueError(f'{path}: expected an object {{"<dataAreaId>": "<business unit GUID>"}}')
    companies: dict[str, str] = {}
    for area, unit in payload.items():
        try:
            unit_id = normalize_id(unit)
        except InvalidRecord:
            raise ValueError(f"{path}: company '{area}': '{unit}' is not a GUID") from None
        if sandbox.dataverse.record("businessunits", unit_id) is None:
            raise ValueError(
                f"{path}: company '{area}': business unit {unit_id} is not in "
                "dataverse/businessunits.json"
            )
        companies[str(area).lower()] = unit_id
    return companies


def _derive_companies(sandbox: Sandbox, areas: set[str]) -> dict[str, str]:
    companies: dict[str, str] = {}
    for row in sandbox.dataverse.rows("businessunits"):
        name = str(row.get("name") or "").strip().lower()
        words = name.split()
        for candidate in (name, words[-1] if words else ""):
            if candidate in areas and candidate not in companies:
                companies[candidate] = str(row["businessunitid"])
                break
    return companies


def load_data_dir(sandbox: Sandbox, path: Path) -> None:
    """Load a data folder into an empty Sandbox (see the module docstring for the layout)."""
    if not path.is_dir():
        raise ValueError(f"{path}: not a directory")
    if not (path / "fno").is_dir() and not (path / "dataverse").is_dir():
        raise ValueError(f"{path}: expected a 'fno' and/or 'dataverse' sub-folder of JSON files")
    areas = _load_fno(sandbox, path / "fno")
    _load_dataverse(sandbox, path / "dataverse")
    companies_file = path / "companies.json"
    if companies_file.exists():
        sandbox.companies = _load_companies(sandbox, companies_file)
    else:
        sandbox.companies = _derive_companies(sandbox, areas - {""})


def save_data_dir(sandbox: Sandbox, path: Path) -> None:
    """Write a Sandbox as a data folder that ``load_data_dir`` reads back."""
    for system, names, rows_of in (
        ("fno", FNO_ENTITIES, sandbox.fno.rows),
        ("dataverse", DATAVERSE_TABLES, sandbox.dataverse.rows),
    ):
        folder = path / system
        folder.mkdir(parents=True, exist_ok=True)
        for entity_set in names:
            rows = [{k: v for k, v in row.items() if "@" not in k} for row in rows_of(entity_set)]
            if rows:
                text = json.dumps({"value": rows}, indent=1, ensure_ascii=False)
                (folder / f"{entity_set}.json").write_text(text + "\n", encoding="utf-8")
    companies = json.dumps(sandbox.companies, indent=1)
    (path / "companies.json").write_text(companies + "\n", encoding="utf-8")
