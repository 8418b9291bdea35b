"""The README's Python snippets run as written, and its commands and links point at things that exist."""

import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def test_code_block_finder_finds_blocks():
    text = "intro\n```python\nx = 1\n```\n\n```bash\nls\n```\n```python\ny = x\n```\n"
    assert code_blocks(text, "python") == ["x = 1\n", "y = x\n"]
    assert code_blocks(text, "bash") == ["ls\n"]


@pytest.mark.slow
def test_python_snippets_run_as_written(tmp_path, monkeypatch):
    """One namespace for all blocks, as in a notebook; the quick start is a full default fit on the digits."""
    monkeypatch.chdir(tmp_path)
    blocks = code_blocks(README, "python")
    assert blocks, "the README has no python block"
    namespace: dict = {"__name__": "__readme__"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)
    X, Z, X_hat, model = namespace["X"], namespace["Z"], namespace["X_hat"], namespace["model"]
    assert Z.shape == (1797, 2) and model.components_.shape == (2, 64) and model.feature_awareness_.shape == (64,)
    assert model.n_iter_ < model.max_epochs  # early stopping ended the default run
    assert np.mean((X - X_hat) ** 2) < 0.9 * np.mean(X**2)  # the decoder explains part of the variance
    assert np.isfinite(model.score(X))


def test_links_and_images_of_the_readme_exist():
    targets = re.findall(r"\]\(([^)#\s]+)\)", README)
    local = [t for t in targets if "://" not in t]
    assert "docs/quickstart_digits.png" in local
    missing = [t for t in local if not (ROOT / t).exists()]
    assert missing == []


def test_files_named_in_the_readme_exist():
    paths = set(re.findall(r"(?<![\w/])((?:examples|benchmarks|docs|\.ci)/[\w./-]+\.(?:py|md|png|sh))\b", README))
    assert {"examples/quickstart_digits.py", "benchmarks/run.py"} <= paths
    assert sorted(p for p in paths if not (ROOT / p).exists()) == []
