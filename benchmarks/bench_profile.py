"""Where one training epoch's time goes: compute, input pipeline, validation, host syncs, Python.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_profile.py [--epochs 12] [--data digits pbmc68k_reduced]

For each data set, ``SiVAE(10, max_epochs=epochs, random_state=0)`` (every other
parameter at its default: batch 128, early stopping with a 10% validation split)
is fitted once with timers wrapped around the training loop's stages
(:mod:`sivae_sklearn._engine.training`), and the median over the epochs after the first
(which traces) is reported:

* ``epoch``: the wall-clock seconds of an epoch as ``TrainingResult.epoch_seconds`` records them;
* ``train pass``: :meth:`PhaseSteps.train_epoch` (the steps, their input, the read of the sums);
* ``validation``: :meth:`PhaseSteps.evaluate` (the validation pass and its read);
* ``host syncs``: the reads of the summed terms (``EpochSums.means``, part of the two above) and the
  copies of the weights for early stopping (``network.get_weights``);
* ``python``: the rest of the epoch (history, divergence check, progress, early stopping's bookkeeping);
* ``first epoch`` (tracing included) and ``outside epochs``: the seconds of ``fit`` before and after the
  epochs (validation, feature inputs, building the network, the fitted statistics).

Then, on the fitted network and the epoch's own minibatches (densified once, beforehand):

* ``compute``: the epoch's train steps inside one ``tf.function`` (a loop in the graph; nothing but
  the arithmetic and the optimiser's update); like the next two, the median of 5 repetitions;
* ``per-step calls``: the same steps as one compiled call each from Python (compute plus the
  per-call dispatch);
* ``input (producer)``: the seconds the input generator spends drawing the order and densifying
  the rows of one epoch, run alone;
* ``input (pipeline)``: iterating the loop's ``tf.data`` feed over one epoch without running a step.

Writes ``benchmarks/results/profile.json``. Timers cost a few microseconds per call; the stages
overlap (the producer runs in ``tf.data``'s thread while steps run), so the parts do not add up
exactly to the epoch.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import tensorflow as tf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from _common import load_digits_zscored, load_pbmc  # noqa: E402

from sivae_sklearn import SiVAE  # noqa: E402
from sivae_sklearn._arrays.rows import epoch_batches  # noqa: E402
from sivae_sklearn._engine import training as _training  # noqa: E402
from sivae_sklearn._io import write_json  # noqa: E402

RESULTS = HERE / "results"
DATA = {"digits": load_digits_zscored, "pbmc68k_reduced": load_pbmc}


class StageTimers:
    """Wrap functions of the training loop with timers; ``per_epoch()`` gives each stage's seconds per epoch."""

    def __init__(self):
        self.seconds = defaultdict(list)
        self._patches = []
        self.steps = []

    def wrap(self, owner, name, stage):
        original = getattr(owner, name)
        raw = owner.__dict__.get(name, original) if isinstance(owner, type) else original

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[stage].append(time.perf_counter() - t0)

        setattr(owner, name, staticmethod(timed) if isinstance(raw, staticmethod) else timed)
        self._patches.append((owner, name, raw))

    def __enter__(self):
        self.wrap(_training.PhaseSteps, "train_epoch", "train pass")
        self.wrap(_training.PhaseSteps, "evaluate", "validation")
        self.wrap(_training.EpochSums, "means", "read sums")
        init = _training.PhaseSteps.__init__
        timers = self

        def remember(steps, *args, **kwargs):
            init(steps, *args, **kwargs)
            timers.steps.append(steps)
            timers.wrap(steps.network, "get_weights", "get_weights")

        _training.PhaseSteps.__init__ = remember
        self._patches.append((_training.PhaseSteps, "__init__", init))
        return self

    def __exit__(self, *exc):
        for owner, name, original in reversed(self._patches):
            if isinstance(owner, type):
                setattr(owner, name, original)
            else:  # an instance: drop the wrapper, the class's method shows again
                del owner.__dict__[name]


def _epoch_elements(steps, data, rng, state):
    """The elements of one training epoch as the feed builds them, densified up front."""
    config = steps.config
    elements = []
    for i, rows in enumerate(epoch_batches(data.X, config.batch_size, rng)()):
        step = state.step + i
        beta, seed = np.float32(_training.beta_at(step, config)), np.array([state.seed, step], np.int32)
        elements.append((*data.arrays(rows), beta, seed, np.float32(rows.index.size)))
    return elements


def _compute_seconds(steps, elements, repeats=5):
    """``(one tf.function over the epoch, one compiled call per step)``: the median of ``repeats`` each."""
    full = [e for e in elements if e[0].shape[0] == elements[0][0].shape[0]]
    stacked = [tf.constant(np.stack(parts)) for parts in zip(*full)]

    def one_step(*element):
        _, _, grads = steps._gradients(*element)
        steps.optimizer.apply(grads)

    @tf.function
    def loop(*stacked):
        for i in tf.range(tf.shape(stacked[0])[0]):
            one_step(*[s[i] for s in stacked])

    step_fn = tf.function(one_step)
    tensors = [tuple(tf.constant(p) for p in e) for e in full]
    loop(*stacked)
    step_fn(*tensors[0])
    loops, calls = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        loop(*stacked)
        steps.optimizer.iterations.numpy()
        loops.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for e in tensors:
            step_fn(*e)
        steps.optimizer.iterations.numpy()
        calls.append(time.perf_counter() - t0)
    scale = len(elements) / len(full)  # the last, smaller batch counted as a full one
    return float(np.median(loops)) * scale, float(np.median(calls)) * scale


def _pipeline_seconds(steps, data, rng, state, repeats=5):
    """``(producer alone, feed iterated without steps)`` for one epoch: the median of ``repeats``."""
    config = steps.config
    n_batches = -(-data.n_samples // config.batch_size)
    producer, fed = [], []
    feed = steps._feed(data)

    def beta_seed(i):
        return np.float32(config.beta), np.array([state.seed, i], np.int32)

    for _ in range(repeats):
        t0 = time.perf_counter()
        for rows in epoch_batches(data.X, config.batch_size, rng)():
            data.arrays(rows)
        producer.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        iterator = feed.epoch(epoch_batches(data.X, config.batch_size, rng), beta_seed)
        for _ in range(n_batches):
            next(iterator)
        fed.append(time.perf_counter() - t0)
    return float(np.median(producer)), float(np.median(fed))


def profile(name: str, epochs: int) -> dict:
    X, _ = DATA[name]()
    model = SiVAE(10, max_epochs=epochs, random_state=0)
    captured = {}
    run_epochs = _training._run_epochs

    def keep(steps, phase, network, train_data, val_data, config, n_epochs, rng, state, result):
        captured.update(steps=steps, train=train_data, val=val_data, rng=rng, state=state, result=result)
        run_epochs(steps, phase, network, train_data, val_data, config, n_epochs, rng, state, result)
        # Measured here, while the phase's feed is open and on its own network (and left out of the fit's time).
        t0 = time.perf_counter()
        elements = _epoch_elements(steps, train_data, np.random.RandomState(0), state)
        captured["compute"], captured["calls"] = _compute_seconds(steps, elements)
        captured["producer"], captured["feed"] = _pipeline_seconds(steps, train_data, np.random.RandomState(0), state)
        captured["n_batches"] = len(elements)
        captured["measuring"] = time.perf_counter() - t0

    _training._run_epochs = keep
    try:
        with StageTimers() as timers, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            model.fit(X)
            fit_s = time.perf_counter() - t0 - captured["measuring"]
    finally:
        _training._run_epochs = run_epochs
    result = captured["result"]
    n = len(result.epoch_seconds)

    def median_after_first(stage):
        values = np.asarray(timers.seconds.get(stage, []), float)
        if values.size == 0:
            return 0.0
        values = values.reshape(n, -1).sum(axis=1) if values.size % n == 0 else values
        return float(np.median(values[1:]))

    epoch = float(np.median(result.epoch_seconds[1:]))
    train_pass, validation = median_after_first("train pass"), median_after_first("validation")
    syncs = median_after_first("read sums") + (sum(timers.seconds.get("get_weights", [])) / max(n - 1, 1))
    out = {
        "dataset": name,
        "shape": list(X.shape),
        "n_train": captured["train"].n_samples,
        "n_val": 0 if captured["val"] is None else captured["val"].n_samples,
        "n_batches": captured["n_batches"],
        "epochs": n,
        "fit_s": fit_s,
        "first_epoch_s": float(result.epoch_seconds[0]),
        "outside_epochs_s": fit_s - float(np.sum(result.epoch_seconds)),
        "epoch_s": epoch,
        "train_pass_s": train_pass,
        "validation_s": validation,
        "host_syncs_s": syncs,
        "python_s": epoch - train_pass - validation,
        "compute_s": captured["compute"],
        "per_step_calls_s": captured["calls"],
        "input_producer_s": captured["producer"],
        "input_pipeline_s": captured["feed"],
        "load_average": os.getloadavg(),
    }
    return out


def _fmt(r) -> str:
    ms = {k: 1e3 * r[k] for k in r if k.endswith("_s")}
    return (
        f"{r['dataset']:<16} {r['n_batches']:>4} {ms['epoch_s']:>7.1f} {ms['train_pass_s']:>7.1f} "
        f"{ms['compute_s']:>7.1f} {ms['per_step_calls_s']:>7.1f} {ms['input_producer_s']:>7.1f} "
        f"{ms['input_pipeline_s']:>7.1f} {ms['validation_s']:>7.1f} {ms['host_syncs_s']:>7.2f} "
        f"{ms['python_s']:>7.2f} {ms['first_epoch_s']:>7.0f} {ms['outside_epochs_s']:>7.0f} "
        f"{r['load_average'][0]:>5.1f}"
    )


HEADER = (
    f"{'data':<16} {'step':>4} {'epoch':>7} {'train':>7} {'compute':>7} {'calls':>7} {'produce':>7} "
    f"{'feed':>7} {'valid':>7} {'syncs':>7} {'python':>7} {'first':>7} {'outside':>7} {'load':>5}   (ms)"
)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--data", nargs="+", choices=sorted(DATA), default=sorted(DATA))
    parser.add_argument("--out", default=str(RESULTS / "profile.json"))
    args = parser.parse_args(argv)
    print(HEADER)
    rows = []
    for name in args.data:
        rows.append(profile(name, args.epochs))
        print(_fmt(rows[-1]), flush=True)
    write_json(args.out, {"rows": rows, "tensorflow": tf.__version__}, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
