"""Shared fixtures: a real anvil chain per session (neurolink.devnet.pytest_plugin), a js-ipfs daemon,
and a real browser page."""

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytest_plugins = ["neurolink.devnet.pytest_plugin", "neurolink.content.pytest_plugin"]
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session", autouse=True)
def _own_devnet_pointer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Devnets the tests start record themselves under a cache folder of the session, not the user's."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[tuple[object, list[str], list[str]]]:
    """A Chromium page, the console errors it logged and every URL it requested."""
    assert CHROMIUM.exists(), "Debian's chromium is part of the test bench (make sandbox-tool installs it)"
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        # Anything bound elsewhere is refused (and still recorded above): the page must work offline.
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if urlparse(route.request.url).hostname == "127.0.0.1" else route.abort()
            ),
        )
        yield page, errors, requests
        browser.close()
