"""External feature embeddings as the feature encoder's input: ``SiVAE(feature_input=E)`` on planted modules.

On ``datasets.make_program_modules`` (4 correlated programs driving modules of
5 to 30 features, 20 noise features, every hard setting on), SiVAE is fitted
with five feature inputs and scored by ``metrics.module_recovery`` (the
adjusted Rand index of k-means on the loading directions against the modules):

* ``pca``: the default, data-derived input (the features' PCA coordinates);
* ``informative``: a noisy one-hot of each feature's module (one column per
  module, noise features all zeros, plus Gaussian noise of sd 0.5 on every
  entry), replacing the data-derived input;
* ``random``: 8 standard normal columns, uninformative, replacing it;
* ``pca+informative``, ``pca+random``: the library's side-by-side input
  ``feature_input=["pca", E]`` (the features' reduced columns, then the
  embedding's standardised columns, unweighted);
* ``[pca]+informative``, ``[pca]+random``: the alternative fusion rule, the
  features' PCA coordinates passed as an embedding in a list with ``E``
  (``[coords, E]``: each block the same total variance).

Peers in the same run: PCA's loadings (``components_.T``) and FactorAnalysis's.

Run from the repository root (a few minutes on 2 shared CPU cores)::

    PYTHONPATH=. nice -n 5 python benchmarks/bench_feature_input.py [--seeds 0 1 2] [--epochs 60]

Writes ``benchmarks/results/feature_input.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
from sklearn.decomposition import PCA, FactorAnalysis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sivae_sklearn import SiVAE  # noqa: E402
from sivae_sklearn._arrays.feature_inputs import make_feature_inputs  # noqa: E402
from sivae_sklearn._io import write_json  # noqa: E402
from sivae_sklearn.datasets import make_program_modules  # noqa: E402
from sivae_sklearn.metrics import module_recovery  # noqa: E402

MODEL = {"hidden_layer_sizes": (64, 32), "feature_input_size": 30, "early_stopping": False, "kl_warmup_epochs": 10}
N_PROGRAMS = 4
INPUTS = ("pca", "informative", "random", "pca+informative", "pca+random", "[pca]+informative", "[pca]+random")


def embeddings(modules: np.ndarray, X: np.ndarray, rng: np.random.RandomState) -> dict:
    """The feature inputs of every condition, one row per feature."""
    onehot = np.zeros((modules.size, N_PROGRAMS))
    onehot[modules >= 0, modules[modules >= 0]] = 1.0
    informative = onehot + rng.normal(scale=0.5, size=onehot.shape)
    random = rng.normal(size=(modules.size, 8))
    coords = make_feature_inputs(X, "pca", MODEL["feature_input_size"], rng).astype(np.float64)
    return {
        "pca": "pca",
        "informative": informative,
        "random": random,
        "pca+informative": ["pca", informative],
        "pca+random": ["pca", random],
        "[pca]+informative": [coords, informative],
        "[pca]+random": [coords, random],
    }


def run_seed(seed: int, epochs: int) -> dict:
    X, modules, _ = make_program_modules(500, N_PROGRAMS, random_state=seed)
    rng = np.random.RandomState(seed)
    run = {"seed": seed, "n_features": int(X.shape[1])}
    for name, feature_input in embeddings(modules, X, rng).items():
        start = time.perf_counter()
        model = SiVAE(N_PROGRAMS, feature_input=feature_input, max_epochs=epochs, random_state=seed, **MODEL).fit(X)
        run[f"{name}_s"] = time.perf_counter() - start
        run[name] = module_recovery(model.components_.T, modules)
    run["peer_PCA"] = module_recovery(PCA(N_PROGRAMS, random_state=seed).fit(X).components_.T, modules)
    run["peer_FactorAnalysis"] = module_recovery(
        FactorAnalysis(N_PROGRAMS, random_state=seed).fit(X).components_.T, modules
    )
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()
    runs = []
    for seed in args.seeds:
        runs.append(run_seed(seed, args.epochs))
        print(json.dumps(runs[-1]), flush=True)
    summary = {}
    for key in (*INPUTS, "peer_PCA", "peer_FactorAnalysis"):
        values = np.array([run[key] for run in runs])
        summary[key] = {"median": float(np.median(values)), "min": float(values.min()), "max": float(values.max())}
        print(f"{key}: module ARI median {summary[key]['median']:.3f} (min {values.min():.3f}, max {values.max():.3f})")
    for key in INPUTS[1:]:
        diff = np.array([run[key] - run["pca"] for run in runs])
        summary[f"{key}-pca"] = {"median": float(np.median(diff)), "min": float(diff.min()), "max": float(diff.max())}
        print(f"{key} - pca: median {np.median(diff):+.3f} (min {diff.min():+.3f}, max {diff.max():+.3f})")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "feature_input.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write_json(out, {"epochs": args.epochs, "model": MODEL, "runs": runs, "summary": summary}, indent=2)


if __name__ == "__main__":
    main()
