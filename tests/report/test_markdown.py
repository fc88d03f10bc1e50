"""The chat / job-summary markdown: short, escaped, deterministic."""

from __future__ import annotations

from dataclasses import replace

from reconciler.report.markdown import render_markdown
from tests.report.sample import act, plan_of, sample_view, view_of


def test_summary_has_title_table_breaches_findings_delta_and_ids() -> None:
    text = render_markdown(sample_view())
    lines = text.splitlines()
    assert lines[0] == "## Drift audit: drift found, 1 limit breached (exit 2)"
    assert "| rule | create | update | adjust | report | total |" in lines
    assert "deactivate" not in lines[2]  # zero column left out
    assert "| onhand | 0 | 0 | 3 | 1 | 4 |" in lines
    assert "| **total** | **3** | **2** | **3** | **4** | **12** |" in lines
    assert "- `onhand:adjust>2`: 3 (limit 2). On-hand adjustments above the nightly limit." in lines
    assert "**Findings** (2 error, 1 warning, 1 info)" in lines
    assert "**Since run `run-2026-11-25`**: 3 new, 9 persisted, 2 resolved" in lines
    assert "| products | 3 | 1 | 2 |" in lines
    assert lines[-1].startswith("Run `run-2026-11-26` · started 2026-11-26T02:00:00Z")
    assert "snapshot `sha256:5d207042b7cb0f15`" in lines[-1]


def test_data_is_escaped_so_no_html_or_markdown_leaks() -> None:
    text = render_markdown(sample_view())
    assert "<b>" not in text and "</script>" not in text
    assert 'SCM on-hand is negative &lt;b&gt;-3&lt;/b&gt; &amp; "odd" &lt;/script&gt;' in text
    assert "msdyn\\_name=ALT-99" in text


def test_findings_are_capped_with_and_more() -> None:
    reports = [
        act("products", "report", "usmf", {"productnumber": f"P-{i:03d}"}, finding="orphan",
            message=f"orphan {i}")
        for i in range(25)
    ]  # fmt: skip
    plan = plan_of(reports)
    view = replace(view_of(plan), severities={})
    text = render_markdown(view)
    finding_lines = [line for line in text.splitlines() if line.startswith("- **warning**")]
    assert len(finding_lines) == 10
    assert "- … and 15 more" in text


def test_clean_run_is_one_line_of_good_news() -> None:
    view = replace(view_of(plan_of([]), with_history=False), breaches=(), exit_code=0)
    text = render_markdown(view)
    assert text.startswith("## Drift audit: no drift (exit 0)\n\nNo drift in 4 rule(s)")
    assert "Findings" not in text and "Since" not in text


def test_output_is_deterministic() -> None:
    assert render_markdown(sample_view()) == render_markdown(sample_view())
