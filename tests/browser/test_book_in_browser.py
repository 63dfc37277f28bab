"""The rendered book in a real browser: Debian's headless Chromium driven by Selenium.

Builds the book from the stored chapters, serves it on localhost, opens every page and
checks: no console errors; no request leaves localhost (the browser's network log), so
the book works offline; every figure loaded, with alt text and its smallest text at 9 pt
or more as displayed; formulas typeset by the book's own MathJax with no raw TeX left;
the Colab launch link on chapter pages pointing at ``chapters/<name>.ipynb`` in the
configured repository; and every internal link resolving, to its page and its anchor.

On every chapter page, at 1280 px and at a phone's 390 px: the verdict box comes before
the first section and starts on the first screen, no glue is left unresolved, no visible
code block scrolls sideways (1280 px) and the page itself never does. Full-page
screenshots at both widths are saved under ``build/screenshots/``.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import json
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

from casekit.book import pipeline, plots

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
        "--window-size=1280,800",
        f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
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


DESKTOP, PHONE = (1280, 800), (390, 844)


def _open(driver: Any, url: str, size: tuple[int, int]) -> None:
    """Load ``url`` with a viewport (not window) of ``size`` CSS pixels."""
    driver.set_window_size(*size)
    chrome = driver.execute_script("return window.outerHeight - window.innerHeight;")
    driver.set_window_size(size[0], size[1] + int(chrome))
    driver.get(url)
    # formulas: wait for the book's MathJax to finish typesetting (pages without math too)
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const ready = () => window.MathJax && MathJax.startup && MathJax.startup.promise;"
        "const wait = (n) => ready() ? MathJax.startup.promise.then(() => done(true))"
        "  : n > 0 ? setTimeout(() => wait(n - 1), 100) : done(false);"
        "wait(50);"
    )


def _screenshot(driver: Any, name: str) -> None:
    """The whole page: the window is made as tall as the document for the shot."""
    width = driver.get_window_size()["width"]
    height = driver.execute_script("return document.documentElement.scrollHeight;")
    driver.set_window_size(width, min(int(height) + 200, 16000))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / name))


def _requests(driver: Any) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


class _Ids(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(value for key, value in attrs if key == "id" and value)


@functools.cache
def _ids_of(url: str) -> frozenset[str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200, url
        parser = _Ids()
        parser.feed(response.read().decode("utf-8"))
    return frozenset(parser.ids)


@pytest.mark.parametrize("page", _pages())
def test_page_renders_cleanly(site: str, browser: Any, page: str) -> None:
    driver = browser
    driver.get_log("browser")  # drop messages from the previous page
    driver.get_log("performance")
    _open(driver, f"{site}/{page}", DESKTOP)

    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, f"console errors on {page}: {errors}"
    # the browser's own pages (chrome://, its first new-tab page) are not the book's requests
    web = [u for u in _requests(driver) if u.startswith(("http:", "https:", "ws:", "wss:"))]
    outside = [u for u in web if not _local(u, site)]
    assert not outside, f"{page} requests files outside the book: {outside}"

    text = driver.execute_script("return document.querySelector('main').innerText;")
    for raw in ("\\(", "\\)", "\\[", "$$", "\\frac", "\\text{"):
        assert raw not in text, f"raw TeX {raw!r} left on {page}"
    unrendered = driver.execute_script(
        "return Array.from(document.querySelectorAll('main .math'))"
        ".filter(m => !m.querySelector('mjx-container')).length;"
    )
    assert unrendered == 0, f"{unrendered} formulas on {page} were not typeset"

    images = driver.execute_script(
        "return Array.from(document.querySelectorAll('main img'))"
        ".map(i => [i.src, i.complete, i.naturalWidth, i.naturalHeight, i.width, i.alt,"
        " !!i.closest('.cell_output')]);"
    )
    for src, complete, width, height, shown, alt, is_figure in images:
        assert complete and width > 0 and height > 0, f"figure did not load on {page}: {src}"
        if is_figure:
            assert alt and len(alt) > 40, f"figure without alt text on {page}: {src}"
            smallest = plots.min_displayed_pt(shown, width)
            assert smallest >= 9, f"figure text at {smallest:.1f} pt on {page}: {src}"

    hrefs = driver.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href);")
    for href in {h for h in hrefs if _local(h, site)}:
        target, _, anchor = href.partition("#")
        try:
            ids = _ids_of(target)
        except urllib.error.HTTPError as error:
            pytest.fail(f"broken internal link on {page}: {href} ({error.code})")
        assert not anchor or urllib.parse.unquote(anchor) in ids, (
            f"link to a missing anchor on {page}: {href}"
        )

    if page.startswith("chapters/"):
        chapter = page.removeprefix("chapters/").removesuffix(".html")
        path = urllib.parse.urlparse(_repository()).path.strip("/")
        expected = f"https://colab.research.google.com/github/{path}/blob/main/chapters/{chapter}.ipynb"
        assert expected in hrefs, f"no Colab link to {expected} on {page}"
    _screenshot(driver, page.replace("/", "__").replace(".html", "-1280.png"))


CHAPTER_PAGES = [p for p in _pages() if p.startswith("chapters/")]


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280px", "390px"])
@pytest.mark.parametrize("page", CHAPTER_PAGES)
def test_chapter_answers_on_its_first_screen(
    site: str, browser: Any, page: str, size: tuple[int, int]
) -> None:
    driver = browser
    _open(driver, f"{site}/{page}", size)
    layout = driver.execute_script(
        """
        const main = document.querySelector('main');
        const box = main.querySelector('div.admonition.verdict');
        const section = main.querySelector('section section');
        const code = Array.from(main.querySelectorAll('div.cell_input pre'))
          .filter(p => p.offsetParent !== null);
        return {
          box: box ? box.getBoundingClientRect().top + window.scrollY : null,
          boxText: box ? box.innerText : '',
          badges: box ? box.querySelectorAll('.casekit-badge').length : 0,
          section: section ? section.getBoundingClientRect().top + window.scrollY : null,
          title: main.querySelector('h1').getBoundingClientRect().top + window.scrollY,
          screen: window.innerHeight,
          pageWidth: document.documentElement.scrollWidth,
          window: window.innerWidth,
          wideCode: code.filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.innerText.slice(0, 60)),
          text: main.innerText,
        };
        """
    )
    assert layout["box"] is not None, f"{page}: no verdict box"
    assert layout["section"] is None or layout["box"] < layout["section"], (
        f"{page}: the verdict comes after a section"
    )
    # the first screen shows the box's verdict line and its first numbers, not just its top
    assert layout["box"] + 150 < layout["screen"], f"{page}: verdict box too low"
    assert layout["badges"] >= 1 or "00-" in page, f"{page}: the verdict box shows no verdict badge"
    assert any(ch.isdigit() for ch in layout["boxText"]), f"{page}: the verdict box shows no numbers"
    assert "{glue" not in layout["text"] and "glue:text" not in layout["text"], f"{page}: unresolved glue"
    assert layout["pageWidth"] <= layout["window"] + 1, f"{page} scrolls sideways at {size[0]} px"
    if size == DESKTOP:
        assert not layout["wideCode"], f"{page}: code blocks scroll sideways: {layout['wideCode']}"
    else:
        _screenshot(driver, page.replace("/", "__").replace(".html", "-390.png"))


def test_chapter_pages_show_their_figures(site: str, browser: Any) -> None:
    driver = browser
    driver.set_window_size(*DESKTOP)
    for page in [
        p
        for p in _pages()
        if p.startswith("chapters/0") and "ledger" not in p and "00-" not in p and "backends" not in p
    ]:
        driver.get(f"{site}/{page}")
        count = driver.execute_script("return document.querySelectorAll('main img').length;")
        assert count >= 2, f"{page} shows {count} figures"


def test_install_cell_is_not_in_the_html(site: str, browser: Any) -> None:
    driver = browser
    for page in CHAPTER_PAGES:
        driver.get(f"{site}/{page}")
        text = driver.execute_script("return document.querySelector('main').innerText;")
        assert "CASEKIT_SOURCE" not in text, f"{page} shows the install cell"
