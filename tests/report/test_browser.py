"""The report opens in headless Chromium (Playwright) with no console error and no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from lesionlens.report import report

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_report_renders_offline_without_errors(study, tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    index = report([study["run"], study["good"]], tmp_path / "out", max_subjects=2)
    errors, failed, remote = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on(
            "request",
            lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:")) else None,
        )
        page.goto(index.as_uri(), wait_until="load")
        for summary in page.locator("summary").all():  # open the lazy viewer iframes
            summary.click()
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)
        frames = [f for f in page.frames if f.url.endswith(".html") and "viewers/" in f.url]
        canvases = [f.locator("canvas").count() for f in frames]
        images_ok = page.evaluate(
            "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
        )
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert errors == [] and failed == [] and remote == []
    assert images_ok
    assert len(frames) == 2 and all(c >= 1 for c in canvases)  # one viewer per shown subject
    assert (tmp_path / "report.png").stat().st_size > 10_000
