"""What the cheaper-step settings cost in quality: feature minibatches and larger batches.

Every setting of :func:`_common.amortisation_options` (the defaults; a half,
a quarter and an eighth of the features per step; batches of 256 and 512
rows) is fitted at equal epochs, with 3 seeds, and scored on

* digits and pbmc68k_reduced: kNN accuracy of the embedding (siVAE protocol,
  ``_common.knn_accuracy``) at K = 2 and K = 10;
* ``datasets.make_feature_modules``: module recovery, the adjusted Rand index
  of k-means on the loadings against the true modules (signal features), and
  the AUROC of feature awareness for telling signal from noise features (as in
  ``bench_interpretation.py``).

Prints the median and the range over seeds of every score, and the fit time.
Speed against the plain VAE is ``run.py --only speed``.

Run from the repository root (about an hour on 2 shared CPU cores)::

    PYTHONPATH=. python benchmarks/bench_amortise.py [--epochs 100] [--seeds 0 1 2] [--data digits]

Writes ``benchmarks/results/amortise.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import amortisation_options, knn_accuracy, load_digits_zscored, load_pbmc  # noqa: E402
from bench_interpretation import DATASETS as MODULE_CASES  # noqa: E402
from bench_interpretation import MODEL as MODULE_MODEL  # noqa: E402
from bench_interpretation import SETTINGS as MODULE_DATA  # noqa: E402
from bench_interpretation import recovery  # noqa: E402

from sivae_sklearn import SiVAE  # noqa: E402
from sivae_sklearn._io import write_json  # noqa: E402
from sivae_sklearn.datasets import make_feature_modules  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
HIDDEN = (512, 128)


EMBEDDING_DATA = {"digits": load_digits_zscored, "pbmc68k_reduced": load_pbmc}


def _selected(n_features: int, options) -> list[tuple[str, dict]]:
    return [(name, params) for name, params in amortisation_options(n_features) if options is None or name in options]


def embedding_scores(epochs: int, seeds, data=tuple(EMBEDDING_DATA), options=None) -> list[dict]:
    rows = []
    for data_name in data:
        X, y = EMBEDDING_DATA[data_name]()
        for k in (2, 10):
            for option, params in _selected(X.shape[1], options):
                for seed in seeds:
                    model = SiVAE(k, hidden_layer_sizes=HIDDEN, max_epochs=epochs, early_stopping=False)
                    model.set_params(random_state=seed, **params)
                    t0 = time.perf_counter()
                    Z = model.fit_transform(X)
                    rows.append(
                        {
                            "study": "embedding",
                            "dataset": data_name,
                            "n_components": k,
                            "option": option,
                            "seed": seed,
                            "knn_accuracy": knn_accuracy(Z, y),
                            "fit_s": time.perf_counter() - t0,
                        }
                    )
                    _print(rows[-1])
    return rows


def module_scores(epochs: int, seeds, options=None) -> list[dict]:
    """On an easy and the noisy case of ``bench_interpretation.py`` (tanh, noise 0.3 and 1.5)."""
    rows = []
    k = MODULE_DATA["n_modules"]
    for nonlinearity, data_seed, noise in (MODULE_CASES[0], MODULE_CASES[-1]):
        X, modules, _ = make_feature_modules(
            nonlinearity=nonlinearity, noise=noise, random_state=data_seed, **MODULE_DATA
        )
        for option, params in _selected(X.shape[1], options):
            for seed in seeds:
                model = SiVAE(k, **{**MODULE_MODEL, "max_epochs": epochs}).set_params(random_state=seed, **params)
                t0 = time.perf_counter()
                model.fit(X)
                fit_s = time.perf_counter() - t0
                rows.append(
                    {
                        "study": "modules",
                        "dataset": f"modules noise={noise}",
                        "n_components": k,
                        "option": option,
                        "seed": seed,
                        **recovery(model.components_.T, model.feature_awareness_, modules, k),
                        "fit_s": fit_s,
                    }
                )
                _print(rows[-1])
    return rows


def _print(row) -> None:
    scores = {k: v for k, v in row.items() if k in ("knn_accuracy", "ari_signal", "auroc_noise")}
    shown = " ".join(f"{k}={v:.3f}" for k, v in scores.items())
    print(
        f"{row['dataset']:<16} K={row['n_components']:<3} {row['option']:<32} seed {row['seed']} {shown} "
        f"{row['fit_s']:.1f}s",
        flush=True,
    )


def summary(rows) -> list[dict]:
    """Median and range over seeds of every score, per data set, K and option."""
    out = []
    keys = sorted({(r["dataset"], r["n_components"], r["option"]) for r in rows}, key=str)
    for dataset, k, option in keys:
        group = [r for r in rows if (r["dataset"], r["n_components"], r["option"]) == (dataset, k, option)]
        entry = {"dataset": dataset, "n_components": k, "option": option, "seeds": len(group)}
        for score in ("knn_accuracy", "ari_signal", "auroc_noise", "fit_s"):
            values = [r[score] for r in group if score in r]
            if values:
                entry[score] = {
                    "median": float(np.median(values)),
                    "min": float(min(values)),
                    "max": float(max(values)),
                }
        out.append(entry)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100, help="epochs of the digits and PBMC fits")
    parser.add_argument("--module-epochs", type=int, default=MODULE_MODEL["max_epochs"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", choices=("embedding", "modules"), action="append")
    parser.add_argument("--data", choices=tuple(EMBEDDING_DATA), nargs="+", default=list(EMBEDDING_DATA))
    parser.add_argument(
        "--options", nargs="+", metavar="NAME", help="only these settings (e.g. default batch_size=512)"
    )
    parser.add_argument("--tag", default="", help="appended to the results file's name")
    args = parser.parse_args(argv)
    studies = args.only or ["embedding", "modules"]
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "embedding" in studies:
            rows += embedding_scores(args.epochs, args.seeds, args.data, args.options)
        if "modules" in studies:
            rows += module_scores(args.module_epochs, args.seeds, args.options)
    result = {"epochs": args.epochs, "module_epochs": args.module_epochs, "rows": rows, "summary": summary(rows)}
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"amortise{args.tag}.json")
    write_json(path, result, indent=1)
    for entry in result["summary"]:
        parts = [
            f"{name} {s['median']:.3f} [{s['min']:.3f}, {s['max']:.3f}]"
            for name, s in entry.items()
            if isinstance(s, dict)
        ]
        print(f"{entry['dataset']:<16} K={entry['n_components']:<3} {entry['option']:<32} " + "; ".join(parts))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
