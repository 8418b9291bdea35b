"""Training progress, reported by the training loop through :class:`TrainingProgress` only.

The loop calls, in this order::

    progress = TrainingProgress(verbose=1)
    progress.start_phase("joint", n_epochs=300)
    progress.end_epoch(1, {"loss": 1.2}, {"loss": 1.3})   # once per epoch
    progress.end_phase()                                  # once per phase
    progress.close("early_stopping", best_epoch=162, restored=True)

With ``verbose=0`` nothing is shown; otherwise one line per epoch is
rewritten in place on stderr, and a closing line says why training ended.
"""

from __future__ import annotations

import sys
import time

REASONS = ("max_epochs", "early_stopping")
"""Why training can end."""


class TrainingProgress:
    """Progress of one training run on stderr (silent with ``verbose=0``).

    Parameters
    ----------
    verbose : int, default=0
        Show progress when positive.
    """

    def __init__(self, verbose: int = 0):
        self.verbose = int(verbose)
        self._phase, self._n_epochs, self._start = "", 0, time.perf_counter()

    def start_phase(self, name: str, n_epochs: int) -> None:
        """A training phase of at most ``n_epochs`` epochs begins."""
        self._phase, self._n_epochs, self._start = name, int(n_epochs), time.perf_counter()

    def end_epoch(self, epoch: int, terms: dict[str, float], val_terms: dict[str, float] | None) -> None:
        """Epoch ``epoch`` (from 1) of the phase ended with these mean loss terms."""
        if not self.verbose:
            return
        val = f" val_loss={val_terms['loss']:.4g}" if val_terms else ""
        print(
            f"\r{self._phase:>7} epoch {epoch}/{self._n_epochs} loss={terms['loss']:.4g}{val} "
            f"{time.perf_counter() - self._start:.1f}s",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def end_phase(self) -> None:
        """The current phase ended."""
        if self.verbose:
            print(file=sys.stderr)

    def close(self, reason: str, best_epoch: int | None, restored: bool) -> None:
        """Training ended for ``reason`` (one of :data:`REASONS`); say which weights were kept."""
        if not self.verbose:
            return
        kept = f"the weights of epoch {best_epoch} restored" if restored else "the last weights kept"
        print(f"training ended ({reason.replace('_', ' ')}); {kept}", file=sys.stderr)
