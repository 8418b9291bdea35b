"""Sphinx configuration of the sivae_sklearn documentation.

Build it (warnings are errors) from the repository root::

    python -m pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The gallery runs every script of ``examples/`` with small settings (``_gallery.py``); the command-line help
is generated from the parser itself (``_generated/``). Nothing is fetched from the internet.
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # the package of this checkout
sys.path.insert(0, str(DOCS))  # _gallery
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import sivae_sklearn  # noqa: E402
from sivae_sklearn.cli import build_parser  # noqa: E402

project = "sivae_sklearn"
author = "the sivae_sklearn developers"
copyright = "the sivae_sklearn developers, MIT licence"
release = version = sivae_sklearn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip"]
suppress_warnings = ["config.cache"]  # sphinx-gallery's settings hold functions: rebuilt each time, never cached

# API reference: autosummary pages from the numpydoc docstrings
autosummary_generate = True
autodoc_default_options = {"inherited-members": False}
autodoc_typehints = "none"  # the numpydoc sections say the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# User guide: Markdown pages (MyST)
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# Gallery: every script of examples/, executed at build time with small settings
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",
    "reset_argv": "_gallery.reset_argv",
    "within_subsection_order": "_gallery.ExampleOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "image_srcset": [],
    "matplotlib_animations": False,
    "capture_repr": (),
}

html_theme = "pydata_sphinx_theme"
html_title = f"sivae_sklearn {release}"
# The header holds the three sections of index.md's toctree (user guide, examples, API reference); each page's
# left sidebar lists the pages of its section. docs/_check_site.py checks both in Chromium after the build.
html_theme_options = {"show_toc_level": 2, "navigation_with_keys": False, "header_links_before_dropdown": 3}
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["sivae.css"]


def _write_command_line_help() -> None:
    """The output of ``sivae --help`` and of each command's ``--help``, for ``cli.md`` to include."""
    out = DOCS / "_generated"
    out.mkdir(exist_ok=True)
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    os.environ["COLUMNS"] = "110"  # argparse wraps to the terminal width
    texts = {"sivae": parser.format_help(), **{name: sub.format_help() for name, sub in commands.items()}}
    for name, text in texts.items():
        (out / f"help_{name}.txt").write_text(text, encoding="utf-8")


_write_command_line_help()


def _skip_metadata_requests(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_*_request`` methods (its own glossary documents them)."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_requests)
