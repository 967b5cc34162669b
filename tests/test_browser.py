"""The rendered book in a real browser: every page of the built book, served on loopback and
opened in headless Chromium (Debian's package, driven by Playwright).

What a reader would see: no console errors; the math typeset by the book's own MathJax copy
(nothing fetched from outside loopback, so the book reads offline), with no TeX left raw and
no inline formula cut off at the edge of the text; every image loaded; every internal link
and cross-reference landing on a page and an element that exist; each notebook page
launching Colab on that notebook's path in the repository. A failure lists page: problem.

Runs when TUTORIAL_BUILT_BOOK names the built HTML (scripts/test.sh sets it, and installs
Chromium first where it can: as root with apt-get). Chromium is looked for at
$TUTORIAL_CHROMIUM, then as `chromium` on the PATH; when scripts/test.sh has set
TUTORIAL_CHROMIUM, a missing browser or client library fails the tests instead of skipping.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILT = os.environ.get("TUTORIAL_BUILT_BOOK")
REQUIRED = os.environ.get("TUTORIAL_CHROMIUM")  # set by scripts/test.sh: then never skip
CHROMIUM = REQUIRED or shutil.which("chromium") or "/usr/bin/chromium"
HTML = Path(BUILT) if BUILT else Path()
# without the background-networking flags a browser on a closed network floods errors
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
REFRESH = re.compile(r'<meta http-equiv="refresh" content="0; ?url=([^"]+)"', re.I)
# TeX that MathJax never saw: $$, \begin{...}, \( \), \[ \], a $ before a command, a command
RAW_TEX = re.compile(r"\$\$|\$\\|\\begin\{|\\end\{|\\[()\[\]]|\\[A-Za-z]{2,}")

pytestmark = [pytest.mark.slow,  # starts Chromium and opens every page
              pytest.mark.skipif(not BUILT, reason="set TUTORIAL_BUILT_BOOK (scripts/test.sh)")]


@dataclass
class Page:
    """What one page showed the browser."""

    rel: str  # path in the built book, e.g. book/ch06_adversarial_game.html
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    dom: dict = field(default_factory=dict)  # the answer of COLLECT below
    redirect: str = ""  # where a <meta http-equiv="refresh"> page sent the browser


# Run in each page once MathJax has finished: everything the tests look at.
COLLECT = """async () => {
  const mj = window.MathJax;
  let mathjax = 'absent';
  if (mj && mj.startup && mj.startup.promise) {
    await mj.startup.promise;
    mathjax = 'done';
  }
  const scripts = [...document.scripts].map(s => s.src).filter(s => s);
  const images = [...document.images];
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done);
  })));
  const math = [...document.querySelectorAll('.math')].map(el => ({
    typeset: el.querySelector('mjx-container') !== null,
    text: el.textContent.trim().slice(0, 80),
  }));
  // inline formulas that run past the right edge of the text, where nothing scrolls them
  // (MathJax 3 does not break lines): the end of the formula is hidden from the reader
  const body = document.querySelector('article.bd-article') || document.body;
  const right = body.getBoundingClientRect().right;
  const cut_off = [...body.querySelectorAll('mjx-container:not([display="true"])')]
    .filter(c => {
      if (c.getBoundingClientRect().right <= right + 1) return false;
      for (let a = c.parentElement; a && a !== body; a = a.parentElement) {
        if (['auto', 'scroll'].includes(getComputedStyle(a).overflowX)) return false;
      }
      return true;
    })
    .map(c => [Math.round(c.getBoundingClientRect().width),
               (c.parentElement.textContent || '').trim().slice(0, 80)]);
  const merrors = [...document.querySelectorAll('mjx-merror')].map(
    el => el.getAttribute('data-mjx-error') || el.textContent);
  // the reading text, without code (where $ and \\( are legitimate) and typeset math
  const article = document.querySelector('article') || document.body;
  const copy = article.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, mjx-container, .highlight, textarea')
    .forEach(el => el.remove());
  const ids = [...document.querySelectorAll('[id]')].map(el => el.id)
    .concat([...document.querySelectorAll('a[name]')].map(el => el.name));
  return {
    mathjax, scripts, math, merrors, ids, cut_off,
    text: copy.textContent,
    images: images.map(img => ({src: img.currentSrc || img.src,
                                 width: img.naturalWidth, height: img.naturalHeight,
                                 inFigure: img.closest('figure, .cell_output') !== null})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  };
}"""


def _pages() -> list[str]:
    """Every HTML page of the built book (the theme's and Sphinx's assets excluded)."""
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if not p.relative_to(HTML).parts[0].startswith(("_static", "_sources")))


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def _skip_or_fail(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (scripts/test.sh set TUTORIAL_CHROMIUM={REQUIRED})")
    pytest.skip(f"{reason}; scripts/test.sh installs Debian's chromium when run as root "
                "with apt-get, or set TUTORIAL_CHROMIUM=/path/to/chromium")


@pytest.fixture(scope="module")
def crawl(server: str) -> dict[str, Page]:
    """Open every page once in one headless Chromium; what each page showed, by path."""
    assert (HTML / "index.html").is_file(), f"no built book at {HTML}"
    if not Path(CHROMIUM).is_file():
        _skip_or_fail(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("the playwright client library is not installed (the test extra)")
    pages: dict[str, Page] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     chromium_sandbox=False)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        current: list[Page] = []  # the page being visited, for the handlers below

        def route(r) -> None:  # loopback only: anything else is recorded and refused
            url = r.request.url
            if url.startswith(server) or url.startswith(("data:", "blob:")):
                r.continue_()
            else:
                current[-1].outside_requests.append(url)
                r.abort()

        context.route("**/*", route)
        tab = context.new_page()
        tab.on("console", lambda m: m.type == "error" and current[-1].console_errors.append(
            f"{m.text} ({m.location.get('url', '')})"))
        tab.on("pageerror", lambda e: current[-1].console_errors.append(f"uncaught: {e}"))
        tab.on("response", lambda r: r.status >= 400 and current[-1].failed_requests.append(
            f"{r.status} {r.url}"))
        for rel in _pages():
            current.append(Page(rel))
            tab.goto(server + rel, wait_until="load")
            refresh = REFRESH.search((HTML / rel).read_text(encoding="utf-8"))
            if refresh:  # index.html sends the reader to the first page: follow it
                current[-1].redirect = urljoin(server + rel, refresh.group(1))
                tab.wait_for_url(current[-1].redirect)
                tab.wait_for_load_state("load")
            current[-1].dom = tab.evaluate(COLLECT)
            pages[rel] = current[-1]
        browser.close()
    return pages


def _report(problems: list[str], what: str, per_page: int = 4) -> str:
    """The problems, a few per page ("page: problem"), with each page's count."""
    by_page: dict[str, list[str]] = {}
    for problem in problems:
        by_page.setdefault(problem.split(":", 1)[0], []).append(problem)
    lines = [f"{len(problems)} {what} on {len(by_page)} pages:"]
    for page, found in by_page.items():
        lines += found[:per_page]
        if len(found) > per_page:
            lines.append(f"{page}: ... and {len(found) - per_page} more")
    return "\n".join(lines)


def test_every_page_was_opened(crawl: dict[str, Page]) -> None:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    missing = [f for f in files if f"{f}.html" not in crawl]
    assert not missing, f"pages of the table of contents not in the built book: {missing}"
    assert "genindex.html" in crawl and "search.html" in crawl


def test_pages_load_without_console_errors(crawl: dict[str, Page]) -> None:
    problems = [f"{p.rel}: {e}" for p in crawl.values() for e in p.console_errors]
    problems += [f"{p.rel}: HTTP {e}" for p in crawl.values() for e in p.failed_requests]
    assert not problems, _report(problems, "console errors or failed requests")


def test_nothing_is_fetched_from_outside_the_book(crawl: dict[str, Page], server: str) -> None:
    problems = [f"{p.rel}: requested {u}" for p in crawl.values() for u in p.outside_requests]
    assert not problems, _report(problems, "requests outside loopback (the book must read "
                                           "offline)")
    for p in crawl.values():
        mathjax = [s for s in p.dom["scripts"] if "mathjax" in s.lower()]
        for src in mathjax:
            assert src.startswith(server + "_static/mathjax/"), (
                f"{p.rel}: MathJax from {src}, not the book's own copy")


def test_all_math_is_typeset(crawl: dict[str, Page]) -> None:
    problems: list[str] = []
    pages_with_math = 0
    for p in crawl.values():
        dom = p.dom
        if dom["math"]:
            pages_with_math += 1
            if dom["mathjax"] != "done":
                problems.append(f"{p.rel}: {len(dom['math'])} formulas but MathJax did not run")
        problems += [f"{p.rel}: formula not typeset: {m['text']!r}"
                     for m in dom["math"] if not m["typeset"]]
        problems += [f"{p.rel}: MathJax error: {e}" for e in dom["merrors"]]
        for raw in RAW_TEX.finditer(dom["text"]):
            at = raw.start()
            problems.append(f"{p.rel}: raw TeX {raw.group()!r} left in the text: "
                            f"{dom['text'][max(0, at - 40):at + 40]!r}")
        problems += [f"{p.rel}: formula cut off at the right edge of the text ({w} px wide): "
                     f"{tex!r}" for w, tex in dom["cut_off"]]
    assert not problems, _report(problems, "math problems")
    assert pages_with_math >= 10, f"only {pages_with_math} pages with math"


def test_every_image_loads(crawl: dict[str, Page]) -> None:
    problems = [f"{p.rel}: image not loaded or empty: {img['src']}"
                for p in crawl.values() for img in p.dom["images"]
                if img["width"] == 0 or img["height"] == 0]
    assert not problems, _report(problems, "broken images")
    for rel, p in crawl.items():
        if rel.startswith("notebooks/"):
            figures = [img for img in p.dom["images"] if img["inFigure"]]
            assert len(figures) >= 3, f"{rel}: {len(figures)} figures"


def test_internal_links_and_cross_references_resolve(
    crawl: dict[str, Page], server: str,
) -> None:
    ids = {rel: set(p.dom["ids"]) for rel, p in crawl.items()}
    problems: list[str] = []
    checked = 0
    for p in crawl.values():
        for href in sorted(set(p.dom["links"])):
            if not href.startswith(server):
                continue
            checked += 1
            parts = urlsplit(href)
            rel = unquote(parts.path).removeprefix("/")
            if rel == "" or rel.endswith("/"):
                rel += "index.html"
            if not (HTML / rel).is_file():
                problems.append(f"{p.rel}: link to a missing file: {rel}")
                continue
            fragment = unquote(parts.fragment)
            if fragment and rel.endswith(".html") and fragment not in ids.get(rel, ()):
                problems.append(f"{p.rel}: link to {rel}#{fragment}: no such element")
    assert not problems, _report(problems, "broken internal links")
    assert checked > 100, f"only {checked} internal links found"


def test_each_notebook_page_opens_its_own_notebook_in_colab(crawl: dict[str, Page]) -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    branch = config["repository"]["branch"]
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for nb in notebooks:
        page = crawl.get(f"notebooks/{nb.stem}.html")
        assert page is not None, f"notebooks/{nb.stem}.html was not built"
        colab = [u for u in page.dom["links"]
                 if u.startswith("https://colab.research.google.com/")]
        expected = (f"https://colab.research.google.com/github/{repo}/blob/{branch}/"
                    f"notebooks/{nb.name}")
        assert colab == [expected], f"{page.rel}: Colab links {colab}, expected [{expected}]"
