"""The HTML report's stylesheet and script, inlined into every page (no external resources).

Kept as constants rather than package files so rendering stays a pure function.
The script renders table rows from the page's JSON block a page at a time, so a plan of
50,000 actions opens at once; sorting and filtering work on the data, not on the DOM.
"""

from __future__ import annotations

__all__ = ["CSS", "JS"]

CSS = """
:root {
  --bg: #f5f6f8; --panel: #fff; --panel-2: #f0f2f5; --text: #1f2328; --muted: #5f6b76;
  --line: #dde1e6; --focus: #0969da;
  --create: #2b8a3e; --update: #d08c00; --adjust: #0b7285; --deactivate: #c92a2a;
  --report: #6741d9;
  --error: #c92a2a; --warning: #c77700; --info: #1971c2;
  --ok: #2b8a3e; --drift: #c77700; --fail: #c92a2a;
  --s0: #3b5bdb; --s1: #0ca678; --s2: #f76707; --s3: #ae3ec9; --s4: #1098ad;
  --s5: #d6336c; --s6: #74b816; --s7: #868e96;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111418; --panel: #1a1e24; --panel-2: #222831; --text: #e6e9ee; --muted: #9aa4af;
    --line: #2f3640; --focus: #4dabf7;
    --create: #51cf66; --update: #fcc419; --adjust: #3bc9db; --deactivate: #ff6b6b;
    --report: #9775fa; --error: #ff6b6b; --warning: #fcc419; --info: #4dabf7;
    --ok: #51cf66; --drift: #fcc419; --fail: #ff6b6b;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    sans-serif;
}
code, td.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12px; }
header.top {
  background: var(--panel); border-bottom: 1px solid var(--line);
  border-top: 4px solid var(--status); padding: 18px 0 16px;
}
.wrap { max-width: 1280px; margin: 0 auto; padding: 0 28px; }
.status-ok { --status: var(--ok); } .status-drift { --status: var(--drift); }
.status-fail { --status: var(--fail); }
.pill {
  display: inline-block; padding: 1px 10px; border-radius: 999px; font-size: 12px;
  font-weight: 600; color: var(--status);
  background: color-mix(in srgb, var(--status) 14%, transparent);
}
h1 { font-size: 22px; margin: 6px 0 8px; font-weight: 650; }
h2 { font-size: 15px; margin: 0 0 10px; font-weight: 650; }
h2 .hint { font-weight: 400; color: var(--muted); font-size: 13px; margin-left: 6px; }
.meta { display: flex; flex-wrap: wrap; gap: 2px 22px; margin: 0; color: var(--muted);
  font-size: 13px; }
.meta div { display: flex; gap: 6px; } .meta dt { font-weight: 600; } .meta dd { margin: 0; }
main { padding-top: 8px; padding-bottom: 48px; }
section { margin-top: 24px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 16px; }
.alerts { display: grid; gap: 10px; }
.alert { border-left: 4px solid var(--fail); }
.alert-ok { border-left-color: var(--ok); }
.alert ul { margin: 6px 0 0; padding-left: 20px; }
.alert li + li { margin-top: 4px; }
.totals { display: grid; grid-auto-flow: column; grid-auto-columns: auto; gap: 12px;
  margin-top: 20px; }
@media (max-width: 1100px) { .totals { grid-auto-flow: row; } }
.group { display: flex; flex-direction: column; gap: 10px; padding: 12px 16px 14px; }
.group .head { display: grid; grid-template-columns: auto 1fr; column-gap: 10px;
  align-items: baseline; }
.group .head .label { grid-column: 1 / -1; }
.label { font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em;
  font-weight: 600; }
.big { font-size: 32px; font-weight: 700; line-height: 1.15; font-variant-numeric: tabular-nums; }
.note { font-size: 12px; color: var(--muted); }
.stats { display: flex; gap: 10px 22px; flex-wrap: wrap; }
.stat { display: flex; flex-direction: column; border-left: 3px solid var(--c, var(--line));
  padding-left: 9px; }
.stat .value { font-size: 22px; font-weight: 650; line-height: 1.2;
  font-variant-numeric: tabular-nums; }
.zero { color: var(--muted); font-weight: 500; }
.split { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); gap: 16px;
  margin-top: 24px; align-items: start; }
.split > section { margin-top: 0; }
@media (max-width: 900px) { .split { grid-template-columns: minmax(0, 1fr); } }
.c-create { --c: var(--create); } .c-update { --c: var(--update); }
.c-adjust { --c: var(--adjust); } .c-deactivate { --c: var(--deactivate); }
.c-report { --c: var(--report); } .c-error { --c: var(--error); }
.c-warning { --c: var(--warning); } .c-info { --c: var(--info); }
.c-new { --c: var(--fail); } .c-persisted { --c: var(--muted); } .c-resolved { --c: var(--ok); }
.charts { display: grid;
  grid-template-columns: repeat(auto-fit, minmax(min(440px, 100%), 1fr));
  gap: 12px; }
.charts figure { margin: 0; }
.charts figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { width: 100%; height: auto; display: block; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .ax { fill: var(--muted); font-size: 11px; }
svg .current-label { fill: var(--text); font-weight: 600; }
svg .current { fill: none; stroke: var(--text); stroke-width: 1.2; stroke-dasharray: 3 2; }
.f-create { fill: var(--create); } .f-update { fill: var(--update); }
.f-adjust { fill: var(--adjust); } .f-deactivate { fill: var(--deactivate); }
.f-report { fill: var(--report); }
polyline { fill: none; stroke-width: 2; stroke-linejoin: round; }
.s-0 { stroke: var(--s0); fill: var(--s0); } .s-1 { stroke: var(--s1); fill: var(--s1); }
.s-2 { stroke: var(--s2); fill: var(--s2); } .s-3 { stroke: var(--s3); fill: var(--s3); }
.s-4 { stroke: var(--s4); fill: var(--s4); } .s-5 { stroke: var(--s5); fill: var(--s5); }
.s-6 { stroke: var(--s6); fill: var(--s6); } .s-7 { stroke: var(--s7); fill: var(--s7); }
polyline[class^="s-"] { fill: none; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; color: var(--muted);
  margin: 4px 0 0 44px; padding: 0; list-style: none; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 5px; vertical-align: -1px; background: var(--c); }
.legend .s-0 { --c: var(--s0); } .legend .s-1 { --c: var(--s1); }
.legend .s-2 { --c: var(--s2); } .legend .s-3 { --c: var(--s3); }
.legend .s-4 { --c: var(--s4); } .legend .s-5 { --c: var(--s5); }
.legend .s-6 { --c: var(--s6); } .legend .s-7 { --c: var(--s7); }
.legend .k-create { --c: var(--create); } .legend .k-update { --c: var(--update); }
.legend .k-adjust { --c: var(--adjust); } .legend .k-deactivate { --c: var(--deactivate); }
.legend .k-report { --c: var(--report); }
.note { color: var(--muted); font-size: 13px; margin: 6px 0 0; }
.toolbar { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-bottom: 8px; }
.toolbar input, .toolbar select, button.more {
  font: inherit; color: var(--text); background: var(--panel); border: 1px solid var(--line);
  border-radius: 6px; padding: 5px 9px;
}
.toolbar input { flex: 0 1 320px; }
.toolbar input:focus, .toolbar select:focus, button:focus-visible {
  outline: 2px solid var(--focus); outline-offset: 1px; }
.count { color: var(--muted); font-size: 12px; margin-left: auto; }
.tablewrap { border: 1px solid var(--line); border-radius: 8px; overflow: auto;
  max-height: 75vh; background: var(--panel); }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
tbody tr:last-child td { border-bottom: 0; }
tbody tr:hover td { background: color-mix(in srgb, var(--focus) 5%, transparent); }
thead th { position: sticky; top: 0; z-index: 1; background: var(--panel-2); font-weight: 600;
  white-space: nowrap; }
thead th { cursor: pointer; user-select: none; }
th button { all: unset; }
th button:focus-visible { outline: 2px solid var(--focus); }
th[aria-sort="ascending"] button::after { content: " \\25B2"; font-size: 9px; }
th[aria-sort="descending"] button::after { content: " \\25BC"; font-size: 9px; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num.zero { color: var(--muted); }
tfoot td { font-weight: 600; background: var(--panel-2); border-bottom: 0; }
td.detail { white-space: pre-line; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas,
  monospace; font-size: 12px; }
td.key { word-break: break-word; min-width: 14em; }
td.empty { color: var(--muted); }
.badge { display: inline-block; padding: 0 8px; border-radius: 999px; font-size: 12px;
  font-weight: 600; color: var(--c); background: color-mix(in srgb, var(--c) 13%, transparent);
  white-space: nowrap; }
.k-create { --c: var(--create); } .k-update { --c: var(--update); }
.k-adjust { --c: var(--adjust); } .k-deactivate { --c: var(--deactivate); }
.k-report { --c: var(--report); } .k-error { --c: var(--error); }
.k-warning { --c: var(--warning); } .k-info { --c: var(--info); }
.k-new { --c: var(--fail); } .k-persisted { --c: var(--muted); }
button.more { display: block; margin: 10px auto 0; cursor: pointer; }
button.more[hidden] { display: none; }
footer { color: var(--muted); font-size: 12px; margin-top: 32px; }
"""

JS = """
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const number = new Intl.NumberFormat("en-US");
  const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });
  const BADGES = new Set(["kind", "severity", "since"]);

  function cell(value, type) {
    const td = document.createElement("td");
    if (value === "" || value === null || value === undefined) {
      td.className = "empty";
      td.textContent = "\\u2014";
    } else if (BADGES.has(type)) {
      const badge = document.createElement("span");
      badge.className = "badge k-" + value;
      badge.textContent = value;
      td.appendChild(badge);
    } else {
      td.textContent = type === "num" ? number.format(value) : value;
      if (type === "num" && value === 0) td.classList.add("zero");
    }
    td.classList.add(type);
    return td;
  }

  function compare(type, column, direction) {
    if (type === "num") {
      return (a, b) => direction * (a[column] - b[column]);
    }
    return (a, b) => direction * collator.compare(String(a[column]), String(b[column]));
  }

  function table(section) {
    const rows = data[section.dataset.table];
    const headers = Array.from(section.querySelectorAll("thead th"));
    const types = headers.map((th) => th.dataset.type);
    const body = section.querySelector("tbody");
    const search = section.querySelector("input[type=search]");
    const selects = Array.from(section.querySelectorAll("select[data-col]"));
    const count = section.querySelector("[data-role=count]");
    const more = section.querySelector("button.more");
    const page = Number(section.dataset.page || "0") || Infinity;
    let haystack = null;
    let order = rows.map((_, index) => index);
    let visible = order;
    let shown = page;

    function text(index) {
      if (haystack === null) {
        haystack = rows.map((row) => row.join("\\u0001").toLowerCase());
      }
      return haystack[index];
    }

    function filter() {
      const terms = search ? search.value.toLowerCase().split(/\\s+/).filter(Boolean) : [];
      const wanted = selects
        .filter((select) => select.value !== "")
        .map((select) => [Number(select.dataset.col), select.value]);
      visible = order.filter(
        (index) =>
          wanted.every(([column, value]) => rows[index][column] === value) &&
          terms.every((term) => text(index).includes(term))
      );
      shown = page;
      draw();
    }

    function draw() {
      const fragment = document.createDocumentFragment();
      const limit = Math.min(shown, visible.length);
      for (let i = 0; i < limit; i += 1) {
        const row = rows[visible[i]];
        const tr = document.createElement("tr");
        types.forEach((type, column) => tr.appendChild(cell(row[column], type)));
        fragment.appendChild(tr);
      }
      if (!visible.length) {
        const tr = document.createElement("tr");
        const td = document.createElement("td");
        td.colSpan = types.length;
        td.className = "empty";
        td.textContent = rows.length ? "No rows match the filter." : "Nothing to show.";
        tr.appendChild(td);
        fragment.appendChild(tr);
      }
      body.replaceChildren(fragment);
      if (count) {
        let label = number.format(limit) + " of " + number.format(visible.length) + " shown";
        if (visible.length !== rows.length) {
          label += " (filtered from " + number.format(rows.length) + ")";
        }
        count.textContent = label;
      }
      if (more) {
        const rest = visible.length - limit;
        more.hidden = rest <= 0;
        more.textContent =
          "Show " + number.format(Math.min(page, rest)) + " more (" +
          number.format(rest) + " not shown)";
      }
    }

    function sort(column) {
      const th = headers[column];
      const direction = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      headers.forEach((other) => other.setAttribute("aria-sort", "none"));
      th.setAttribute("aria-sort", direction === 1 ? "ascending" : "descending");
      const byColumn = compare(types[column], column, direction);
      order = rows
        .map((_, index) => index)
        .sort((a, b) => byColumn(rows[a], rows[b]) || a - b);
      filter();
    }

    headers.forEach((th, column) => th.addEventListener("click", () => sort(column)));
    let timer = 0;
    if (search) {
      search.addEventListener("input", () => {
        clearTimeout(timer);
        timer = setTimeout(filter, rows.length > 5000 ? 150 : 0);
      });
    }
    selects.forEach((select) => select.addEventListener("change", filter));
    if (more) {
      more.addEventListener("click", () => {
        shown += page;
        draw();
      });
    }
    draw();
  }

  document.querySelectorAll("section[data-table]").forEach(table);
})();
"""
