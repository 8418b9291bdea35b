"""Measure how far the reference cases move between run configurations, and record it.

``python tests/data/measure_reference_spread.py`` (from the repository root) refits
every case of ``make_reference_outputs.py`` once per configuration, each in a fresh
subprocess (TensorFlow reads these settings when it starts):

* ``TF_ENABLE_ONEDNN_OPTS`` 0 and 1 (oneDNN kernels off and on);
* 1 and 2 intra-op threads (``tf.config.threading``);
* float64 and float32 input (the data cast before ``fit``).

Every output is compared with the committed ``reference_outputs.npz`` by its
*scaled difference* ``max |actual - recorded| / max |recorded|`` (the largest
difference relative to the array's scale, so values near zero do not inflate
it). The largest scaled difference of each output over all cases and
configurations, with the case and configuration that gave it (and the largest
of every case's output, under ``spread_by_case``), is written to
``tests/data/reference_spread.json`` under this machine's description; a run on
another machine adds its own entry (``--machine NAME``) beside the others.
``tests/test_reference_outputs.py`` sets each output's tolerance from the
largest spread recorded for it in any case on any machine, times a margin.
The measurement takes about 20 minutes on a shared 2-core machine.

``--one ONEDNN THREADS DTYPE OUT`` is the subprocess: it fits the cases under one
configuration and writes their outputs to ``OUT`` (an ``.npz``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPREAD = HERE / "reference_spread.json"
CONFIGS = list(itertools.product(("0", "1"), (1, 2), ("float64", "float32")))
"""(TF_ENABLE_ONEDNN_OPTS, intra-op threads, input dtype) of every refit."""


def scaled_difference(actual: np.ndarray, expected: np.ndarray) -> float:
    """``max |actual - expected| / max |expected|`` (the plain difference where ``expected`` is all zero).

    NaN must stand where the recording has NaN (a history entry that was not
    computed); the other entries are compared.
    """
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape or not np.array_equal(np.isnan(actual), np.isnan(expected)):
        return float("inf")
    finite = ~np.isnan(expected)
    actual, expected = actual[finite], expected[finite]
    if not expected.size:
        return 0.0
    scale = float(np.max(np.abs(expected)))
    difference = float(np.max(np.abs(actual - expected)))
    return difference / scale if scale > 0 else difference


def quantity(key: str) -> str:
    """The output a recorded key belongs to: ``"nb/transform"`` -> ``"transform"``."""
    return key.partition("/")[2]


def split_phases(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``arrays`` with the loss series of a stepwise fit cut in two: ``<key>[sample]`` (the sample phase) and the rest.

    The loss logged in the sample phase differs from the recording by design
    (see ``tests/test_reference_outputs.py``), so it gets a spread of its own.
    """
    out = dict(arrays)
    for key, values in arrays.items():
        case, _, name = key.partition("/")
        phase = arrays.get(f"{case}/history/phase")
        if name in ("history/loss", "history/val_loss") and phase is not None and (phase == "sample").any():
            sample = phase == "sample"
            out[key], out[key + "[sample]"] = values[~sample], values[sample]
    return out


def fit_one(onednn: str, threads: int, dtype: str, out: str) -> None:
    """Fit every case under one configuration (this process was started with TF_ENABLE_ONEDNN_OPTS set)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    sys.path.insert(0, str(HERE))
    import make_reference_outputs as ref

    arrays = {}
    for name, (model, X, y, condition) in ref.cases().items():
        X = X.astype(dtype)
        model.fit(X, y, condition=condition)
        for key, value in ref.outputs_of(model, X, y).items():
            value = np.asarray(value)
            if value.dtype.kind in "fc" or key == "history/phase":
                arrays[f"{name}/{key}"] = value
    np.savez(out, **arrays)


def cpu_description() -> dict:
    flags = set()
    model = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.partition(":")[2].strip()
                if line.startswith("flags"):
                    flags = set(line.partition(":")[2].split())
    except OSError:
        pass
    wanted = sorted(f for f in flags if f.startswith(("avx512", "amx")) or f in ("avx2", "fma"))
    return {"cpu": model, "machine": platform.machine(), "cpu_flags": wanted, "cores": os.cpu_count()}


def measure(machine: str) -> dict:
    import tensorflow as tf

    sys.path.insert(0, str(HERE))
    import make_reference_outputs as ref

    with np.load(ref.OUTPUTS, allow_pickle=False) as archive:
        recorded = split_phases({key: archive[key] for key in archive.files})
    worst: dict[str, dict] = {}
    by_key: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for onednn, threads, dtype in CONFIGS:
            out = os.path.join(tmp, f"{onednn}-{threads}-{dtype}.npz")
            env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "2"}
            command = [sys.executable, __file__, "--one", onednn, str(threads), dtype, out]
            subprocess.run(command, env=env, check=True)
            with np.load(out) as archive:
                refit = split_phases({key: archive[key] for key in archive.files})
            for key, value in refit.items():
                if value.dtype.kind not in "fc":
                    continue
                spread = scaled_difference(value, recorded[key])
                by_key[key] = max(by_key.get(key, 0.0), spread)
                name = quantity(key)
                if spread >= worst.get(name, {}).get("spread", -1.0):
                    worst[name] = {
                        "spread": spread,
                        "case": key.partition("/")[0],
                        "config": {"TF_ENABLE_ONEDNN_OPTS": onednn, "intra_op_threads": threads, "dtype": dtype},
                    }
            print(f"oneDNN={onednn} threads={threads} {dtype}: done", flush=True)
    return {
        **cpu_description(),
        "name": machine,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "configs": len(CONFIGS),
        "spread": dict(sorted(worst.items())),
        "spread_by_case": dict(sorted(by_key.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--one", nargs=4, metavar=("ONEDNN", "THREADS", "DTYPE", "OUT"))
    parser.add_argument("--machine", default=platform.node() or "this machine", help="name of this machine's entry")
    args = parser.parse_args()
    if args.one:
        onednn, threads, dtype, out = args.one
        fit_one(onednn, int(threads), dtype, out)
        return
    entry = measure(args.machine)
    record = json.loads(SPREAD.read_text()) if SPREAD.exists() else {"machines": []}
    record["machines"] = [m for m in record["machines"] if m["name"] != entry["name"]] + [entry]
    SPREAD.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    for name, worst in entry["spread"].items():
        print(f"{name:28s} {worst['spread']:.3g}  ({worst['case']}, {worst['config']})")


if __name__ == "__main__":
    main()
