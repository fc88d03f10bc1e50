"""Typed view of the generated schema data, plus the few tables and columns the reference
lacks (business units, the integration solution's ``msdynce_*`` columns)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from types import MappingProxyType
from typing import Final

from reconciler.sandbox import dataverse_schema_data, fno_schema_data

FNO_NAMESPACE: Final = "Microsoft.Dynamics.DataEntities"
DATAVERSE_NAMESPACE: Final = "Microsoft.Dynamics.CRM"
FNO_EMPTY_DATE: Final = "1900-01-01T12:00:00Z"
_EMPTY_GUID: Final = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class EntityDef:
    """One F&O OData entity set: its keys and field types (codes as in fno_schema_data)."""

    entity_set: str
    type_name: str
    keys: tuple[str, ...]
    fields: Mapping[str, str]

    @property
    def company_specific(self) -> bool:
        """Entities keyed by dataAreaId are scoped to one legal entity (B1)."""
        return "dataAreaId" in self.keys

    @property
    def qualified_type(self) -> str:
        return f"{FNO_NAMESPACE}.{self.type_name}"

    def enum_type(self, name: str) -> str | None:
        """Enum type of a field, or None when the field is not an enum."""
        code = self.fields.get(name, "")
        return code[5:] if code.startswith("enum:") else None

    def default_row(self) -> dict[str, object]:
        """A new record as F&O initialises it: "" strings, 0 numbers, the empty date and each
        enum's zero member (see the Warehouses POST sample)."""
        return dict(_default_row(self.entity_set))


@cache
def _default_row(entity_set: str) -> Mapping[str, object]:
    fields = fno_schema_data.ENTITY_SETS[entity_set][2]
    return MappingProxyType({name: _fno_default(code) for name, code in fields.items()})


def _fno_default(code: str) -> object:
    if code.startswith("enum:"):
        members = fno_schema_data.ENUMS.get(code[5:], ())
        zero = [name for name, value in members if value == 0]
        return zero[0] if zero else None
    defaults: dict[str, object] = {
        "Edm.String": "",
        "Edm.Decimal": 0,
        "Edm.Int32": 0,
        "Edm.Int64": 0,
        "Edm.DateTimeOffset": FNO_EMPTY_DATE,
        "Edm.Guid": _EMPTY_GUID,
        "Edm.Boolean": False,
    }
    return defaults.get(code)


@cache
def enum_members(enum_type: str) -> tuple[str, ...] | None:
    """Member names of an F&O enum type, or None for an unknown type."""
    members = fno_schema_data.ENUMS.get(enum_type)
    return None if members is None else tuple(name for name, _ in members)


def _load_fno() -> dict[str, EntityDef]:
    return {
        name: EntityDef(name, type_name or name, keys, MappingProxyType(fields))
        for name, (type_name, keys, fields) in fno_schema_data.ENTITY_SETS.items()
    }


FNO_ENTITIES: Final[Mapping[str, EntityDef]] = MappingProxyType(_load_fno())


@dataclass(frozen=True)
class Binding:
    """A single-valued navigation property: ``<navigation>@odata.bind`` writes ``lookup``."""

    navigation: str
    lookup: str
    targets: tuple[str, ...]

    @property
    def value_property(self) -> str:
        return f"_{self.lookup}_value"


@dataclass(frozen=True)
class TableDef:
    """One Dataverse table. ``columns`` maps every readable property (plain columns, the
    primary id and ``_<lookup>_value`` properties) to a type code."""

    entity_set: str
    logical_name: str
    primary_id: str
    columns: Mapping[str, str]
    bindings: Mapping[str, Binding]
    option_sets: Mapping[str, Mapping[int, str]] = field(default_factory=dict)

    @property
    def qualified_type(self) -> str:
        return f"{DATAVERSE_NAMESPACE}.{self.logical_name}"

    @property
    def user_owned(self) -> bool:
        """User-owned rows carry an owner and an owning business unit."""
        return "_owningbusinessunit_value" in self.columns

    @cached_property
    def lookup_properties(self) -> tuple[str, ...]:
        """The ``_<lookup>_value`` properties of the table."""
        return tuple(n for n in self.columns if n.startswith("_") and n.endswith("_value"))

    @cached_property
    def _binding_by_property(self) -> Mapping[str, Binding]:
        return {binding.value_property: binding for binding in self.bindings.values()}

    def binding_for_lookup(self, value_property: str) -> Binding | None:
        """The navigation property that writes a given ``_x_value`` property."""
        return self._binding_by_property.get(value_property)


# Columns of the SCM integration solution that the reference lists only by name
# (fs-scm-templates.md; logical names partly inferred there). Rows loaded from a data
# folder may add further columns; DataverseStore learns them on load.
_INTEGRATION_COLUMNS: Final[dict[str, dict[str, str]]] = {
    "msdyn_warehouses": {"msdynce_ismaintainedexternally": "boolean"},
    "products": {
        "msdynce_ismaintainedexternally": "boolean",
        "msdynce_productnumber": "string",
    },
    "msdyn_workorders": {
        "msdynce_hasexternallymaintainedproductsonly": "boolean",
        "msdynce_headersystemstatus": "any",
    },
    # Work order lines (section 2): the header's status and flag copied onto each line, so
    # the line tasks can filter without a join. The reference's spelling, without "ly".
    "msdyn_workorderproducts": {
        "msdynce_headersystemstatus": "choice:msdyn_wosystemstatus",
        "msdynce_orderhasexternalmaintainedproductsonly": "boolean",
    },
    "msdyn_workorderservices": {
        "msdynce_headersystemstatus": "choice:msdyn_wosystemstatus",
        "msdynce_orderhasexternalmaintainedproductsonly": "boolean",
    },
    # Agreement invoices (section 3): "Has Lines With Agreement Origin" on the invoice and
    # "Has Agreement Origin" on its lines; logical names are this project's choice.
    "invoices": {"msdynce_haslineswithagreementorigin": "boolean"},
    "invoicedetails": {"msdynce_hasagreementorigin": "boolean"},
    # Adjustments and transfers (sections 6-7): "Post status", Created (1) or Posted (2);
    # logical name is this project's choice.
    "msdyn_inventoryadjustments": {"msdynce_poststatus": "choice:msdynce_poststatus"},
    "msdyn_inventorytransfers": {"msdynce_poststatus": "choice:msdynce_poststatus"},
}
_INTEGRATION_OPTION_SETS: Final[dict[str, tuple[tuple[int, str], ...]]] = {
    "msdynce_poststatus": ((1, "Created"), (2, "Posted")),
}

# Lookups the generated bindings lack but integrations write: owningbusinessunit is how
# a record is placed in a company's business unit (rules/warehouses.toml company_bind).
_EXTRA_BINDINGS: Final = (Binding("owningbusinessunit", "owningbusinessunit", ("businessunits",)),)

# Lookups the reference misses entirely (column and navigation): the integration solution's
# inventory unit on products (fs-scm-templates.md section 1, phase 2) and external project on
# work orders (section 8), and the unit group of a unit, which every uom has in Dataverse but
# XrmDefinitelyTyped listed without its binding.
_INTEGRATION_LOOKUPS: Final[dict[str, tuple[Binding, ...]]] = {
    "products": (Binding("msdynce_inventoryunit", "msdynce_inventoryunit", ("uoms",)),),
    "uoms": (Binding("uomscheduleid", "uomscheduleid", ("uomschedules",)),),
    "msdyn_workorders": (
        Binding(
            "msdynce_externalproject", "msdynce_externalproject", ("msdynce_externalprojects",)
        ),
    ),
}


def _business_units() -> TableDef:
    """The businessunits table (not in the FS reference): the org's company structure."""
    columns = {
        "businessunitid": "guid",
        "name": "string",
        "divisionname": "string",
        "isdisabled": "boolean",
        "createdon": "datetime",
        "modifiedon": "datetime",
        "versionnumber": "number",
        "_parentbusinessunitid_value": "guid",
        "_organizationid_value": "guid",
    }
    parent = Binding("parentbusinessunitid", "parentbusinessunitid", ("businessunits",))
    return TableDef(
        "businessunits",
        "businessunit",
        "businessunitid",
        MappingProxyType(columns),
        MappingProxyType({parent.navigation: parent}),
    )


def _external_projects() -> TableDef:
    """The integration solution's "External Project" table (fs-scm-templates.md section 8).
    Only its entity set name is documented; the column names are this project's choice:
    ``msdynce_projectid`` holds the SCM ProjectID, one row per company (business unit)."""
    columns = {
        "msdynce_externalprojectid": "guid",
        "msdynce_projectid": "string",
        "msdynce_name": "string",
        "msdynce_customeraccount": "string",
        "statecode": "choice",
        "statuscode": "choice",
        "createdon": "datetime",
        "modifiedon": "datetime",
        "versionnumber": "number",
        "_ownerid_value": "guid",
        "_owningbusinessunit_value": "guid",
    }
    owner = Binding("ownerid", "ownerid", ("systemusers", "teams"))
    bindings = {binding.navigation: binding for binding in (owner, *_EXTRA_BINDINGS)}
    return TableDef(
        "msdynce_externalprojects",
        "msdynce_externalproject",
        "msdynce_externalprojectid",
        MappingProxyType(columns),
        MappingProxyType(bindings),
    )


def _option_set(name: str) -> tuple[tuple[int, str], ...]:
    generated = dataverse_schema_data.OPTION_SETS.get(name)
    return generated if generated is not None else _INTEGRATION_OPTION_SETS.get(name, ())


def _standard_table(
    entity_set: str, logical: str, columns: dict[str, str], lookups: tuple[Binding, ...] = ()
) -> TableDef:
    """A platform table the FS reference does not list, with the columns the sandbox uses,
    the standard audit columns, and an owner when ``ownerid`` is among ``lookups``."""
    primary_id = f"{logical}id"
    full = {primary_id: "guid", **columns}
    full.update(
        statecode="choice",
        statuscode="choice",
        createdon="datetime",
        modifiedon="datetime",
        versionnumber="number",
    )
    bindings = {binding.navigation: binding for binding in lookups}
    for binding in lookups:
        full[binding.value_property] = "guid"
    if "ownerid" in bindings:
        full["_owningbusinessunit_value"] = "guid"
        for extra in _EXTRA_BINDINGS:
            bindings.setdefault(extra.navigation, extra)
    return TableDef(
        entity_set, logical, primary_id, MappingProxyType(full), MappingProxyType(bindings)
    )


def _accounts() -> TableDef:
    """Customers: a work order's service account and an invoice's customer. The SCM customer
    account is ``accountnumber`` (P2C's natural key, fs-scm-templates.md section 9.2)."""
    return _standard_table(
        "accounts",
        "account",
        {"name": "string", "accountnumber": "string"},
        (
            Binding("ownerid", "ownerid", ("systemusers", "teams")),
            Binding("transactioncurrencyid", "transactioncurrencyid", ("transactioncurrencies",)),
        ),
    )


def _currencies() -> TableDef:
    """Currencies (organisation-owned); SCM's CurrencyCode is ``isocurrencycode``."""
    return _standard_table(
        "transactioncurrencies",
        "transactioncurrency",
        {
            "isocurrencycode": "string",
            "currencyname": "string",
            "currencysymbol": "string",
            "currencyprecision": "number",
            "exchangerate": "number",
        },
    )


def _column_type(code: str) -> str:
    return "choice" if code.startswith("choice:") else code


def _table(entity_set: str) -> TableDef:
    logical, primary_id, raw_columns, lookups, raw_bindings = dataverse_schema_data.TABLES[
        entity_set
    ]
    raw_columns = {**raw_columns, **_INTEGRATION_COLUMNS.get(entity_set, {})}
    columns = {name: _column_type(code) for name, code in raw_columns.items()}
    columns[primary_id] = "guid"
    columns.update({f"_{lookup}_value": "guid" for lookup in lookups})
    bindings = {
        nav: Binding(nav, lookup, targets) for nav, (lookup, targets) in raw_bindings.items()
    }
    for added in _INTEGRATION_LOOKUPS.get(entity_set, ()):
        columns[added.value_property] = "guid"
        bindings.setdefault(added.navigation, added)
    for extra in _EXTRA_BINDINGS:
        if extra.value_property in columns:
            bindings.setdefault(extra.navigation, extra)
    options = {
        name: MappingProxyType(dict(_option_set(code[7:])))
        for name, code in raw_columns.items()
        if code.startswith("choice:")
    }
    return TableDef(
        entity_set,
        logical,
        primary_id,
        MappingProxyType(columns),
        MappingProxyType(bindings),
        MappingProxyType(options),
    )


def _load_dataverse() -> dict[str, TableDef]:
    tables = {name: _table(name) for name in dataverse_schema_data.TABLES}
    tables["businessunits"] = _business_units()
    tables["msdynce_externalprojects"] = _external_projects()
    tables["accounts"] = _accounts()
    tables["transactioncurrencies"] = _currencies()
    return tables


DATAVERSE_TABLES: Final[Mapping[str, TableDef]] = MappingProxyType(_load_dataverse())


def table_by_logical_name(logical_name: str) -> TableDef | None:
    """Reverse lookup used for ``@Microsoft.Dynamics.CRM.lookuplogicalname``."""
    for table in DATAVERSE_TABLES.values():
        if table.logical_name == logical_name:
            return table
    return None
