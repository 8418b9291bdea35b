"""Check the built documentation in headless Chromium, as a reader sees it.

Every HTML page of the built site is opened at a 1,400 x 1,000 px viewport and checked for:

* an empty navigation: a visible sidebar ("Section Navigation" or "On this page") without a single link;
* a header navigation that wraps onto a second line;
* a code block wider than its box (text cut off or hidden behind a scroll bar) or reaching past the page's
  text column, and a page wider than the window.

Run it after the Sphinx build (``.ci/run`` does)::

    python docs/_check_site.py [docs/_build/html] [--screenshots DIR]

It exits with status 1 and one line per offending page and problem, 2 when the site or the browser is missing.
Chromium is Debian's (``.ci/install_explorer_deps.sh``; ``SIVAE_CHROMIUM`` names another binary), driven by
Playwright without a browser download.
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

VIEWPORT = {"width": 1400, "height": 1000}
SKIPPED = ("_static", "_sources", "_images", "_downloads", "_modules")
"""Folders of the build that hold assets, not pages."""

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

# One function evaluated in each page: the list of problems found there, as strings.
PROBLEMS_JS = """() => {
    const problems = [];
    const visible = (el) => {
        const style = getComputedStyle(el);
        const box = el.getBoundingClientRect();
        return style.display !== "none" && style.visibility !== "hidden" && box.width > 0 && box.height > 0;
    };
    // Navigation: a shown sidebar must hold at least one link.
    for (const [selector, name] of [["#pst-primary-sidebar", "left sidebar (Section Navigation)"],
                                    ["#pst-secondary-sidebar", "right sidebar (On this page)"]]) {
        const bar = document.querySelector(selector);
        if (bar !== null && visible(bar)) {
            const links = Array.from(bar.querySelectorAll("a[href]")).filter(visible);
            const navs = Array.from(bar.querySelectorAll("nav")).filter(visible);
            if (links.length === 0) {
                problems.push(`empty navigation: the ${name} is shown without a link`);
                continue;
            }
            for (const nav of navs) {
                if (nav.querySelectorAll("a[href]").length === 0) {
                    const title = nav.getAttribute("aria-label") || nav.className;
                    problems.push(`empty navigation: "${title}" in the ${name} has no link`);
                }
            }
        }
    }
    // Header: its links on one line.
    const items = Array.from(document.querySelectorAll(".bd-header .navbar-header-items .navbar-nav > .nav-item"))
        .filter(visible);
    const tops = new Set(items.map((el) => Math.round(el.getBoundingClientRect().top)));
    if (tops.size > 1) {
        const label = (el) => (el.querySelector("a, button") || el).textContent.replace(/\\s+/g, " ").trim();
        const texts = items.map(label).join(" | ");
        problems.push(`header navigation wraps onto ${tops.size} lines: ${texts}`);
    }
    // Code blocks: nothing wider than its box, nothing past the text column.
    const article = document.querySelector(".bd-article-container") || document.body;
    const right = article.getBoundingClientRect().right;
    for (const pre of Array.from(document.querySelectorAll("article pre")).filter(visible)) {
        const box = pre.getBoundingClientRect();
        const line = pre.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a), "").trim();
        const where = `"${line.slice(0, 60)}${line.length > 60 ? "..." : ""}"`;
        if (pre.scrollWidth > pre.clientWidth + 1) {
            problems.push(`code block overflows its box by ${pre.scrollWidth - pre.clientWidth} px: ${where}`);
        } else if (box.right > right + 1) {
            problems.push(`code block reaches ${Math.round(box.right - right)} px past the text column: ${where}`);
        }
    }
    const page = document.documentElement.scrollWidth;
    if (page > window.innerWidth + 1) problems.push(`page is ${page - window.innerWidth} px wider than the window`);
    return problems;
}"""


def pages(site: Path) -> list[Path]:
    """The HTML pages of the built site, assets left out."""
    return sorted(p for p in site.rglob("*.html") if p.relative_to(site).parts[0] not in SKIPPED)


def chromium() -> str | None:
    """Debian's chromium, or the binary named by ``SIVAE_CHROMIUM``."""
    return os.environ.get("SIVAE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def check(site: Path, screenshots: Path | None = None) -> dict[str, list[str]]:
    """Open every page of ``site``; return the problems of each page that has any."""
    from playwright.sync_api import sync_playwright

    found = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        for path in pages(site):
            name = path.relative_to(site).as_posix()
            page.goto(path.resolve().as_uri(), wait_until="load")
            problems = page.evaluate(PROBLEMS_JS)
            if problems:
                found[name] = problems
            if screenshots is not None:
                screenshots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshots / (name.replace("/", "__") + ".png")))
        browser.close()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = Path(__file__).resolve().parent / "_build" / "html"
    parser.add_argument("site", nargs="?", type=Path, default=default, help=f"the built site (default: {default})")
    parser.add_argument("--screenshots", type=Path, help="write a screenshot of each page (the top of it) here")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"{args.site} holds no built site (index.html): build it first with sphinx.", file=sys.stderr)
        return 2
    if chromium() is None:
        print("no chromium binary on PATH: run .ci/install_explorer_deps.sh (or set SIVAE_CHROMIUM).", file=sys.stderr)
        return 2
    n_pages = len(pages(args.site))
    found = check(args.site, args.screenshots)
    if found:
        print(f"{len(found)} of {n_pages} pages have problems at {VIEWPORT['width']} px:", file=sys.stderr)
        for name, problems in found.items():
            for problem in problems:
                print(f"  {name}: {problem}", file=sys.stderr)
        return 1
    print(f"{n_pages} pages checked at {VIEWPORT['width']} px: navigation, header and code blocks fit.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
