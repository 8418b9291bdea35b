"""Do siVAE's loadings and feature awareness recover known feature modules, and what do they cost?

On :func:`sivae_sklearn.datasets.make_feature_modules` data (modules of
features driven by distinct latent factors through a non-linear map, plus
pure-noise features) this measures, side by side in one run:

* module recovery: k-means on each feature's loadings vs the true modules
  (adjusted Rand index), over the signal features (k = modules) and over all
  features with noise as one more cluster (k = modules + 1);
* noise detection: AUROC of feature awareness (signal = positive class);
* the same for PCA (components_; "awareness" = var - mse of the rank-K PCA
  reconstruction) and for the saliency-attribution loadings of the same model;
* time: fit, loadings + feature awareness over the whole training set, and
  saliency attributions over the same samples (each timed warm, best of 3).

Run from the repository root (about a minute on 2 CPU cores)::

    PYTHONPATH=. python benchmarks/bench_interpretation.py

Prints a table and writes ``benchmarks/results/interpretation.json``.
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, roc_auc_score

from sivae_sklearn import SiVAE
from sivae_sklearn._io import write_json
from sivae_sklearn.datasets import make_feature_modules

SETTINGS = {
    "n_samples": 1000,
    "n_modules": 5,
    "features_per_module": 12,
    "n_noise_features": 20,
}
MODEL = {
    "hidden_layer_sizes": (64, 32),
    "max_epochs": 100,
    "kl_warmup_steps": 200,
    "feature_input_size": 30,
    "early_stopping": False,
}
# (non-linearity, seed, noise): three easy cases and a noisy one
DATASETS = [("tanh", 0, 0.3), ("exp", 1, 0.3), ("cubic", 2, 0.3), ("tanh", 3, 1.5)]


def recovery(loadings: np.ndarray, awareness: np.ndarray, modules: np.ndarray, k: int) -> dict:
    """ARI of k-means on loadings (features x dims) and AUROC of awareness."""
    signal = modules >= 0
    lab = KMeans(k, n_init=10, random_state=0).fit_predict(loadings[signal])
    lab_all = KMeans(k + 1, n_init=10, random_state=0).fit_predict(loadings)
    out = {
        "ari_signal": float(adjusted_rand_score(modules[signal], lab)),
        "ari_all": float(adjusted_rand_score(modules, lab_all)),
    }
    if awareness is not None:
        out["auroc_noise"] = float(roc_auc_score(signal, awareness))
    return out


def best_of(fn, repeats: int = 3) -> float:
    fn()  # warm-up (tracing)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run_one(nonlinearity: str, seed: int, noise: float) -> dict:
    X, modules, _ = make_feature_modules(nonlinearity=nonlinearity, noise=noise, random_state=seed, **SETTINGS)
    k = SETTINGS["n_modules"]
    model = SiVAE(k, random_state=seed, **MODEL)
    t = time.perf_counter()
    model.fit(X)
    fit_s = time.perf_counter() - t

    def interpret():
        model._compiled.feature_embedding()  # the loadings (one forward pass of the feature encoder)
        model.feature_awareness(X)

    interpret_s = best_of(interpret)
    attribution_s = best_of(lambda: model.attribution_loadings(X, method="saliency"))

    pca = PCA(k).fit(X)
    pca_fa = X.var(axis=0) - np.mean(np.square(X - pca.inverse_transform(pca.transform(X))), axis=0)
    saliency = model.attribution_loadings(X, method="saliency")
    return {
        "nonlinearity": nonlinearity,
        "seed": seed,
        "noise": noise,
        "shape": list(X.shape),
        "sivae": recovery(model.components_.T, model.feature_awareness_, modules, k),
        "sivae_saliency": recovery(saliency.T, None, modules, k),
        "pca": recovery(pca.components_.T, pca_fa, modules, k),
        "explained_variance_ratio": {
            "sivae": model.explained_variance_ratio_.round(4).tolist(),
            "pca": pca.explained_variance_ratio_.round(4).tolist(),
        },
        "time_s": {"fit": fit_s, "loadings_and_awareness": interpret_s, "saliency_attribution": attribution_s},
        "interpret_share_of_fit": interpret_s / fit_s,
        "attribution_over_interpret": attribution_s / interpret_s,
        "n_iter": model.n_iter_,
    }


def main() -> None:
    results = [run_one(*d) for d in DATASETS]
    header = (
        f"{'data':<11}{'method':<16}{'ARI signal':>11}{'ARI all':>9}{'AUROC':>8}"
        f"{'fit s':>8}{'interp s':>10}{'attrib s':>10}{'interp/fit':>11}{'attrib/interp':>14}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        for name in ("sivae", "sivae_saliency", "pca"):
            m = r[name]
            auroc = f"{m['auroc_noise']:.3f}" if "auroc_noise" in m else "-"
            tag = f"{r['nonlinearity']}/{r['noise']}"
            line = f"{tag:<11}{name:<16}{m['ari_signal']:>11.3f}{m['ari_all']:>9.3f}{auroc:>8}"
            if name == "sivae":
                t = r["time_s"]
                line += (
                    f"{t['fit']:>8.2f}{t['loadings_and_awareness']:>10.4f}{t['saliency_attribution']:>10.3f}"
                    f"{r['interpret_share_of_fit']:>11.2%}{r['attribution_over_interpret']:>13.1f}x"
                )
            print(line)
    out = {
        "settings": SETTINGS,
        "model": {**MODEL, "hidden_layer_sizes": list(MODEL["hidden_layer_sizes"])},
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "results": results,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "interpretation.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_json(path, out, indent=2)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
