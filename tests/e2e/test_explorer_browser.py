"""The explorer in a real browser: Debian's Chromium, driven by Playwright, on a devnet with a cheater.

The dashboard that `devnet up` serves shows a job submitted from the wallet appear and reach Settled
without a reload, its page names the slashed provider, the layout fits a phone, the console stays
clean and no request leaves 127.0.0.1. Screenshots land in the test's tmp folder.
"""

from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import Devnet
from test_network import CHEATER, _spec

pytestmark = pytest.mark.e2e


def test_dashboard_follows_a_job_to_settled_and_shows_the_slash(
    cheater_devnet: Devnet, browser_page: tuple[object, list[str], list[str]], tmp_path: Path
) -> None:
    from playwright.sync_api import Page, expect

    page, errors, requests = browser_page
    assert isinstance(page, Page)
    url = cheater_devnet.run["explorer"]
    page.goto(url)
    expect(page.locator("#counters dt").first).to_have_text("Jobs")
    expect(page.locator("#live")).to_contain_text("live", timeout=10_000)

    pw = ("--password-file", cheater_devnet.password_file)
    job = cheater_devnet.cli_json("job", "submit", str(_spec(tmp_path, seed=77)), "--payment", "3", *pw)
    row = page.locator(f'#jobs-table tr[data-job="{job["job_id"]}"]')
    expect(row).to_be_visible(timeout=30_000)
    expect(row.locator(".state")).to_have_text("settled", timeout=180_000)
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

    # Found through the search box, as a newcomer would.
    page.fill("#q", str(job["job_id"]))
    page.keyboard.press("Enter")
    expect(page.locator("h2")).to_contain_text(f"Job #{job['job_id']}")
    cheater = page.locator(f'#slots tr:has(a[title="{CHEATER}"])')
    expect(cheater.locator(".outcome")).to_have_text("slashed")
    expect(page.locator("#timeline")).to_contain_text("slashed")
    expect(page.locator("#result-cid")).not_to_have_text("\u2013")
    page.screenshot(path=str(tmp_path / "job.png"), full_page=True)

    page.click(f'#slots a[title="{CHEATER}"]')
    expect(page.locator("h2")).to_contain_text(CHEATER)
    expect(page.locator("main table")).to_contain_text("slashed")

    # A phone-sized screen: nothing wider than the viewport; the skip link is the first tab stop.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url)
    expect(page.locator("#counters dt").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.screenshot(path=str(tmp_path / "overview-phone.png"), full_page=True)

    assert not errors, errors
    outside = [u for u in requests if urlparse(u).hostname != "127.0.0.1"]
    assert not outside, outside
    assert all(
        (tmp_path / name).stat().st_size > 0 for name in ("overview.png", "job.png", "overview-phone.png")
    )
