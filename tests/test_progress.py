"""Training progress: bars in a terminal, plain lines in a log, a closing line through logging."""

import ast
import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from sivae_sklearn import SiVAE
from sivae_sklearn._engine.progress import TrainingProgress
from tests.presets import TINY

ROOT = Path(__file__).resolve().parents[1]


def run_phase(progress, n_epochs, name="joint", val=True):
    progress.start_phase(name, n_epochs)
    for epoch in range(1, n_epochs + 1):
        progress.end_epoch(epoch, {"loss": 100.0 / epoch, "kl_sample": 1.0}, {"loss": 110.0 / epoch} if val else None)
    progress.end_phase()


def test_plain_lines_when_the_output_is_not_a_terminal():
    out = io.StringIO()
    progress = TrainingProgress(verbose=1, file=out)
    run_phase(progress, 100)
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert 15 <= len(lines) <= 25  # about twenty lines for a phase, not one per epoch
    assert lines[0].startswith("joint epoch 1/100: loss=100 val_loss=110")
    assert lines[-1].startswith("joint epoch 100/100: loss=1 val_loss=1.1")


def test_verbose_2_writes_every_epoch_and_a_stopped_phase_ends_with_its_last_epoch():
    out = io.StringIO()
    progress = TrainingProgress(verbose=2, file=out)
    run_phase(progress, 7)
    assert len(out.getvalue().splitlines()) == 7
    out = io.StringIO()
    progress = TrainingProgress(verbose=1, file=out, log_every=10)
    progress.start_phase("sample", 100)
    for epoch in range(1, 24):  # early stopping after 23 of 100 epochs
        progress.end_epoch(epoch, {"loss": 1.0}, None)
    progress.end_phase()
    assert [line.split(":")[0] for line in out.getvalue().splitlines()] == [
        "sample epoch 1/100",
        "sample epoch 10/100",
        "sample epoch 20/100",
        "sample epoch 23/100",
    ]


def test_a_tqdm_bar_per_phase_with_the_losses_as_postfix():
    out = io.StringIO()
    progress = TrainingProgress(verbose=1, file=out, bar=True)
    run_phase(progress, 5, "sample")
    run_phase(progress, 3, "joint", val=False)
    text = out.getvalue()
    assert "\r" in text  # tqdm redraws in place
    assert "sample: 100%" in text and "5/5" in text and "val_loss=22" in text
    assert "joint: 100%" in text and "3/3" in text and "loss=33.33" in text


@pytest.mark.parametrize(
    ("reason", "best", "restored", "expected"),
    [
        (
            "early_stopping",
            4,
            True,
            "stopped early after 8 epochs in * s: the validation loss stopped improving; "
            "restored the weights of the best epoch (4).",
        ),
        (
            "max_epochs",
            6,
            True,
            "ended at max_epochs after 8 epochs in * s; restored the weights of the best epoch (6).",
        ),
        (
            "max_epochs",
            None,
            False,
            "ended at max_epochs after 8 epochs in * s; kept the weights of the last epoch (8).",
        ),
    ],
)
def test_the_closing_line_says_why_training_ended_and_which_weights_were_kept(reason, best, restored, expected):
    progress = TrainingProgress(verbose=0)
    run_phase(progress, 8)
    message = progress.close_message(reason, best, restored)
    head, tail = expected.split(" in * s")
    assert head in message and message.endswith(tail)
    with pytest.raises(ValueError, match="reason must be one of"):
        progress.close_message("tired", None, False)


def test_the_closing_line_goes_to_the_logger_and_is_shown_once(caplog):
    out = io.StringIO()
    progress = TrainingProgress(verbose=1, file=out)
    run_phase(progress, 2)
    with caplog.at_level(logging.INFO, logger="sivae_sklearn"):
        progress.close("max_epochs", None, False)
    assert [r.levelno for r in caplog.records] == [logging.INFO]
    assert caplog.records[0].name == "sivae_sklearn"
    assert "Training ended" not in out.getvalue()  # a handler shows it: not written a second time
    # without a handler of the user's, verbose output still shows it
    out = io.StringIO()
    progress = TrainingProgress(verbose=1, file=out)
    run_phase(progress, 2)
    progress.close("max_epochs", None, False)
    assert out.getvalue().splitlines()[-1].startswith("Training ended at max_epochs after 2 epochs")


def test_verbose_0_fit_is_silent_and_logs_the_closing_line_at_debug(digits, capsys, caplog):
    X, _ = digits
    with caplog.at_level(logging.DEBUG, logger="sivae_sklearn"):
        SiVAE(**TINY).fit(X)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    ours = [r for r in caplog.records if r.name == "sivae_sklearn"]
    assert [r.levelno for r in ours] == [logging.DEBUG]
    assert "after 5 epochs" in ours[-1].getMessage()


def test_fit_reports_early_stopping_and_the_restored_epoch(digits, capsys):
    X, _ = digits
    params = dict(TINY, max_epochs=200, kl_warmup_steps=0, n_iter_no_change=2, tol=0.5, verbose=1)
    model = SiVAE(**params).fit(X)
    assert model.n_iter_ < 200
    err = capsys.readouterr().err
    assert "\r" not in err
    closing = err.strip().splitlines()[-1]
    assert closing.startswith(f"Training stopped early after {model.n_iter_} epochs")
    assert f"restored the weights of the best epoch ({model.n_iter_ - 2}, beta=1)" in closing
    assert err.count("joint epoch") >= 2


def test_the_package_logger_has_a_null_handler():
    code = (
        "import logging, sivae_sklearn; print([type(h).__name__ for h in logging.getLogger('sivae_sklearn').handlers])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "['NullHandler']"


CONSOLE_MODULES = {"cli.py", "explorer/__main__.py", "explorer/_server.py"}
"""The command lines and the explorer's foreground server: their output is for a person at a console."""


def print_calls(source: str) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print"
    ]


def test_no_print_outside_the_console_entry_points():
    assert print_calls("def f():\n    print('x')\n") == [2]
    package = ROOT / "sivae_sklearn"
    hits = {
        str(path.relative_to(package)): print_calls(path.read_text())
        for path in sorted(package.rglob("*.py"))
        if str(path.relative_to(package)) not in CONSOLE_MODULES
    }
    assert {name: lines for name, lines in hits.items() if lines} == {}
