"""The Dataverse store's change log (what change tracking reads), without a server."""

from __future__ import annotations

import uuid

import pytest

from reconciler.sandbox import Sandbox
from reconciler.sandbox.state import DuplicateKey

WAREHOUSES = "msdyn_warehouses"


def _changes(sandbox: Sandbox, since: int) -> tuple[list[str], list[str]]:
    store = sandbox.dataverse
    upto = store.current_version()
    updated = [change.record_id for change in store.updated_since(WAREHOUSES, since, upto)]
    deleted = [change.record_id for change in store.deleted_since(WAREHOUSES, since, upto)]
    return updated, deleted


def test_each_row_once_by_its_last_change() -> None:
    sandbox = Sandbox()
    store = sandbox.dataverse
    first = store.insert(WAREHOUSES, {"msdyn_name": "a"})
    second = store.insert(WAREHOUSES, {"msdyn_name": "b"})
    since = store.current_version()
    store.update(WAREHOUSES, first, {"msdyn_name": "a1"})
    store.update(WAREHOUSES, second, {"msdyn_name": "b1"})
    store.update(WAREHOUSES, first, {"msdyn_name": "a2"})
    assert _changes(sandbox, since) == ([second, first], [])
    store.delete(WAREHOUSES, second)
    assert _changes(sandbox, since) == ([first], [second])
    store.insert(WAREHOUSES, {"msdyn_warehouseid": second, "msdyn_name": "back"})
    assert _changes(sandbox, since) == ([first, second], [])
    updated = store.updated_since(WAREHOUSES, since, store.current_version(), limit=1)
    assert [change.record_id for change in updated] == [first]


def test_rollback_removes_logged_changes() -> None:
    sandbox = Sandbox()
    store = sandbox.dataverse
    kept = store.insert(WAREHOUSES, {"msdyn_name": "kept"})
    since = store.current_version()
    with pytest.raises(RuntimeError), sandbox.atomic():
        store.update(WAREHOUSES, kept, {"msdyn_name": "undone"})
        store.delete(WAREHOUSES, kept)
        rows = [{"msdyn_warehouseid": str(uuid.uuid4()), "msdyn_name": "bulk"}]
        store.bulk_insert(WAREHOUSES, rows)
        raise RuntimeError("abort the unit")
    assert _changes(sandbox, since) == ([], [])
    assert [row["msdyn_name"] for row in store.rows(WAREHOUSES)] == ["kept"]
    store.update(WAREHOUSES, kept, {"msdyn_name": "real"})
    assert _changes(sandbox, since) == ([kept], [])


def test_bulk_insert_versions_stay_unique_after_a_bad_row() -> None:
    sandbox = Sandbox()
    store = sandbox.dataverse
    since = store.current_version()
    good = str(uuid.uuid4())
    rows = [{"msdyn_warehouseid": good, "msdyn_name": "x"}] * 2
    with pytest.raises(DuplicateKey):
        store.bulk_insert(WAREHOUSES, rows)
    later = store.insert(WAREHOUSES, {"msdyn_name": "later"})
    versions = {row["versionnumber"] for row in store.rows(WAREHOUSES)}
    assert len(versions) == store.count(WAREHOUSES)
    assert _changes(sandbox, since) == ([good, later], [])


def test_expiring_tokens_moves_the_oldest_valid_version() -> None:
    sandbox = Sandbox()
    store = sandbox.dataverse
    before = store.current_version()
    sandbox.expire_change_tokens()
    assert store.oldest_valid_version() == store.current_version() > before
