"""The gallery's examples: every script of ``examples/`` has small settings in ``docs/_gallery.py`` that its
command line accepts, and the gene-programs example runs end to end on scanpy's bundled PBMC data.

The documentation build runs each example with these settings; a script missing from ``SMALL_SETTINGS`` stops
that build, and a flag the script does not define fails it at run time, so both are checked here without Sphinx.
"""

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py"))
_spec = importlib.util.spec_from_file_location("_gallery", ROOT / "docs" / "_gallery.py")
_gallery = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_gallery)
SMALL_SETTINGS = _gallery.SMALL_SETTINGS


def defined_flags(source: str) -> set[str]:
    """The ``--flags`` of every ``add_argument`` call in a script."""
    flags = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument":
            flags |= {a.value for a in node.args if isinstance(a, ast.Constant) and str(a.value).startswith("--")}
    return flags


def test_flag_reader_sees_a_made_up_parser():
    source = "import argparse\np = argparse.ArgumentParser()\np.add_argument('--epochs', type=int)\n"
    assert defined_flags(source) == {"--epochs"}
    assert defined_flags("x = 1\n") == set()


def test_every_example_has_small_settings_and_only_examples_do():
    assert "pbmc_programs.py" in EXAMPLES
    assert sorted(SMALL_SETTINGS) == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_small_settings_use_flags_the_example_defines(name):
    flags = {arg for arg in SMALL_SETTINGS[name] if arg.startswith("--")}
    assert flags <= defined_flags((ROOT / "examples" / name).read_text())


@pytest.mark.slow
def test_pbmc_programs_example_runs(tmp_path):
    pytest.importorskip("scanpy")
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    args = ["--max-epochs", "2", "--n-components", "4", "--out", str(tmp_path)]
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "pbmc_programs.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout
    assert "dimension_names_: ['B_cell', 'NK_cell', 'CD14_monocyte', 'sivae3']" in out
    assert "trained: 309 genes, embedded: 456 genes" in out
    assert "recorded feature_input: 'external'" in out
    assert out.count("program_support_") >= 4  # one line per program, then the external fit's
    assert (tmp_path / "pbmc_markers.gmt").read_text().count("\n") == 3
