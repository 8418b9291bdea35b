"""Loadings for features that were not in training: ``SiVAE.embed_features`` on planted modules.

On ``datasets.make_feature_modules`` (4 modules of 10 features, 10 noise
features), a SiVAE is fitted on a random 80% of the features; the other 20% are
embedded from their columns with ``embed_features``. Each held-out module
feature is assigned to the module whose centroid (mean trained loading of its
trained members) is nearest in Euclidean distance, and the score is the
fraction assigned to their true module. For reference the same rule is scored
on the trained module features themselves (leave-one-out centroids).
Two noise levels of the planted data: 0.3 (the default) and 1.5 (hard).

Run from the repository root (a few minutes on 2 shared CPU cores)::

    PYTHONPATH=. python benchmarks/bench_unseen_features.py [--seeds 0 1 2] [--epochs 100]

Writes ``benchmarks/results/unseen_features.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sivae_sklearn import SiVAE  # noqa: E402
from sivae_sklearn._io import write_json  # noqa: E402
from sivae_sklearn.datasets import make_feature_modules  # noqa: E402

MODEL = {"hidden_layer_sizes": (64, 32), "kl_warmup_steps": 200, "feature_input_size": 30, "early_stopping": False}
N_MODULES = 4


def nearest_centroid(loadings: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest row of ``centroids`` (modules x K) for each row of ``loadings`` (features x K)."""
    return np.argmin(((loadings[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=1)


def run_seed(seed: int, epochs: int, noise: float) -> dict:
    X, modules, _ = make_feature_modules(500, N_MODULES, 10, 10, noise=noise, random_state=seed)
    rng = np.random.RandomState(seed)
    held = np.zeros(X.shape[1], bool)
    held[rng.choice(X.shape[1], X.shape[1] // 5, replace=False)] = True
    start = time.perf_counter()
    model = SiVAE(N_MODULES, max_epochs=epochs, random_state=seed, **MODEL).fit(X[:, ~held])
    fit_s = time.perf_counter() - start
    trained, trained_modules = model.components_.T, modules[~held]
    centroids = np.stack([trained[trained_modules == m].mean(axis=0) for m in range(N_MODULES)])
    start = time.perf_counter()
    embedded = model.embed_features(X[:, held]).T
    embed_s = time.perf_counter() - start
    signal = modules[held] >= 0
    accuracy = float(np.mean(nearest_centroid(embedded[signal], centroids) == modules[held][signal]))
    hits = []
    for i in np.flatnonzero(trained_modules >= 0):  # leave-one-out on the trained features
        keep = np.arange(trained.shape[0]) != i
        loo = np.stack([trained[keep & (trained_modules == m)].mean(axis=0) for m in range(N_MODULES)])
        hits.append(nearest_centroid(trained[[i]], loo)[0] == trained_modules[i])
    return {
        "seed": seed,
        "noise": noise,
        "n_held_out_module_features": int(signal.sum()),
        "accuracy_embedded": accuracy,
        "accuracy_trained_loo": float(np.mean(hits)),
        "fit_s": fit_s,
        "embed_s": embed_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.3, 1.5])
    args = parser.parse_args()
    runs = [run_seed(seed, args.epochs, noise) for noise in args.noise for seed in args.seeds]
    for run in runs:
        print(json.dumps(run))
    summary = {}
    for noise in args.noise:
        for key in ("accuracy_embedded", "accuracy_trained_loo"):
            values = np.array([run[key] for run in runs if run["noise"] == noise])
            entry = {"median": float(np.median(values)), "min": float(values.min()), "max": float(values.max())}
            summary[f"noise={noise}/{key}"] = entry
            print(f"noise={noise} {key}: median {entry['median']:.3f} (min {entry['min']:.3f}, max {entry['max']:.3f})")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "unseen_features.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write_json(out, {"epochs": args.epochs, "runs": runs, "summary": summary}, indent=2)


if __name__ == "__main__":
    main()
