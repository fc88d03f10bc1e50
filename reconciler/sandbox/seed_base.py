"""What every seed part shares: the companies, and a context that hands out reproducible
randomness, timestamps and ids and collects the manifest of planted drift."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from reconciler.sandbox.dataverse_store import format_timestamp
from reconciler.sandbox.ids import derived_id

if TYPE_CHECKING:
    from reconciler.sandbox.world import Sandbox

_EPOCH = datetime(2024, 1, 15, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Company:
    area: str
    legal_name: str
    country: str
    language: str
    cities: tuple[str, ...]
    prefix: str
    currency: str

    @property
    def business_unit(self) -> str:
        return f"Contoso {self.area.upper()}"


COMPANIES = (
    Company(
        "usmf",
        "Contoso Entertainment System USA",
        "USA",
        "en-us",
        ("Seattle", "Redmond", "Portland", "Chicago", "Dallas", "Atlanta"),
        "",
        "USD",
    ),
    Company(
        "demf",
        "Contoso Entertainment System Germany",
        "DEU",
        "de",
        ("Berlin", "Hamburg", "Munich", "Frankfurt", "Cologne"),
        "DE-",
        "EUR",
    ),
    Company(
        "gbsi",
        "Contoso Entertainment System UK",
        "GBR",
        "en-gb",
        ("London", "Manchester", "Leeds", "Bristol", "Glasgow"),
        "GB-",
        "GBP",
    ),
)
COMPANY_BY_AREA = {company.area: company for company in COMPANIES}


class SeedContext:
    """One seed run. ``rng`` drives the warehouse part; later parts take their own stream
    from ``fork`` so that adding a part never changes what an earlier part generated."""

    def __init__(self, sandbox: Sandbox, name: str, seed: int, part: str = "") -> None:
        self.sandbox = sandbox
        self.name = name
        self.seed = seed
        self.rng = random.Random(f"{name}:{seed}" + (f":{part}" if part else ""))
        self.manifest: dict[str, list[dict[str, Any]]] = {}
        self.sequence = 0

    def fork(self, part: str) -> SeedContext:
        """A context with its own random stream and clock that records into this manifest."""
        child = SeedContext(self.sandbox, self.name, self.seed, part)
        child.manifest = self.manifest
        return child

    def moment(self) -> str:
        """A reproducible timestamp after the epoch."""
        self.sequence += 1
        minutes = self.sequence * 7 + self.rng.randrange(5)
        return format_timestamp(_EPOCH + timedelta(minutes=minutes))

    def row_id(self, kind: str, *parts: str) -> str:
        """A GUID that depends only on the seed and what the row is."""
        return derived_id(kind, self.name, str(self.seed), *parts)

    def record(self, kind: str, entry: dict[str, Any]) -> None:
        self.manifest.setdefault(kind, []).append(entry)


def organisation(generator: SeedContext) -> None:
    """Legal entities, sites, the root business unit and one business unit per company."""
    sandbox = generator.sandbox
    root = sandbox.dataverse.root_business_unit_id()
    if root is not None:
        sandbox.dataverse.update("businessunits", root, {"name": "Contoso"})
    for company in COMPANIES:
        sandbox.fno.insert(
            "LegalEntities",
            {
                "LegalEntityId": company.area.upper(),
                "Name": company.legal_name,
                "CompanyName": company.legal_name,
                "AddressCountryRegionId": company.country,
                "LanguageId": company.language,
            },
        )
        for site in ("1", "2", "3"):
            sandbox.fno.insert(
                "OperationalSites",
                {"dataAreaId": company.area, "SiteId": site, "SiteName": f"Site {site}"},
            )
        unit_id = derived_id("businessunit", generator.name, company.area)
        sandbox.dataverse.insert(
            "businessunits",
            {
                "businessunitid": unit_id,
                "name": company.business_unit,
                "_parentbusinessunitid_value": root,
                "createdon": generator.moment(),
            },
        )
        sandbox.companies[company.area] = unit_id
