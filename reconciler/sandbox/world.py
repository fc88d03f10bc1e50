"""The emulated world: both stores, identities, counters, faults and protection state.

Thread-safe through one re-entrant lock shared by both stores, because tests mutate the
world from their own thread while uvicorn serves it from another.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.datadir import load_data_dir
from reconciler.sandbox.dataverse_store import DataverseStore
from reconciler.sandbox.fno_store import FnoStore
from reconciler.sandbox.identity import TokenRegistry
from reconciler.sandbox.ids import derived_id
from reconciler.sandbox.protection import Faults, ServiceProtection
from reconciler.sandbox.seed import populate_seed
from reconciler.sandbox.state import Journal, Stats, Transaction


class Sandbox:
    """Everything a test or the demo can see and change.

    ``companies`` maps F&O legal entities (dataAreaId, lower case) to the FS business unit
    that represents them; ``seed_manifest`` lists the drift a seed planted.
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.lock = threading.RLock()
        self.journal = Journal(self.lock)
        self.app_user_id = derived_id("systemuser", self.config.client_id)
        self.organization_id = derived_id("organization", self.config.tenant_id)
        self.fno = FnoStore(self.lock, self.journal, self.config.fno_default_company)
        self.dataverse = DataverseStore(self.lock, self.journal, self.app_user_id)
        self.faults = Faults()
        self.stats = Stats()
        self.tokens = TokenRegistry()
        self.protection = ServiceProtection(self.config)
        self.companies: dict[str, str] = {}
        self.seed_manifest: dict[str, list[dict[str, Any]]] = {}
        self.dataverse.insert(
            "businessunits",
            {"businessunitid": derived_id("businessunit", "root"), "name": "Sandbox Organization"},
        )

    @contextmanager
    def atomic(self) -> Iterator[Transaction]:
        """All-or-nothing unit of writes (a ``$batch`` change set)."""
        with self.journal.atomic() as transaction:
            yield transaction

    def edit_dataverse_row(
        self, entity_set: str, record_id: str, changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Change a Dataverse row as a concurrent user would (e.g. between plan and apply):
        the same store update a PATCH makes, so ``versionnumber``/``@odata.etag``,
        ``modifiedon`` and change tracking all move. ``changes`` holds column values
        (lookups as ``_x_value``). Returns the new row with ``@odata.etag``; raises
        RecordNotFound when the row does not exist."""
        return self.dataverse.update(entity_set, record_id, changes)

    def edit_fno_row(
        self, entity_set: str, key: Mapping[str, Any], changes: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Change an F&O record as a concurrent user would: the same store update a PATCH
        makes, so its ``@odata.etag`` changes. ``key`` names every key field (``dataAreaId``
        included for company-specific entities). Returns the new row with ``@odata.etag``;
        raises RecordNotFound or InvalidRecord (unknown field, key change)."""
        return self.fno.update(entity_set, key, changes)

    def expire_change_tokens(self) -> None:
        """Make every Dataverse delta token issued so far expired, as if the retention period
        (``config.change_tracking_retention_s``) had passed; later tokens work as usual."""
        self.dataverse.expire_change_tokens()

    @classmethod
    def from_seed(
        cls,
        name: str = "demo",
        *,
        seed: int = 7,
        warehouses_per_company: int | None = None,
        config: SandboxConfig | None = None,
        onhand_rows: int | None = None,
        products: int | None = None,
        inventory_journals: bool | None = None,
    ) -> Sandbox:
        """A world generated deterministically from ``seed`` with every drift kind planted.

        ``"demo"`` takes ``warehouses_per_company`` and ``inventory_journals`` (FS
        adjustments/transfers and their SCM journals; on by default, ``False`` leaves them
        out); ``"bulk"`` (benchmarks) takes ``onhand_rows`` and ``products``. See seed.py for
        what each contains."""
        sandbox = cls(config)
        populate_seed(
            sandbox,
            name,
            seed=seed,
            warehouses_per_company=warehouses_per_company,
            onhand_rows=onhand_rows,
            products=products,
            inventory_journals=inventory_journals,
        )
        return sandbox

    @classmethod
    def from_data_dir(cls, path: Path, config: SandboxConfig | None = None) -> Sandbox:
        """A world loaded from ``path/fno/<Set>.json`` and ``path/dataverse/<set>.json``."""
        sandbox = cls(config)
        load_data_dir(sandbox, Path(path))
        return sandbox
