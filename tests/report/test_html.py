"""The HTML page without a browser: self-contained, escaped, totals in the markup."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html.parser import HTMLParser

from reconciler.report.html import render_html
from reconciler.report.model import AuditView
from tests.report.sample import SCRIPT_KEY, act, plan_of, sample_view, tricky_actions, view_of

DATA_BLOCK = re.compile(
    r'<script type="application/json" id="report-data">(.*?)</script>', re.DOTALL
)


class Collect(HTMLParser):
    """Every tag, attribute and non-data script/style text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.code: list[str] = []
        self.testids: dict[str, str] = {}
        self._testid: str | None = None
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [f"{name}={value}" for name, value in attrs]
        values = dict(attrs)
        self._testid = values.get("data-testid")
        self._in_code = tag == "style" or (tag == "script" and "type" not in values)

    def handle_endtag(self, tag: str) -> None:
        self._in_code = False

    def handle_data(self, data: str) -> None:
        if self._in_code:
            self.code.append(data)
        if self._testid:
            self.testids[self._testid] = data
            self._testid = None


def parse(html: str) -> Collect:
    collect = Collect()
    collect.feed(html)
    return collect


def data_of(html: str) -> dict[str, list[list[object]]]:
    match = DATA_BLOCK.search(html)
    assert match is not None
    result: dict[str, list[list[object]]] = json.loads(match.group(1))
    return result


def hostile_view() -> AuditView:
    link = act("products", "report", "usmf", {"productnumber": "https://evil.example/x.js"},
               finding="orphan", message="see http://evil.example/pixel.png")  # fmt: skip
    actions = [*tricky_actions(), link]
    view = view_of(plan_of(actions))
    return replace(view, profile='<img src="https://evil.example/p.png">', reasons=("a<b",))


def test_no_external_resources_anywhere_but_data_text() -> None:
    view = hostile_view()
    html = render_html(view)
    page = parse(html)
    for text in page.attributes + page.code:
        assert "http://" not in text and "https://" not in text, text
    assert not [a for a in page.attributes if a.startswith(("src=", "href=", "srcset="))]
    assert "@import" not in html and "url(" not in html
    assert set(page.tags) >= {"style", "script", "svg"}
    assert "link" not in page.tags and "img" not in page.tags and "iframe" not in page.tags
    assert "https://evil.example/x.js" in json.dumps(data_of(html))


def test_all_data_is_escaped() -> None:
    html = render_html(hostile_view())
    assert html.count("<script") == 2
    assert "<img" not in html and "&lt;img src=&quot;https://evil.example/p.png&quot;&gt;" in html
    assert "<li>a&lt;b</li>" in html
    block = DATA_BLOCK.search(html)
    assert block is not None and "<" not in block.group(1) and "&" not in block.group(1)
    keys = [row[3] for row in data_of(html)["actions"]]
    assert f"productnumber={SCRIPT_KEY}" in keys
    assert 'msdyn_name=O\'BRIEN "north" & co' in keys
    assert "msdyn_name=Lager Düsseldorf 倉庫 ✓" in keys


def test_totals_are_in_the_markup_with_test_ids() -> None:
    ids = parse(render_html(sample_view())).testids
    totals = {k: v for k, v in ids.items() if k.startswith(("total-", "findings-", "delta-"))}
    assert totals == {
        "total-changes": "8", "total-create": "3", "total-update": "2", "total-adjust": "3",
        "total-deactivate": "0", "findings-all": "4",
        "findings-error": "2", "findings-warning": "1", "findings-info": "1",
        "delta-new": "3", "delta-persisted": "9", "delta-resolved": "2",
    }  # fmt: skip
    assert ids["exit-code"] == "exit 2"
    assert ids["status"] == "Drift audit: drift found, 1 limit breached"


def test_table_rows_travel_as_json() -> None:
    data = data_of(render_html(sample_view()))
    assert len(data["actions"]) == 8 and len(data["findings"]) == 4
    assert data["findings"][0][:3] == ["error", "products", "key_in_several_companies"]
    assert data["pairs"][0] == ["products", "", 0, 0, 0, 1, 1]
    assert data["delta"] == [["products", 3, 1, 2], ["onhand", 0, 4, 0]]


def test_charts_are_inline_svg_with_history_and_this_run() -> None:
    html = render_html(sample_view())
    assert html.count('<svg class="chart"') == 2
    assert "Nov 23 02:00 · adjust: 5" in html  # oldest run's bar tooltip
    assert 'class="ax current-label"' in html


def test_first_run_and_clean_run_render() -> None:
    first = render_html(view_of(plan_of(tricky_actions()), with_history=False))
    assert "Earlier runs appear here once the audit has a history." in first
    assert "delta-new" not in first
    clean = render_html(replace(view_of(plan_of([])), breaches=(), exit_code=0))
    assert "No drift: SCM and FS agree for every rule." in clean
    assert 'class="top status-ok"' in clean


def test_deterministic() -> None:
    assert render_html(sample_view()) == render_html(sample_view())
