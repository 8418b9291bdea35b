"""Training progress: a tqdm bar per phase, or plain lines in a log, and a closing log line.

The training loop reports through :class:`TrainingProgress` only, in this order::

    progress = TrainingProgress(verbose=1)
    progress.start_phase("joint", n_epochs=300)
    progress.end_epoch(1, {"loss": 1.2}, {"loss": 1.3})   # once per epoch
    progress.end_phase()                                  # once per phase
    progress.close("early_stopping", best_epoch=162, restored=True)

What is shown depends on ``verbose`` and on where the output goes:

* ``verbose=0``: nothing. The closing line is still logged, at ``DEBUG``.
* ``verbose>=1`` and a terminal or a notebook: one ``tqdm.auto`` bar per
  phase (a widget in Jupyter), with ``loss`` and ``val_loss`` as postfix.
* ``verbose>=1`` and anything else (a file, a pipe, a CI log): plain lines,
  one every ``log_every`` epochs (about 20 per phase; every epoch with
  ``verbose>=2``), so that a log reads line by line instead of one line of
  carriage returns.

The closing line says why training ended (``max_epochs`` or early stopping)
and which epoch's weights were kept. It goes to the ``"sivae_sklearn"``
logger at ``INFO`` (configure it with :mod:`logging` as usual); when
``verbose>=1`` and no handler of yours would show it, it is also written
below the bars, so that ``SiVAE(verbose=1)`` is never silent about it.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from typing import IO

from tqdm.auto import tqdm

logger = logging.getLogger("sivae_sklearn")

REASONS = ("max_epochs", "early_stopping")
"""Why training can end."""

LINES_PER_PHASE = 20
"""In plain-line mode with ``verbose=1``, about this many lines per phase."""


def _in_notebook() -> bool:
    """True when ``tqdm.auto`` chose the Jupyter widget."""
    return tqdm.__module__.startswith("tqdm.notebook")


def _is_terminal(file) -> bool:
    isatty = getattr(file, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed file
        return False


def _shown_by_a_handler(log: logging.Logger, level: int) -> bool:
    """Whether a record of ``level`` from ``log`` reaches a handler that is not a NullHandler."""
    if not log.isEnabledFor(level):
        return False
    current: logging.Logger | None = log
    while current is not None:
        if any(not isinstance(h, logging.NullHandler) and level >= h.level for h in current.handlers):
            return True
        if not current.propagate:
            return False
        current = current.parent
    return False


def _format_terms(terms: dict[str, float], val_terms: dict[str, float] | None) -> dict[str, str]:
    shown = {"loss": f"{terms['loss']:.4g}"} if "loss" in terms else {}
    if val_terms and "loss" in val_terms:
        shown["val_loss"] = f"{val_terms['loss']:.4g}"
    return shown


def log_line(message: str, verbose: int, file: IO[str] | None = None) -> None:
    """Log ``message`` to the ``"sivae_sklearn"`` logger (``INFO`` if ``verbose``, else ``DEBUG``).

    With ``verbose`` and no handler that shows it, it is also written to
    ``file`` (``sys.stderr`` by default), as the closing line of training is.
    """
    level = logging.INFO if verbose else logging.DEBUG
    logger.log(level, message)
    if verbose and not _shown_by_a_handler(logger, level):
        tqdm.write(message, file=sys.stderr if file is None else file)


class TrainingProgress:
    """Progress of one training run: bars or lines per phase, and a closing log line.

    Parameters
    ----------
    verbose : int, default=0
        0 shows nothing; 1 a bar per phase (plain lines when ``file`` is not
        a terminal); 2 also a line per epoch in plain-line mode.
    file : file-like, optional
        Where bars and lines go; ``sys.stderr`` (at the time of the call) by
        default.
    log_every : int, optional
        Epochs between two plain lines; by default about
        :data:`LINES_PER_PHASE` lines per phase (every epoch with
        ``verbose>=2``).
    bar : bool, optional
        Force a tqdm bar (True) or plain lines (False); by default a bar in a
        terminal or a notebook, lines elsewhere.
    label : str, default=""
        Written before the phase's name on bars and lines (``"init 2/3 "``
        when ``fit`` trains several initialisations).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> progress = TrainingProgress(verbose=1, file=out, log_every=2)
    >>> progress.start_phase("joint", 4)
    >>> for epoch in range(1, 5):
    ...     progress.end_epoch(epoch, {"loss": 10.0 / epoch}, {"loss": 11.0 / epoch})
    >>> progress.end_phase()
    >>> print(out.getvalue().strip())  # doctest: +ELLIPSIS
    joint epoch 1/4: loss=10 val_loss=11 (... s)
    joint epoch 2/4: loss=5 val_loss=5.5 (... s)
    joint epoch 4/4: loss=2.5 val_loss=2.75 (... s)
    >>> progress.close_message("max_epochs", best_epoch=None, restored=False)
    'Training ended at max_epochs after 4 epochs in ... s; kept the weights of the last epoch (4).'
    """

    def __init__(
        self,
        verbose: int = 0,
        *,
        file: IO[str] | None = None,
        log_every: int | None = None,
        bar=None,
        label: str = "",
    ):
        self.verbose = int(verbose)
        self.label = str(label)
        self.file = file
        self.log_every = log_every
        self.bar = bar
        self._phase: str | None = None
        self._n_epochs = 0
        self._every = 1
        self._bar = None
        self._last_line_epoch = 0
        self._epoch = 0
        self._shown: dict[str, str] = {}
        self._epochs_done = 0
        self._monitors_validation = False
        self._start = time.perf_counter()
        self._phase_start = self._start

    # ----------------------------------------------------------- the loop's calls
    def start_phase(self, name: str, n_epochs: int) -> None:
        """A phase of up to ``n_epochs`` epochs begins (``"joint"``, ``"sample"``, ``"feature"``)."""
        self.end_phase()
        self._phase, self._n_epochs = f"{self.label}{name}", int(n_epochs)
        self._phase_start = time.perf_counter()
        self._last_line_epoch = 0
        if not self.verbose:
            return
        if self._use_bar():
            self._bar = tqdm(
                total=self._n_epochs, desc=self._phase, unit="epoch", file=self._file(), leave=True, dynamic_ncols=True
            )
        elif self.log_every is not None:
            self._every = max(1, int(self.log_every))
        else:
            self._every = 1 if self.verbose >= 2 else max(1, math.ceil(self._n_epochs / LINES_PER_PHASE))

    def end_epoch(self, epoch: int, terms: dict[str, float], val_terms: dict[str, float] | None) -> None:
        """Epoch ``epoch`` (1-based, within the phase) ended with these mean loss terms."""
        self._epochs_done += 1
        self._epoch = int(epoch)
        self._monitors_validation = self._monitors_validation or bool(val_terms)
        if not self.verbose:
            return
        shown = _format_terms(terms, val_terms)
        if self._bar is not None:
            self._bar.set_postfix(shown, refresh=False)
            self._bar.update(1)
            return
        self._shown = shown
        if epoch == 1 or epoch % self._every == 0 or epoch == self._n_epochs:
            self._write_line(epoch, shown)

    def end_phase(self) -> None:
        """The current phase ended (after its last epoch or by early stopping)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.verbose and self._phase is not None and 0 < self._last_line_epoch < self._epoch:
            self._write_line(self._epoch, self._shown)  # the epoch the phase stopped at
        self._phase = None

    def close(self, reason: str, best_epoch: int | None, restored: bool, beta: float | None = None) -> None:
        """Training ended for ``reason`` (one of :data:`REASONS`); log the closing line.

        ``beta`` is the KL weight of the kept epoch, shown when given.
        """
        self.end_phase()
        message = self.close_message(reason, best_epoch, restored, beta)
        log_line(self.label + message if self.label else message, self.verbose, self._file())

    # ------------------------------------------------------------------ helpers
    def close_message(self, reason: str, best_epoch: int | None, restored: bool, beta: float | None = None) -> str:
        """The closing line: why training ended, which epoch's weights were kept and (given) that epoch's beta.

        >>> TrainingProgress().close_message("max_epochs", None, False, beta=0.5)  # doctest: +ELLIPSIS
        'Training ended at max_epochs after 0 epochs in ... s; kept the weights of the last epoch (0, beta=0.5).'
        """
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {REASONS}, got {reason!r}.")
        n = self._epochs_done
        seconds = time.perf_counter() - self._start
        took = f" in {seconds:.1f} s"
        if reason == "early_stopping":
            monitored = "validation loss" if self._monitors_validation else "training loss"
            head = f"Training stopped early after {n} epochs{took}: the {monitored} stopped improving"
        else:
            head = f"Training ended at max_epochs after {n} epochs{took}"
        at_beta = "" if beta is None else f", beta={beta:.3g}"
        if restored and best_epoch is not None:
            return f"{head}; restored the weights of the best epoch ({best_epoch}{at_beta})."
        return f"{head}; kept the weights of the last epoch ({n}{at_beta})."

    def _file(self):
        return self.file if self.file is not None else sys.stderr

    def _use_bar(self) -> bool:
        if self.bar is not None:
            return bool(self.bar)
        return _in_notebook() or _is_terminal(self._file())

    def _write_line(self, epoch: int, shown: dict[str, str]) -> None:
        values = " ".join(f"{k}={v}" for k, v in shown.items())
        seconds = time.perf_counter() - self._phase_start
        tqdm.write(f"{self._phase} epoch {epoch}/{self._n_epochs}: {values} ({seconds:.1f} s)", file=self._file())
        self._last_line_epoch = epoch

    # ------------------------------------------------- use as a context manager
    def __enter__(self) -> TrainingProgress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.end_phase()  # close an open bar when the loop raised
