"""The rendered book in a real browser: Debian's headless Chromium driven by Selenium.

Builds the book from the stored chapters, serves it on localhost, opens every page and
checks: no console errors, every figure loaded with a non-zero natural size, the Colab
launch link on chapter pages pointing at ``chapters/<name>.ipynb`` in the configured
repository, and every internal link resolving. A screenshot of each page is saved under
``build/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import tempfile
import threading
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from casekit import pipeline

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / "build" / "screenshots"

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="Debian's chromium and chromium-driver are not installed (make test installs them)",
)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    index = pipeline.build_book(pipeline.Project(ROOT))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # no access log in the test output
            pass

    handler = functools.partial(Quiet, directory=str(index.parent))

    # One thread per connection: Chromium opens speculative connections that send nothing,
    # which would block a single-threaded server and time out the link checks.
    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):  # Chromium dropping a connection
                super().handle_error(request, client_address)

    with Server(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,2000",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _pages() -> list[str]:
    toc = (ROOT / "book" / "_toc.yml").read_text()
    files = ["intro"] + [line.split("file:", 1)[1].strip() for line in toc.splitlines() if "file:" in line]
    return [f"{name}.html" for name in files]


def _repository() -> str:
    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"])


def _local(url: str, base: str) -> bool:
    return url.startswith(base)


def _offline_cdn_failure(message: str, site: str) -> bool:
    """MathJax comes from a CDN; this test machine has no internet, so that one load fails.

    Only a failed load of a non-localhost URL is excused; every error from the book's own
    pages and files still fails the test.
    """
    return "net::ERR_NAME_NOT_RESOLVED" in message and not message.startswith(site)


@pytest.mark.parametrize("page", _pages())
def test_page_renders_cleanly(site: str, browser: Any, page: str) -> None:
    driver = browser
    driver.get_log("browser")  # drop messages from the previous page
    driver.get(f"{site}/{page}")
    driver.execute_script("return document.readyState")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / page.replace("/", "__").replace(".html", ".png")))

    errors = [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and not _offline_cdn_failure(entry["message"], site)
    ]
    assert not errors, f"console errors on {page}: {errors}"

    images = driver.execute_script(
        "return Array.from(document.querySelectorAll('main img'))"
        ".map(i => [i.src, i.complete, i.naturalWidth, i.naturalHeight]);"
    )
    for src, complete, width, height in images:
        assert complete and width > 0 and height > 0, f"figure did not load on {page}: {src}"

    hrefs = driver.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);")
    for href in {h.split("#", 1)[0] for h in hrefs if _local(h, site)}:
        try:
            with urllib.request.urlopen(href, timeout=10) as response:
                assert response.status == 200, href
        except urllib.error.HTTPError as error:
            pytest.fail(f"broken internal link on {page}: {href} ({error.code})")

    if page.startswith("chapters/"):
        chapter = page.removeprefix("chapters/").removesuffix(".html")
        path = urllib.parse.urlparse(_repository()).path.strip("/")
        expected = f"https://colab.research.google.com/github/{path}/blob/main/chapters/{chapter}.ipynb"
        assert expected in hrefs, f"no Colab link to {expected} on {page}"


def test_chapter_pages_show_their_figures(site: str, browser: Any) -> None:
    driver = browser
    for page in [p for p in _pages() if p.startswith("chapters/0") and "ledger" not in p and "00-" not in p]:
        driver.get(f"{site}/{page}")
        count = driver.execute_script("return document.querySelectorAll('main img').length;")
        assert count >= 2, f"{page} shows {count} figures"
