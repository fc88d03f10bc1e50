"""The HTML report in headless Chromium: no script errors, totals, filter, sort, 50k rows.

Needs Debian's chromium (``.ci/install-browser``); without it these tests fail, not skip.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from reconciler.report.html import render_html
from reconciler.report.model import AuditView, kind_totals
from tests.report.browser import chromium
from tests.report.sample import big_view, sample_view


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


def open_report(browser: Browser, view: AuditView, folder: Path) -> tuple[Page, list[str]]:
    path = folder / "report.html"
    path.write_text(render_html(view), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(path.as_uri())
    return page, problems


def column(page: Page, table: str, css: str) -> list[str]:
    return page.locator(f"#{table} tbody td.{css}").all_inner_texts()


def test_report_reads_filters_and_sorts(browser: Browser, tmp_path: Path) -> None:
    view = sample_view()
    page, problems = open_report(browser, view, tmp_path)
    totals = kind_totals(view.plan.summary)
    for kind, count in totals.items():
        testid = "findings-all" if kind == "report" else f"total-{kind}"
        expect(page.get_by_test_id(testid)).to_have_text(str(count))
    expect(page.get_by_test_id("total-changes")).to_have_text(str(view.plan.changes_count()))
    expect(page.get_by_test_id("findings-error")).to_have_text("2")

    rows = page.locator("#actions tbody tr")
    expect(rows).to_have_count(8)
    expect(page.get_by_test_id("actions-count")).to_have_text("8 of 8 shown")
    page.get_by_test_id("actions-filter").fill("o'brien")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text('O\'BRIEN "north" & co')
    expect(page.get_by_test_id("actions-count")).to_have_text("1 of 1 shown (filtered from 8)")
    page.get_by_test_id("actions-filter").fill("")
    page.get_by_test_id("actions-kind").select_option("adjust")
    expect(rows).to_have_count(3)
    page.get_by_test_id("actions-kind").select_option("")
    expect(rows).to_have_count(8)
    script_row = page.locator("#actions tbody tr", has_text='<script>alert("x")</script>')
    expect(script_row).to_have_count(1)  # shown as text, never run

    header = page.locator("#actions th", has_text="Key")
    header.click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    ascending = column(page, "actions", "key")
    assert ascending[0].startswith("msdyn_name=Lager")
    header.click()
    expect(header).to_have_attribute("aria-sort", "descending")
    assert column(page, "actions", "key") == ascending[::-1]

    page.get_by_test_id("findings-severity").select_option("error")
    expect(page.locator("#findings tbody tr")).to_have_count(2)
    page.locator("#pairs th", has_text="Total").click()
    assert column(page, "pairs", "num")[-1] == "3"  # busiest rule/company last, ascending

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert problems == []


def test_fifty_thousand_actions_stay_responsive(browser: Browser, tmp_path: Path) -> None:
    view = big_view(50_000)
    started = time.monotonic()
    page, problems = open_report(browser, view, tmp_path)
    rows = page.locator("#actions tbody tr")
    expect(rows).to_have_count(100)
    loaded = time.monotonic() - started
    expect(page.get_by_test_id("actions-count")).to_have_text("100 of 50,008 shown")
    page.locator("#actions button.more").click()
    expect(rows).to_have_count(200)

    started = time.monotonic()
    page.get_by_test_id("actions-filter").fill("P-049999")
    expect(rows).to_have_count(1, timeout=10_000)
    page.get_by_test_id("actions-filter").fill("")
    expect(rows).to_have_count(100)
    page.locator("#actions th", has_text="Change").click()
    expect(page.locator("#actions th", has_text="Change")).to_have_attribute(
        "aria-sort", "ascending"
    )
    interactions = time.monotonic() - started
    # Generous bounds for a 2-core CI machine: the point is "no freeze", not a benchmark.
    assert loaded < 20 and interactions < 20, (loaded, interactions)
    assert problems == []
