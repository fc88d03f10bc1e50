"""Benchmark: the on-hand rule's plan stage at scale vs DuckDB's own full outer join.

Synthetic snapshot generated directly in DuckDB (no HTTP): ROWS on-hand rows across 5
companies x 50 warehouses, 1M released products (200k per company), about 1% drift of every
kind. Reported, measured in one run:

* snapshot-stage cost of deriving normalised columns and the prepared tables;
* the plan stage (``diff_rule`` for on-hand + dependency linking) wall time;
* DuckDB's full outer join on the same normalised keys (the practical limit) and the ratio;
* peak RSS of the process that plans; rows/s.

Run:  python -m tests.bench.bench_onhand_diff [--rows 10000000] [--dir /tmp/bench]
(or ``python -m pytest tests/bench/bench_onhand_diff.py -s`` for a 1M-row run). Not part of the
regular suite; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from reconciler.config import HttpSettings, Profile
from reconciler.rules import RuleSet, default_rules_dir, load_rules
from reconciler.snapshot import derive_table, prepare_all, staging_table

COMPANIES = 5
WAREHOUSES = 50
PRODUCTS_PER_COMPANY = 200_000
WARM_RUNS = 3
"""Warm runs of the join and the plan stage, alternating; the fastest of each is reported
(the machine's other work only ever adds time), with the ratio of the medians beside it."""


def bench_profile(folder: Path) -> Profile:
    return Profile(
        path=folder / "bench.toml",
        name="bench",
        fno_url="https://bench.operations.dynamics.com",
        dataverse_url="https://bench.crm.dynamics.com",
        tenant_id="t",
        client_id="c",
        client_secret_env="X",
        certificate_path=None,
        certificate_password_env=None,
        authority_host="https://login.microsoftonline.com",
        identity_endpoint=None,
        companies={f"c{c}": f"bu-{c}" for c in range(COMPANIES)},
        rules_dir=default_rules_dir(),
        snapshots_dir=folder,
        http=HttpSettings(),
    )


def onhand_rules() -> RuleSet:
    return load_rules(default_rules_dir(), only=["onhand"])


STAGING_SQL = {
    ("fno", "CDSReleasedDistinctProducts"): """
        SELECT 'P' || lpad(p::VARCHAR, 7, '0') AS ProductNumber, 'c' || c AS dataAreaId,
               'Product ' || p AS ProductName, '' AS ProductDescription,
               'Inventory' AS FieldServiceProductType, 'ea' AS SalesUnitSymbol,
               'ea' AS InventoryUnitSymbol, 2.0 AS SalesUnitDecimalPrecision,
               'I' || lpad(p::VARCHAR, 7, '0') AS ItemNumber, '' AS ProductColorId,
               '' AS ProductConfigurationId, '' AS ProductSizeId, '' AS ProductStyleId,
               '' AS ProductVersionId, 'W/"1"' AS _etag
        FROM range({companies}) c(c), range({products}) q(p)""",
    ("dataverse", "products"): """
        SELECT 'P' || lpad(p::VARCHAR, 7, '0') AS productnumber, 'p-' || p AS productid,
               'u-ea' AS _defaultuomid_value, 'u-ea' AS _msdynce_inventoryunit_value,
               'Product ' || p AS name, '' AS description,
               690970000.0 AS msdyn_fieldserviceproducttype, 2.0 AS quantitydecimal,
               'true' AS msdynce_ismaintainedexternally, 'W/"1"' AS _etag
        FROM range({products}) q(p)""",
    ("dataverse", "uoms"): """
        SELECT 'u-ea' AS uomid, 'ea' AS name, 's-1' AS _uomscheduleid_value, 'W/"1"' AS _etag""",
    ("dataverse", "uomschedules"): """
        SELECT 's-1' AS uomscheduleid, 'Default Unit' AS name, 'W/"1"' AS _etag""",
    ("dataverse", "msdyn_warehouses"): """
        SELECT 'WH' || w AS msdyn_name, 'bu-' || c AS _owningbusinessunit_value,
               'w-' || c || '-' || w AS msdyn_warehouseid, 'Warehouse ' || w AS msdyn_description,
               CASE WHEN w = 49 THEN 'false' ELSE 'true' END AS msdynce_ismaintainedexternally,
               'W/"1"' AS _etag
        FROM range({companies}) c(c), range({warehouses}) x(w)""",
    ("fno", "WarehousesOnHandV2"): """
        SELECT 'WH' || ((i // {companies}) % {warehouses}) AS InventoryWarehouseId,
               'c' || (i % {companies}) AS dataAreaId,
               CASE WHEN i % 1000 = 7 THEN 'X' ELSE 'I' END
                   || lpad((i // ({companies} * {warehouses}))::VARCHAR, 7, '0') AS ItemNumber,
               '' AS ProductColorId, '' AS ProductConfigurationId, '' AS ProductSizeId,
               '' AS ProductStyleId, '' AS ProductVersionId,
               CASE WHEN i % 2000 = 11 THEN -1.0 ELSE (i % 97) + 0.25 END AS OnHandQuantity,
               'W/"1"' AS _etag
        FROM range({rows}) r(i)""",
    ("dataverse", "msdyn_productinventories"): """
        SELECT 'pi-' || i AS msdyn_productinventoryid,
               'p-' || (i // ({companies} * {warehouses})) AS _msdyn_product_value,
               'w-' || (i % {companies}) || '-' || ((i // {companies}) % {warehouses})
                   AS _msdyn_warehouse_value,
               'u-ea' AS _msdyn_unit_value,
               CASE WHEN i % 1000 = 3 THEN (i % 97) + 1.75
                    WHEN i % 1000 = 5 THEN (i % 97) + 0.2504
                    ELSE (i % 97) + 0.25 END AS msdyn_qtyonhand,
               'W/"' || i || '"' AS _etag
        FROM range({rows}) r(i)
        WHERE i % 1000 NOT IN (1, 2, 4)
        UNION ALL
        SELECT 'po-' || i, 'p-' || ({products} - 1 - i), 'w-0-' || (i % 48), 'u-ea',
               5.0, 'W/"1"'
        FROM range({rows} // 500) r(i)""",
}


def build(db_path: Path, rows: int) -> dict[str, float]:
    """Generate the staged tables, then derive and prepare them as a snapshot would."""
    db_path.unlink(missing_ok=True)
    folder = db_path.parent
    rules = onhand_rules()
    profile = bench_profile(folder)
    params = {
        "rows": rows,
        "companies": COMPANIES,
        "warehouses": WAREHOUSES,
        "products": PRODUCTS_PER_COMPANY,
    }
    timings: dict[str, float] = {}
    with duckdb.connect(str(db_path), config=profile.engine.duckdb_config()) as con:
        started = time.perf_counter()
        for (system, entity), sql in STAGING_SQL.items():
            staged = staging_table(system, entity, None)
            con.execute(f'CREATE TABLE "{staged}" AS {sql.format(**params)}')
        timings["generate_s"] = time.perf_counter() - started
        started = time.perf_counter()
        for system, entity, filter in rules.reads():
            derive_table(con, profile, rules, system, entity, filter)
        timings["derive_s"] = time.perf_counter() - started
        started = time.perf_counter()
        prepare_all(con, rules, profile)
        timings["prepare_s"] = time.perf_counter() - started
    return timings


def measure(db_path: Path) -> dict[str, Any]:
    """In a fresh process: the FOJ reference, then the plan stage; peak RSS of this process."""
    from reconciler.diff import diff_rule
    from reconciler.planner import link_dependencies

    rules = onhand_rules()
    profile = bench_profile(db_path.parent)
    rule = rules.get("onhand")
    join_sql = (
        'SELECT count(*) FROM "prep__onhand__source" s '
        'FULL OUTER JOIN "prep__onhand__target" t '
        "ON s._company = t._company AND s.k0 = t.k0 AND s.k1 = t.k1"
    )
    config = profile.engine.duckdb_config()
    joins: list[float] = []
    plans: list[float] = []
    kinds: dict[str, int] = {}
    with duckdb.connect(str(db_path), read_only=True, config=config) as con:
        source_rows = con.execute('SELECT count(*) FROM "prep__onhand__source"').fetchone()[0]  # type: ignore[index]
        for _ in range(1 + WARM_RUNS):  # the first touches the file's pages (cold)
            started = time.perf_counter()
            con.execute(join_sql).fetchone()
            joins.append(time.perf_counter() - started)
            started = time.perf_counter()
            actions = link_dependencies(diff_rule(con, rule, profile.companies))
            plans.append(time.perf_counter() - started)
            kinds = {}
            for action in actions:
                label = action.finding or action.kind
                kinds[label] = kinds.get(label, 0) + 1
            del actions
    join_s, plan_s = min(joins[1:]), min(plans[1:])
    return {
        "source_rows": source_rows,
        "join_cold_s": joins[0],
        "plan_cold_s": plans[0],
        "join_warm_s": joins[1:],
        "plan_warm_s": plans[1:],
        "join_s": join_s,
        "plan_s": plan_s,
        "ratio": plan_s / join_s,
        "ratio_of_medians": statistics.median(plans[1:]) / statistics.median(joins[1:]),
        "ratio_cold": plans[0] / joins[0],
        "rows_per_s": source_rows / plan_s,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "actions": kinds,
    }


def run(rows: int, folder: Path) -> dict[str, object]:
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "bench_onhand.duckdb"
    built = build(db_path, rows)
    measured = subprocess.run(
        [sys.executable, "-m", "tests.bench.bench_onhand_diff", "--measure", str(db_path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return {"rows": rows, **built, **json.loads(measured.stdout)}


@pytest.mark.bench
def test_bench_onhand_diff(tmp_path: Path) -> None:
    result = run(1_000_000, tmp_path)
    print(json.dumps(result, indent=2))
    assert result["source_rows"] == 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/reconciler-bench"))
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    print(json.dumps(run(args.rows, args.dir), indent=2))


if __name__ == "__main__":
    main()
