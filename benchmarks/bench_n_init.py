"""What ``SiVAE(n_init=3)`` does to the seed spread of the loadings, and what it costs in time.

Problems (each at seeds ``--seeds``; the data stay fixed, the seed is the method's ``random_state``):

* ``modules``: :func:`sivae_sklearn.datasets.make_program_modules` at its defaults (``random_state=0``),
  K = 4, scored by :func:`sivae_sklearn.metrics.module_recovery` (module ARI);
* ``family <i>``: configuration ``i`` of ``make_program_family(--family-configs, random_state=0)`` at its
  own ``n_components``, module ARI;
* ``digits``: ``load_digits`` standardised, K = 2, scored by the 5-fold kNN accuracy (k = 10) of the
  embedding (no modules there).

Each seed is fitted once with ``n_init=3``. Its first initialisation is the ``n_init=1`` fit of that seed,
bit for bit (``tests/test_n_init.py``), so every initialisation's loadings are recorded as it is scored
(through the estimator's private scoring hook) and ``n_init=1`` is read off the first one: the two
settings are compared on the same trained networks. Time: ``n_init=1`` is the first initialisation's
training, ``n_init=3`` the whole fit. PCA and FactorAnalysis are fitted in the same run as peers.

Usage::

    PYTHONPATH=. nice -n 5 python benchmarks/bench_n_init.py                 # about 15 min on 2 cores
    PYTHONPATH=. python benchmarks/bench_n_init.py --smoke                   # 3 epochs, 1 seed
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results"


def problems(family_configs: list[int], n_family: int):
    """``[(name, X, modules or digit labels, n_components, scorer)]``."""
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    from sivae_sklearn.datasets import make_program_family, make_program_modules

    out = []
    X, modules, _ = make_program_modules(random_state=0)
    out.append(("modules", X.astype(np.float32), modules, 4, "ari"))
    if family_configs:
        family = make_program_family(n_family, random_state=0)
        for i in family_configs:
            X, modules, settings = family[i]
            out.append((f"family {i}", X.astype(np.float32), modules, int(settings["n_components"]), "ari"))
    digits = load_digits()
    X = StandardScaler().fit_transform(digits.data).astype(np.float32)
    out.append(("digits", X, digits.target, 2, "knn"))
    return out


def knn_accuracy(Z, labels) -> float:
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    return float(np.mean(cross_val_score(KNeighborsClassifier(10), Z, labels, cv=5)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-epochs", type=int, default=120)
    parser.add_argument("--n-init", type=int, default=3)
    parser.add_argument("--family-configs", type=int, nargs="*", default=[0])
    parser.add_argument("--n-family", type=int, default=4)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.seeds, args.max_epochs, args.family_configs = [0], 3, []

    from sklearn.decomposition import PCA, FactorAnalysis

    from sivae_sklearn import SiVAE
    from sivae_sklearn._estimator import sivae as sivae_module
    from sivae_sklearn.metrics import module_recovery

    recorded: list[dict] = []
    score = sivae_module._init_score

    def recording(compiled, data):
        value = score(compiled, data)
        recorded.append({"score": value, "components": compiled.feature_embedding()[0], "time": time.perf_counter()})
        return value

    sivae_module._init_score = recording
    rows = []
    for name, X, truth, k, kind in problems(args.family_configs, args.n_family):
        for seed in args.seeds:
            for peer, cls in (("PCA", PCA), ("FactorAnalysis", FactorAnalysis)):
                est = cls(k, random_state=seed).fit(X)
                if kind == "ari":
                    q = float(module_recovery(est.components_.T, truth))
                else:
                    q = knn_accuracy(est.transform(X), truth)
                rows.append({"problem": name, "method": peer, "seed": seed, "quality": q})
            recorded.clear()
            start = time.perf_counter()
            model = SiVAE(k, n_init=args.n_init, max_epochs=args.max_epochs, random_state=seed).fit(X)
            total = time.perf_counter() - start
            assert len(recorded) == args.n_init
            per_init = []
            for r in recorded:
                if kind == "ari":
                    per_init.append(float(module_recovery(r["components"], truth)))
                else:
                    per_init.append(None)
            if kind == "knn":
                per_init[model.best_init_] = knn_accuracy(model.transform(X), truth)
                first = SiVAE(k, max_epochs=args.max_epochs, random_state=seed).fit(X) if model.best_init_ else model
                per_init[0] = knn_accuracy(first.transform(X), truth)
            row = {
                "problem": name,
                "method": "SiVAE",
                "seed": seed,
                "scores": [float(r["score"]) for r in recorded],
                "best_init": int(model.best_init_),
                "per_init_quality": per_init,
                "quality_n_init_1": per_init[0],
                "quality_n_init_3": per_init[model.best_init_],
                "seconds_n_init_1": recorded[0]["time"] - start,
                "seconds_n_init_3": total,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = []
    for name in dict.fromkeys(r["problem"] for r in rows):
        sv = [r for r in rows if r["problem"] == name and r["method"] == "SiVAE"]
        entry = {"problem": name}
        for key in ("quality_n_init_1", "quality_n_init_3"):
            q = [r[key] for r in sv]
            entry[key] = {"median": float(np.median(q)), "min": float(min(q)), "max": float(max(q))}
        for key in ("seconds_n_init_1", "seconds_n_init_3"):
            entry[key] = float(np.median([r[key] for r in sv]))
        for peer in ("PCA", "FactorAnalysis"):
            q = [r["quality"] for r in rows if r["problem"] == name and r["method"] == peer]
            entry[peer] = {"median": float(np.median(q)), "min": float(min(q)), "max": float(max(q))}
        summary.append(entry)
        print(json.dumps(entry), flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("n_init_smoke.json" if args.smoke else "n_init.json")
    payload = {
        "settings": vars(args),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "load": os.getloadavg()},
        "rows": rows,
        "summary": summary,
    }
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
