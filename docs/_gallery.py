"""Small settings for running the examples during the documentation build (see ``conf.py``).

Each example runs with fewer epochs than by default, so that the whole gallery builds in a few minutes on two
CPU cores; the pages show the output of these short runs.
"""

from pathlib import Path

OUTPUT = Path(__file__).resolve().parent / "_build" / "example_output"
"""Where examples that write files write them during the build (git-ignored)."""

SMALL_SETTINGS = {
    "quickstart_digits.py": ["--epochs", "40", "--out", str(OUTPUT)],
    "tutorial_digits.py": ["--epochs", "20"],
    "pbmc68k.py": ["--max-epochs", "30"],
    "pbmc_programs.py": ["--max-epochs", "30", "--out", str(OUTPUT)],
    "conditional_generation.py": ["--epochs", "40"],
    "colour_images.py": ["--epochs", "25", "--n-samples", "1200"],
    "explorer_screenshot.py": ["--epochs", "5"],
}
"""The command-line arguments of each example in the build; every example must be listed."""


def reset_argv(gallery_conf, script_vars):
    """sphinx-gallery's ``reset_argv``: the arguments an example runs with."""
    name = Path(script_vars["src_file"]).name
    if name not in SMALL_SETTINGS:
        raise KeyError(f"examples/{name} has no small settings in docs/_gallery.py: add it to SMALL_SETTINGS.")
    return SMALL_SETTINGS[name]


class ExampleOrder:
    """sphinx-gallery's ``within_subsection_order``: the examples in the order of ``SMALL_SETTINGS``."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        names = list(SMALL_SETTINGS)
        return names.index(filename) if filename in names else len(names)
