"""Headless Chromium from Debian's package, driven by playwright (never `playwright install`).

Usage for a look at the report by eye:
    python -m tests.report.browser /tmp/h3-report.png   # renders the sample view, screenshots it
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from reconciler.report.html import render_html
from tests.report.sample import sample_view

CHROMIUM = Path(os.environ.get("RECONCILER_CHROMIUM", "/usr/bin/chromium"))


def require_chromium() -> Path:
    """Fail (not skip): a report nobody has opened in a browser is not tested."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run .ci/install-browser "
            "(or set RECONCILER_CHROMIUM to a Chromium binary)",
            pytrace=False,
        )
    return CHROMIUM


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(require_chromium()))
        try:
            yield browser
        finally:
            browser.close()


def screenshot(html: str, out: Path, width: int = 1360) -> None:
    page_file = out.with_suffix(".html")
    page_file.write_text(html, encoding="utf-8")
    with chromium() as browser:
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(page_file.resolve().as_uri())
        page.screenshot(path=str(out), full_page=True)


if __name__ == "__main__":
    screenshot(render_html(sample_view()), Path(sys.argv[1] if len(sys.argv) > 1 else "report.png"))
