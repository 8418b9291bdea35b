"""Feature programs on planted modules: does half of a module, given as a program, recover the other half?

On :func:`sivae_sklearn.datasets.make_program_modules` (its defaults: 4 correlated programs, modules of 5 to
30 features through thresholded and non-monotone maps, 20 heavy-tailed or sparse noise features, 1,000 rows),
a random half of each module's members (at least 2) is given as a program, plus one program of noise
features (up to 8 of them), so ``n_components`` is the modules + 1 (the noise program) + 1 free dimension.
Each seed draws its own data, halves and initialisation. Measured per fit (SiVAE's defaults otherwise):

* ``recovery_auroc``: per module, the AUROC of ``|components_[k]|`` (the loadings on the program's dimension)
  separating the module's *unlisted* members from the features outside the module; the median over modules;
* ``ari``: module recovery of all loadings (:func:`sivae_sklearn.metrics.module_recovery`), with programs and
  without them (the same ``n_components``); ``ari_unlisted``: the same over the unlisted members only;
* ``embedding_corr``: per module, ``|corr(z_k, u_k)|`` of the program's dimension with its planted latent
  program; the median over modules;
* ``support`` of the real programs (median) and of the noise program (``program_support_``), beside the null
  level ``(1 + sqrt(m / n))^2 / m`` that no dimension can exceed on average for ``m`` independent features.

Each setting of ``--embed-weights`` (``program_embedding_weight``; 0 is the soft mask alone) is one fit with
programs per seed. ``--family N`` adds the first N held-out configurations of
:func:`sivae_sklearn.datasets.make_program_family` (``random_state=0``), one fit per seed each, at their
``n_components`` + 1.

Run from the repository root (about 15 minutes on 2 shared CPU cores)::

    PYTHONPATH=. nice -n 5 python benchmarks/bench_programs.py [--seeds 0 1 2] [--embed-weights 0 1 10]
    PYTHONPATH=. nice -n 5 python benchmarks/bench_programs.py --no-modules --family 2 --embed-weights 0 1 \
        --results programs_family.json

Writes ``benchmarks/results/programs.json`` (or ``--results``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sivae_sklearn import SiVAE  # noqa: E402
from sivae_sklearn._io import write_json  # noqa: E402
from sivae_sklearn.datasets import make_program_family, make_program_modules  # noqa: E402
from sivae_sklearn.metrics import module_recovery  # noqa: E402

MAX_NOISE_MEMBERS = 8


def make_programs(modules: np.ndarray, seed: int) -> tuple[dict, dict]:
    """Half of each module's members (at least 2) as a program, and a program of noise features.

    Returns the programs (name -> column indices) and, per module program, its unlisted members.
    """
    rng = np.random.RandomState(1000 + seed)
    programs, unlisted = {}, {}
    for m in np.unique(modules[modules >= 0]):
        members = rng.permutation(np.flatnonzero(modules == m))
        n_listed = max(2, members.size // 2)
        programs[f"module{m}"] = sorted(int(i) for i in members[:n_listed])
        unlisted[f"module{m}"] = sorted(int(i) for i in members[n_listed:])
    noise = np.flatnonzero(modules < 0)
    if noise.size >= 2:
        programs["noise"] = sorted(int(i) for i in rng.choice(noise, min(MAX_NOISE_MEMBERS, noise.size), False))
    return programs, unlisted


def fit(X, k: int, seed: int, programs=None, params=None) -> tuple[SiVAE, float]:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SiVAE(k, feature_programs=programs, random_state=seed, **(params or {})).fit(X)
    return model, time.perf_counter() - start


def scores(model, X, modules, latent, programs, unlisted) -> dict:
    """The measures of one fit with programs."""
    loadings = np.abs(np.asarray(model.components_))
    Z = model.transform(X)
    support = np.asarray(model.program_support_)
    names = list(programs)
    recovery, corr, real_support = [], [], []
    for k, name in enumerate(names):
        if name == "noise":
            continue
        m = int(name.removeprefix("module"))
        outside = modules != m
        if unlisted[name]:
            idx = np.concatenate([unlisted[name], np.flatnonzero(outside)])
            truth = np.r_[np.ones(len(unlisted[name])), np.zeros(int(outside.sum()))]
            recovery.append(roc_auc_score(truth, loadings[k, idx]))
        if latent is not None:
            corr.append(abs(np.corrcoef(Z[:, k], latent[:, m])[0, 1]))
        real_support.append(support[k])
    unlisted_only = np.full_like(modules, -1)
    for name, idx in unlisted.items():
        unlisted_only[idx] = int(name.removeprefix("module"))
    out = {
        "ari": module_recovery(np.asarray(model.components_).T, modules),
        "ari_unlisted": module_recovery(np.asarray(model.components_).T, unlisted_only),
        "recovery_auroc": float(np.median(recovery)),
        "recovery_auroc_min": float(np.min(recovery)),
        "support_real": float(np.median(real_support)),
        "support_real_min": float(np.min(real_support)),
        "n_iter": int(model.n_iter_),
    }
    if corr:
        out["embedding_corr"] = float(np.median(corr))
    if "noise" in programs:
        m, n = len(programs["noise"]), X.shape[0]
        out["support_noise"] = float(support[names.index("noise")])
        out["noise_null_level"] = float((1 + np.sqrt(m / n)) ** 2 / m)
    return out


def run_problem(X, modules, latent, k: int, seed: int, weights, params) -> dict:
    X = np.asarray(X, np.float32)
    programs, unlisted = make_programs(modules, seed)
    k = max(k, len(programs))
    record = {"seed": seed, "n_components": k, "programs": {p: len(v) for p, v in programs.items()}}
    model, seconds = fit(X, k, seed, None, params)
    record["without"] = {"ari": module_recovery(np.asarray(model.components_).T, modules), "fit_s": seconds}
    for w in weights:
        model, seconds = fit(X, k, seed, programs, {**params, "program_embedding_weight": w})
        record[f"embed{w:g}"] = {**scores(model, X, modules, latent, programs, unlisted), "fit_s": seconds}
    return record


def summarise(runs: list[dict]) -> dict:
    summary = {}
    for key in [k for k in runs[0] if k == "without" or k.startswith("embed")]:
        for measure in runs[0][key]:
            values = np.array([r[key][measure] for r in runs if measure in r[key]], float)
            summary[f"{key}/{measure}"] = {
                "median": float(np.median(values)),
                "min": float(values.min()),
                "max": float(values.max()),
            }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--embed-weights", type=float, nargs="+", default=[0.0, 1.0, 10.0])
    parser.add_argument("--family", type=int, default=0, help="held-out make_program_family configurations")
    parser.add_argument("--params", default="{}", help="SiVAE parameters of every fit, as JSON")
    parser.add_argument("--results", default="programs.json")
    parser.add_argument("--no-modules", action="store_true", help="only the --family configurations")
    args = parser.parse_args()
    params = json.loads(args.params)
    runs = []
    for seed in [] if args.no_modules else args.seeds:
        X, modules, latent = make_program_modules(random_state=seed)
        # n_components: the 4 module programs, the noise program, one free dimension
        runs.append(run_problem(X, modules, latent, 6, seed, args.embed_weights, params))
        print(json.dumps(runs[-1]), flush=True)
    family = []
    if args.family:
        problems = make_program_family(half="heldout", random_state=0)[: args.family]
        for X, modules, settings in problems:
            for seed in args.seeds:
                k = settings["n_components"] + 1  # the noise program's dimension
                record = run_problem(X, modules, None, k, seed, args.embed_weights, params)
                record["config"] = int(settings["index"])
                family.append(record)
                print(json.dumps(record), flush=True)
    result = {"params": params, "embed_weights": args.embed_weights, "runs": runs}
    if runs:
        result["summary"] = summarise(runs)
    if family:
        result["family"] = family
        result["family_summary"] = summarise(family)
    for part in ("summary", "family_summary"):
        for key, entry in result.get(part, {}).items():
            print(f"{part} {key}: median {entry['median']:.3f} ({entry['min']:.3f}, {entry['max']:.3f})")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", args.results)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write_json(out, result, indent=2)


if __name__ == "__main__":
    main()
