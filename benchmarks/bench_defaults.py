"""The measurements behind SiVAE's defaults (docs/design.md, "Defaults").

Fits SiVAE on scikit-learn's digits (z-scored), 2 latent dimensions, under the
settings compared in the design notes, and prints kNN accuracy (siVAE protocol:
5-fold stratified, k = 2 x classes), the KL of the sample latent at the end
(posterior collapse shows as ~0) and the fit time.

Usage::

    python benchmarks/bench_defaults.py        # about 4 minutes on 2 cores
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sivae_sklearn import SiVAE  # noqa: E402
from sivae_sklearn._io import write_json  # noqa: E402
from sivae_sklearn.datasets import load_digits_images  # noqa: E402
from sivae_sklearn.metrics import knn_accuracy  # noqa: E402

FIXED = dict(early_stopping=False, max_epochs=200)
SETTINGS = [
    ("hidden (128, 64), joint, early stopping", dict(hidden_layer_sizes=(128, 64))),
    ("hidden (128, 64), stepwise, early stopping", dict(hidden_layer_sizes=(128, 64), schedule="stepwise")),
    ("hidden (512, 128), joint, early stopping (default)", dict()),
    ("hidden (512, 128), stepwise, early stopping", dict(schedule="stepwise")),
    (
        "hidden (512, 128), joint, 200 epochs, gamma = 0, no L2",
        dict(FIXED, interpretability_weight=0.0, l2_penalty=0.0),
    ),
    ("hidden (512, 128), joint, 200 epochs, gamma = 0.002", dict(FIXED, interpretability_weight=0.002)),
    ("hidden (512, 128), joint, 200 epochs, gamma = 0.01", dict(FIXED, interpretability_weight=0.01)),
    ("hidden (512, 128), joint, 200 epochs, gamma = 0.05", dict(FIXED)),
    (
        "hidden (512, 128), stepwise, 200 joint epochs, gamma = 0.01",
        dict(FIXED, schedule="stepwise", interpretability_weight=0.01),
    ),
]


def main() -> list[dict]:
    X, y, _ = load_digits_images()
    rows = []
    print(f"{'setting':<62} {'kNN':>6} {'KL(z)':>6} {'epochs':>6} {'fit s':>6}")
    for name, params in SETTINGS:
        start = time.perf_counter()
        model = SiVAE(n_components=2, random_state=0, **params).fit(X)
        seconds = time.perf_counter() - start
        row = {
            "setting": name,
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()},
            "knn": knn_accuracy(model.transform(X), y),
            "kl_sample": model.history_["kl_sample"][-1],
            "epochs": model.n_iter_,
            "fit_seconds": seconds,
        }
        rows.append(row)
        print(f"{name:<62} {row['knn']:>6.3f} {row['kl_sample']:>6.2f} {row['epochs']:>6d} {seconds:>6.1f}", flush=True)
    out = Path(__file__).parent / "results" / "defaults.json"
    write_json(out, rows, indent=2)
    return rows


if __name__ == "__main__":
    main()
