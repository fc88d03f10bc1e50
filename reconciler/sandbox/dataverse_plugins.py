"""Server-side logic that runs inside a Dataverse create, in the create's transaction.

Real Dataverse validates some columns in the platform (a product needs a unit group and a
default unit) and runs solution plugins (Field Service posts inventory adjustments). Each
table may have a check that runs before the row exists and an effect that runs after it was
written; both raise ServiceError to fail the create, and the writer rolls back whatever the
create already did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from reconciler.sandbox import fs_inventory
from reconciler.sandbox.dataverse_store import DataverseStore
from reconciler.sandbox.service_errors import ServiceError

Check = Callable[[DataverseStore, Mapping[str, Any]], None]
Effect = Callable[[DataverseStore, str], None]

# Observed answer of Dataverse to a product without a unit group; the default-unit message
# is the sandbox's own wording (same condition, no captured text).
UNIT_SCHEDULE_MISSING = "0x80043b0a"
INVALID_ARGUMENT = "0x80040203"


def require_product_units(store: DataverseStore, values: Mapping[str, Any]) -> None:
    """A product needs its unit group and default unit (both required by the platform)."""
    if values.get("_defaultuomscheduleid_value") is None:
        raise ServiceError(400, "The unit schedule id is missing.", code=UNIT_SCHEDULE_MISSING)
    if values.get("_defaultuomid_value") is None:
        raise ServiceError(
            400, "The default unit (defaultuomid) is missing.", code=INVALID_ARGUMENT
        )


CHECKS: dict[str, Check] = {
    "products": require_product_units,
    fs_inventory.LINES: fs_inventory.validate_line,
}
EFFECTS: dict[str, Effect] = {fs_inventory.LINES: fs_inventory.post_line}


class CreatePipeline:
    """Runs the registered check and effect of a table around a create."""

    def __init__(self, store: DataverseStore) -> None:
        self._store = store

    def check(self, entity_set: str, values: Mapping[str, Any]) -> None:
        check = CHECKS.get(entity_set)
        if check is not None:
            check(self._store, values)

    def after(self, entity_set: str, record_id: str) -> None:
        effect = EFFECTS.get(entity_set)
        if effect is not None:
            effect(self._store, record_id)
