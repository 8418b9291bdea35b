"""Module recovery and noise detection over a family of planted-module problems nobody tuned on.

The problems are :func:`sivae_sklearn.datasets.make_program_family` (48 configurations,
``random_state=0``), split by that function into a tuning half and a held-out half of 24 each.
Every configuration is fitted at its own ``n_components`` (the number of programs or one more)
by these methods, each at every seed of ``--seeds`` (the data stay those of the configuration;
the seed is the method's ``random_state``):

* ``PCA``, ``FactorAnalysis``, ``FastICA`` (scikit-learn, defaults), loadings
  ``components_.T`` (``mixing_`` for FastICA);
* ``NMF`` on the data shifted to be non-negative (each feature minus its minimum,
  ``init="nndsvda"``), loadings ``components_.T``;
* ``correlation``: the features' own correlation rows as loadings (the reference);
* ``SiVAE``: the package's defaults; ``SiVAE original``: the original siVAE objective
  (:data:`sivae_sklearn._engine.objective.ORIGINAL_OBJECTIVE` over the defaults).

Scores, per fit:

* ``ari``: :func:`sivae_sklearn.metrics.module_recovery` of the loadings (k-means on the
  unit-length loading rows of the module features, adjusted Rand index against the modules);
* ``auroc``: AUROC of a per-feature score for module features (positive) against noise features
  (none where a configuration has no noise features). The score is SiVAE's
  ``feature_awareness_``; for PCA, FastICA and NMF the share of each feature's variance that the
  ``n_components`` components reconstruct; for FactorAnalysis the communality
  (``1 - noise_variance_ / variance``); for the correlation rows the feature's largest absolute
  correlation with another feature.

Summary (``summary`` in the JSON, rendered by ``report.py``): per configuration the median over
seeds of every score and the seed spread (max - min) of ``ari`` (with two seeds or more); per method the median over
configurations of those, and the share of configurations where SiVAE's median ``ari`` is above
the method's (``sivae_beats``) and at least the method's (``sivae_at_least``: where both reach 1,
neither can be above the other).

Every fit is a task run in ``--jobs`` worker processes, one TensorFlow and one BLAS thread each.
Results go to ``benchmarks/results/family.json`` (``family_smoke.json`` for ``--smoke``), written
atomically after every finished task, so a cut run keeps what it measured; a rerun skips the
tasks already stored with the same settings (``--fresh`` starts over).

Usage::

    PYTHONPATH=. python benchmarks/bench_family.py --smoke                      # 2 configs, 1 seed, 3 epochs
    PYTHONPATH=. python benchmarks/bench_family.py --half tuning --max-epochs 60
    PYTHONPATH=. python benchmarks/bench_family.py --half tuning --configs 0 4 7  # family indices
    PYTHONPATH=. python benchmarks/bench_family.py --report                     # summarise the JSON again
    PYTHONPATH=. python benchmarks/report.py                                    # the tables
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sivae_sklearn._io import write_json  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
FAMILY_CONFIGS = 48
FAMILY_SEED = 0
BASELINES = ("PCA", "FactorAnalysis", "FastICA", "NMF", "correlation")
SIVAE = {"SiVAE": "defaults", "SiVAE original": "original"}
METHODS = (*BASELINES, *SIVAE)
SMOKE = {"configs": 2, "seeds": [0], "max_epochs": 3, "n_samples": 400}
_THREAD_VARS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")


# ---------------------------------------------------------------------- data
def family_settings(half: str) -> list[dict]:
    """The settings of the family's configurations in ``half`` (``"all"``, ``"tuning"`` or ``"heldout"``)."""
    from sivae_sklearn.datasets import make_program_family

    return [s for _, _, s in make_program_family(FAMILY_CONFIGS, half=half, random_state=FAMILY_SEED)]


@functools.cache
def _problem(params_json: str):
    from sivae_sklearn.datasets import make_program_modules

    params = json.loads(params_json)
    params["module_size_range"] = tuple(params["module_size_range"])
    X, modules, _ = make_program_modules(**params)
    return X, modules


# ------------------------------------------------------------------ methods
def _reconstructed_share(X, X_hat) -> np.ndarray:
    """Share of each feature's variance that ``X_hat`` reconstructs."""
    return 1.0 - np.mean(np.square(X - X_hat), axis=0) / X.var(axis=0)


def fit_method(method: str, X, k: int, seed: int, max_epochs: int | None):
    """``(loadings, per-feature score, extra fields)`` of one method fitted to ``X`` at ``k`` dimensions."""
    from sklearn.decomposition import NMF, PCA, FactorAnalysis, FastICA

    if method == "PCA":
        pca = PCA(k, random_state=seed).fit(X)
        return pca.components_.T, _reconstructed_share(X, pca.inverse_transform(pca.transform(X))), {}
    if method == "FactorAnalysis":
        fa = FactorAnalysis(k, random_state=seed).fit(X)
        return fa.components_.T, 1.0 - fa.noise_variance_ / X.var(axis=0), {}
    if method == "FastICA":
        ica = FastICA(k, random_state=seed, max_iter=1000).fit(X)
        return ica.mixing_, _reconstructed_share(X, ica.inverse_transform(ica.transform(X))), {}
    if method == "NMF":
        shifted = X - X.min(axis=0)
        nmf = NMF(k, init="nndsvda", max_iter=1000, random_state=seed).fit(shifted)
        return nmf.components_.T, _reconstructed_share(shifted, nmf.inverse_transform(nmf.transform(shifted))), {}
    if method == "correlation":
        corr = np.corrcoef(X.T)
        return corr, np.max(np.abs(corr - np.eye(corr.shape[0])), axis=1), {}
    if method in SIVAE:
        from sivae_sklearn import SiVAE
        from sivae_sklearn._engine.objective import ORIGINAL_OBJECTIVE

        params = dict(ORIGINAL_OBJECTIVE) if SIVAE[method] == "original" else {}
        if max_epochs is not None:
            params["max_epochs"] = max_epochs
        model = SiVAE(k, random_state=seed, **params).fit(X.astype(np.float32))
        extra = {"n_iter": int(model.n_iter_), "final_beta": float(model.history_["beta"][-1])}
        return model.components_.T, model.feature_awareness_, extra
    raise ValueError(f"unknown method {method!r}")


def run_task(task: dict) -> dict:
    """Fit the methods of one task on one configuration at one seed and score them."""
    import warnings

    import tensorflow as tf
    from sklearn.metrics import roc_auc_score

    from sivae_sklearn.metrics import module_recovery

    if task.get("deadline") is not None and time.time() > task["deadline"]:
        return {"task": task_key(task), "rows": [], "skipped": True}
    warnings.filterwarnings("ignore")
    tf.get_logger().setLevel("ERROR")
    X, modules = _problem(json.dumps(task["params"], sort_keys=True))
    out = []
    for method in task["methods"]:
        start = time.perf_counter()
        loadings, score, extra = fit_method(method, X, task["n_components"], task["seed"], task["max_epochs"])
        fit_s = time.perf_counter() - start
        noise = modules < 0
        auroc = float(roc_auc_score(~noise, score)) if noise.any() else None
        row = {k: task[k] for k in ("config", "seed", "max_epochs", "smoke")}
        out.append(row | {"method": method, "ari": module_recovery(loadings, modules), "auroc": auroc} | extra)
        out[-1]["fit_s"] = fit_s
    return {"task": task_key(task), "rows": out}


def task_key(task: dict) -> str:
    fields = ("config", "seed", "methods", "max_epochs", "smoke")
    return json.dumps({k: task[k] for k in fields}, sort_keys=True)


def _priority(task: dict, seeds) -> tuple:
    """Run order, so that a cut run holds whole seeds: every baseline, SiVAE's defaults at the first seed,
    the original objective at the first seed, the defaults at the other seeds, the original at the others."""
    first = task["seed"] == seeds[0]
    if task["methods"] == list(BASELINES):
        rank = 0
    elif task["methods"] == ["SiVAE"]:
        rank = 1 if first else 3
    else:
        rank = 2 if first else 4
    return rank, seeds.index(task["seed"]), task["config"]


def build_tasks(settings: list[dict], seeds, max_epochs, smoke: bool) -> list[dict]:
    """One task for the baselines and one per SiVAE variant, per configuration and seed, in run order."""
    tasks = []
    for s in settings:
        params = dict(s["params"])
        if smoke:
            params["n_samples"] = min(params["n_samples"], SMOKE["n_samples"])
        for seed in seeds:
            base = {"config": s["index"], "seed": seed, "n_components": s["n_components"], "params": params}
            base |= {"max_epochs": max_epochs, "smoke": smoke}
            tasks += [base | {"methods": list(BASELINES)}] + [base | {"methods": [m]} for m in SIVAE]
    return sorted(tasks, key=lambda t: _priority(t, list(seeds)))


# ------------------------------------------------------------------- summary
def _median(values):
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def summarise(rows: list[dict], settings: list[dict]) -> dict:
    """Per configuration and method: median ARI, AUROC, fit time and epochs over seeds, ARI seed spread;
    per method: medians over configurations and the share of configurations SiVAE beats."""
    per_config = []
    for s in settings:
        cells = {}
        for method in METHODS:
            rs = [r for r in rows if r["config"] == s["index"] and r["method"] == method]
            if not rs:
                continue
            aris = [r["ari"] for r in rs]
            cells[method] = {
                "ari": float(np.median(aris)),
                "ari_spread": float(np.max(aris) - np.min(aris)) if len(aris) > 1 else None,
                "auroc": _median([r["auroc"] for r in rs]),
                "fit_s": _median([r["fit_s"] for r in rs]),
                "n_iter": _median([r.get("n_iter") for r in rs]),
                "n_seeds": len(rs),
            }
        if cells:
            per_config.append({"config": s["index"], "hard": s["hard"], "methods": cells})
    overall = {}
    for method in METHODS:
        cs = [c for c in per_config if method in c["methods"]]
        if not cs:
            continue
        entry = {"n_configs": len(cs)}
        for name in ("ari", "ari_spread", "auroc", "fit_s", "n_iter"):
            entry[name] = _median([c["methods"][method][name] for c in cs])
        for group, hard in (("ari_hard", True), ("ari_easy", False)):
            entry[group] = _median([c["methods"][method]["ari"] for c in cs if c["hard"] == hard])
        both = [c for c in cs if "SiVAE" in c["methods"]]
        if method != "SiVAE" and both:
            sivae, other = (np.array([c["methods"][m]["ari"] for c in both]) for m in ("SiVAE", method))
            entry["sivae_beats"] = float(np.mean(sivae > other))
            entry["sivae_at_least"] = float(np.mean(sivae >= other))
            entry["sivae_beats_of"] = len(both)
        overall[method] = entry
    return {"per_config": per_config, "methods": overall}


# ---------------------------------------------------------------------- main
def _machine() -> dict:
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "loadavg": list(os.getloadavg())}


def store(path: Path, payload: dict) -> None:
    """Write ``payload`` as JSON atomically (the package's ``write_json``: temporary file, fsync, rename)."""
    write_json(path, payload, indent=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("tuning", "heldout", "all"), default="tuning")
    parser.add_argument("--configs", type=int, nargs="+", help="family indices to run (default: every one of the half)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-epochs", type=int, default=None, help="cap of SiVAE's epochs (default: its own)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (one TensorFlow thread each)")
    parser.add_argument(
        "--time-limit", type=float, default=None, help="minutes after which no further task starts (a cut run)"
    )
    parser.add_argument("--smoke", action="store_true", help="2 configurations, 1 seed, 400 rows, 3 epochs")
    parser.add_argument("--results", default=None, help="results file in benchmarks/results")
    parser.add_argument("--fresh", action="store_true", help="forget the stored results")
    parser.add_argument("--report", action="store_true", help="summarise the stored results again and print them")
    args = parser.parse_args(argv)
    name = args.results or ("family_smoke.json" if args.smoke else "family.json")
    path = RESULTS / name
    if args.report:
        from report import family

        stored = json.loads(path.read_text())
        ordered = [stored["configs"][k] for k in sorted(stored["configs"], key=int)]
        stored["summary"] = summarise(stored["rows"], ordered)
        store(path, stored)
        print(family(stored))
        return
    settings = family_settings(args.half)
    if args.configs is not None:
        unknown = set(args.configs) - {s["index"] for s in settings}
        if unknown:
            parser.error(f"configurations {sorted(unknown)} are not in the {args.half} half")
        settings = [s for s in settings if s["index"] in args.configs]
    seeds, max_epochs = args.seeds, args.max_epochs
    if args.smoke:
        settings, seeds, max_epochs = settings[: SMOKE["configs"]], SMOKE["seeds"], SMOKE["max_epochs"]
    stored = {} if args.fresh or not path.exists() else json.loads(path.read_text())
    rows, done = stored.get("rows", []), set(stored.get("tasks", []))
    configs = {int(k): v for k, v in stored.get("configs", {}).items()} | {s["index"]: s for s in settings}
    todo = [t for t in build_tasks(settings, seeds, max_epochs, args.smoke) if task_key(t) not in done]
    meta = {
        "family": {"n_configs": FAMILY_CONFIGS, "random_state": FAMILY_SEED},
        "half": args.half,
        "seeds": seeds,
        "max_epochs": max_epochs,
        "smoke": args.smoke,
        "jobs": args.jobs,
        "machine": _machine(),
    }
    t0 = time.perf_counter()
    wall_before = stored.get("meta", {}).get("wall_s", 0.0) if not args.fresh else 0.0

    def save():
        meta["wall_s"] = wall_before + time.perf_counter() - t0
        meta["machine"]["loadavg_end"] = list(os.getloadavg())
        ordered = [configs[i] for i in sorted(configs)]
        payload = {"meta": meta, "configs": {str(s["index"]): s for s in ordered}, "tasks": sorted(done)}
        store(path, payload | {"summary": summarise(rows, ordered), "rows": rows})

    print(
        f"{len(todo)} tasks ({len(done)} stored) on {len(settings)} configurations, {args.jobs} worker(s)", flush=True
    )
    env_before = {k: os.environ.get(k) for k in (*_THREAD_VARS, "TF_CPP_MIN_LOG_LEVEL")}
    os.environ.update({k: "1" for k in _THREAD_VARS} | {"TF_CPP_MIN_LOG_LEVEL": "2"})
    try:
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            deadline = None if args.time_limit is None else time.time() + 60 * args.time_limit
            futures = {pool.submit(run_task, t | {"deadline": deadline}): t for t in todo}
            for i, fut in enumerate(as_completed(futures), 1):
                task = futures[fut]
                try:
                    result = fut.result()
                except Exception as exc:  # one failed fit must not cost the others
                    print(f"[{i}/{len(todo)}] FAILED config {task['config']} {task['methods']}: {exc!r}", flush=True)
                    continue
                if result.get("skipped"):
                    if not meta.get("cut"):
                        meta["cut"] = f"cut after {args.time_limit:g} min: the tasks not started by then were skipped"
                        print(meta["cut"], flush=True)
                    continue
                rows.extend(result["rows"])
                done.add(result["task"])
                save()
                scores = ", ".join(f"{r['method']} {r['ari']:.3f}" for r in result["rows"])
                print(
                    f"[{i}/{len(todo)} {time.perf_counter() - t0:.0f}s] config {task['config']} seed {task['seed']}: "
                    f"{scores}",
                    flush=True,
                )
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    save()
    from report import family

    print(family(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
