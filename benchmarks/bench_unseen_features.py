"""Loadings for features that were not in training: ``SiVAE.embed_features`` on planted modules.

On ``datasets.make_feature_modules`` (4 modules of 10 features, 10 noise
features), a SiVAE is fitted on a random 80% of the features; the other 20% are
embedded from their columns with ``embed_features``. Each held-out module
feature is assigned to the module whose centroid (mean trained loading of its
trained members) is nearest in Euclidean distance, and the score is the
fraction assigned to their true module. For reference the same rule is scored
on the trained module features themselves (leave-one-out centroids).
Two noise levels of the planted data: 0.3 (the default) and 1.5 (hard).

``--family N`` runs the same protocol on the first ``N`` configurations (with
``--hard-only``, the first ``N`` hard ones) of the held-out half of ``datasets.make_program_family`` (the family of
``benchmarks/bench_family.py``, which no setting was chosen on), each at its
own ``n_components``, with SiVAE's default architecture and early stopping.

Run from the repository root (a few minutes on 2 shared CPU cores; the family
about a minute per fit)::

    PYTHONPATH=. python benchmarks/bench_unseen_features.py [--seeds 0 1 2] [--epochs 100]
    PYTHONPATH=. python benchmarks/bench_unseen_features.py --family 6 [--epochs 200]
    PYTHONPATH=. python benchmarks/bench_unseen_features.py --family 4 --hard-only --epochs 200
    PYTHONPATH=. python benchmarks/bench_unseen_features.py --family 4 --hard-only --epochs 200 \
        --params '{"feature_hidden_layer_sizes": [64]}' --tag _feature64

Writes ``benchmarks/results/unseen_features.json`` (``unseen_features_family.json``
for ``--family``, ``unseen_features_family_hard.json`` with ``--hard-only``; ``--tag`` appends to the name).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

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
    model = SiVAE(N_MODULES, max_epochs=epochs, random_state=seed, **MODEL)
    return {"seed": seed, "noise": noise, **held_out_assignment(model, X, modules, seed)}


def held_out_assignment(model: SiVAE, X: np.ndarray, modules: np.ndarray, seed: int) -> dict:
    """Fit ``model`` on a random 80% of the columns of ``X``, embed the rest; the scores of both.

    Every module keeps at least two trained members, so that each has a
    centroid and the leave-one-out reference is defined.
    """
    rng = np.random.RandomState(seed)
    labels = np.unique(modules[modules >= 0])
    while True:
        held = np.zeros(X.shape[1], bool)
        held[rng.choice(X.shape[1], X.shape[1] // 5, replace=False)] = True
        if all(np.sum(~held & (modules == m)) >= 2 for m in labels):
            break
    start = time.perf_counter()
    model.fit(X[:, ~held])
    fit_s = time.perf_counter() - start
    trained, trained_modules = model.components_.T, modules[~held]
    centroids = np.stack([trained[trained_modules == m].mean(axis=0) for m in labels])
    start = time.perf_counter()
    embedded = model.embed_features(X[:, held]).T
    embed_s = time.perf_counter() - start
    signal = modules[held] >= 0
    assigned = labels[nearest_centroid(embedded[signal], centroids)]
    accuracy = float(np.mean(assigned == modules[held][signal]))
    hits = []
    for i in np.flatnonzero(trained_modules >= 0):  # leave-one-out on the trained features
        keep = np.arange(trained.shape[0]) != i
        loo = np.stack([trained[keep & (trained_modules == m)].mean(axis=0) for m in labels])
        hits.append(labels[nearest_centroid(trained[[i]], loo)[0]] == trained_modules[i])
    return {
        "n_held_out_module_features": int(signal.sum()),
        "accuracy_embedded": accuracy,
        "accuracy_trained_loo": float(np.mean(hits)),
        "fit_s": fit_s,
        "embed_s": embed_s,
        "n_epochs": int(model.n_iter_),
    }


def run_family(
    n_configs: int, seeds: list[int], epochs: int, hard_only: bool = False, params: dict | None = None
) -> list[dict]:
    """The protocol on the first ``n_configs`` held-out configurations of the benchmark family (or hard ones)."""
    from bench_family import FAMILY_CONFIGS, FAMILY_SEED

    from sivae_sklearn.datasets import make_program_family

    problems = make_program_family(FAMILY_CONFIGS, half="heldout", random_state=FAMILY_SEED)
    problems = [p for p in problems if p[2]["hard"] or not hard_only][:n_configs]
    runs = []
    for X, modules, settings in problems:
        for seed in seeds:
            model = SiVAE(settings["n_components"], max_epochs=epochs, random_state=seed).set_params(**(params or {}))
            run = {"config": settings["index"], "hard": settings["hard"], "seed": seed, "params": params or {}}
            run.update(held_out_assignment(model, X.astype(np.float32), modules, seed))
            print(json.dumps(run), flush=True)
            runs.append(run)
    return runs


def _spread(values) -> dict:
    values = np.asarray(values, float)
    return {"median": float(np.median(values)), "min": float(values.min()), "max": float(values.max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.3, 1.5])
    parser.add_argument("--family", type=int, default=0, help="run on this many held-out family configurations")
    parser.add_argument("--hard-only", action="store_true", help="with --family: only the hard configurations")
    parser.add_argument(
        "--params",
        type=json.loads,
        default={},
        help="with --family: SiVAE parameters as JSON, e.g. '{\"feature_hidden_layer_sizes\": [64]}'",
    )
    parser.add_argument("--tag", default="", help="appended to the results file's name")
    args = parser.parse_args()
    if args.family:
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in args.params.items()}
        runs = run_family(args.family, args.seeds, args.epochs, args.hard_only, params)
        summary = {}
        for config in sorted({run["config"] for run in runs}):
            mine = [run for run in runs if run["config"] == config]
            summary[str(config)] = {
                "hard": mine[0]["hard"],
                **{key: _spread([run[key] for run in mine]) for key in ("accuracy_embedded", "accuracy_trained_loo")},
            }
        per_config = [entry["accuracy_embedded"]["median"] for entry in summary.values()]
        summary["all"] = {"accuracy_embedded_median_over_configs": float(np.median(per_config))}
        for config, entry in summary.items():
            print(config, json.dumps(entry))
        name = "unseen_features_family_hard" if args.hard_only else "unseen_features_family"
        _write(
            f"{name}{args.tag}.json", {"epochs": args.epochs, "params": args.params, "runs": runs, "summary": summary}
        )
        return
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
    _write("unseen_features.json", {"epochs": args.epochs, "runs": runs, "summary": summary})


def _write(name: str, record: dict) -> None:
    """``record`` as ``benchmarks/results/<name>``, written atomically."""
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", name)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write_json(out, record, indent=2)


if __name__ == "__main__":
    main()
