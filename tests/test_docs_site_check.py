"""``docs/_check_site.py`` finds what a reader of the built site would see, in headless Chromium.

Small hand-written pages with the built theme's structure: a sidebar without links, a header whose links wrap,
a code block cut off at the right edge. The check must name each of them, and pass a page without them.
"""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright python package is not installed")

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "_check_site.py"
spec = importlib.util.spec_from_file_location("_check_site", SCRIPT)
check_site = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_site)

if check_site.chromium() is None:
    pytest.skip("no chromium binary on PATH (apt-get install chromium)", allow_module_level=True)

STYLE = """
body { margin: 0; font: 16px sans-serif; }
.bd-header .navbar-nav { display: flex; flex-wrap: wrap; list-style: none; width: %(header)s; margin: 0; padding: 0; }
.bd-header .nav-item { padding: 0 1em; white-space: nowrap; }
.bd-container { display: flex; }
#pst-primary-sidebar { width: 300px; min-height: 50px; }
.bd-article-container { width: 700px; }
pre { white-space: pre; overflow: %(pre_overflow)s; }
"""


def page(*, sidebar_links: bool, header: str = "100%", pre_overflow: str = "visible", code: str = "short") -> str:
    links = '<li><a href="other.html">Other page</a></li>' if sidebar_links else ""
    items = "".join(f'<li class="nav-item"><a href="#">{t}</a></li>' for t in ("User guide", "Examples", "API"))
    return f"""<!doctype html><html><head><style>{STYLE % {"header": header, "pre_overflow": pre_overflow}}</style>
    </head><body>
    <header class="bd-header"><div class="navbar-header-items"><ul class="navbar-nav">{items}</ul></div></header>
    <div class="bd-container">
      <div id="pst-primary-sidebar"><nav class="bd-docs-nav" aria-label="Section Navigation">
        <p>Section Navigation</p><ul>{links}</ul></nav></div>
      <div class="bd-article-container"><article class="bd-article"><pre>{code}</pre></article></div>
    </div></body></html>"""


def write_site(tmp_path, pages):
    for name, html in {"index.html": page(sidebar_links=True), **pages}.items():
        (tmp_path / name).write_text(html, encoding="utf-8")
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "asset.html").write_text(page(sidebar_links=False), encoding="utf-8")
    return tmp_path


def test_a_clean_page_passes_and_assets_are_not_pages(tmp_path):
    site = write_site(tmp_path, {"good.html": page(sidebar_links=True)})
    assert [p.name for p in check_site.pages(site)] == ["good.html", "index.html"]
    assert check_site.check(site) == {}
    assert check_site.main([str(site)]) == 0


def test_each_problem_is_named_with_its_page(tmp_path, capsys):
    long_line = "model = SiVAE(" + ", ".join(f"parameter_{i}={i}" for i in range(40)) + ")"
    site = write_site(
        tmp_path,
        {
            "empty_nav.html": page(sidebar_links=False),
            "wrapping_header.html": page(sidebar_links=True, header="120px"),
            "cut_code.html": page(sidebar_links=True, pre_overflow="hidden", code=long_line),
            "spilling_code.html": page(sidebar_links=True, pre_overflow="visible", code=long_line),
        },
    )
    found = check_site.check(site)
    assert set(found) == {"empty_nav.html", "wrapping_header.html", "cut_code.html", "spilling_code.html"}
    assert any("empty navigation" in p and "Section Navigation" in p for p in found["empty_nav.html"])
    assert any(p.startswith("header navigation wraps onto 3 lines") for p in found["wrapping_header.html"])
    assert any(p.startswith("code block overflows its box by") for p in found["cut_code.html"])
    assert any("code block" in p for p in found["spilling_code.html"])
    assert all("model = SiVAE(parameter_0=0" in p for p in found["cut_code.html"] if "code block" in p)

    assert check_site.main([str(site)]) == 1
    err = capsys.readouterr().err
    assert "4 of 5 pages have problems at 1400 px" in err
    assert "  empty_nav.html: empty navigation" in err


def test_a_missing_site_is_reported(tmp_path, capsys):
    assert check_site.main([str(tmp_path)]) == 2
    assert "holds no built site" in capsys.readouterr().err
