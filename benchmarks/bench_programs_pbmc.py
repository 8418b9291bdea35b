"""Gene programs on real cells: ``SiVAE(feature_programs=...)`` on scanpy's ``pbmc68k_reduced``.

Two programs from standard marker tables (B cells: MS4A1, CD79A, CD79B, CD19,
BANK1, CD22, TCL1A, VPREB3; NK cells: GNLY, NKG7, KLRD1, KLRF1, PRF1, FGFBP2,
CST7, SPON2; members absent from the 765 genes are reported and dropped) each
own one latent dimension. Measured at 3 seeds, with and without the programs,
SiVAE's defaults otherwise (``program_weight=0.1, program_embedding_weight=10``: a weak mask and the embedding
coupling; ``--params '{"program_weight": 1, "program_embedding_weight": 0}'`` measures the full soft mask alone):

* how well each named dimension separates its cell type (``bulk_labels``
  "CD19+ B", "CD56+ NK") from every other cell: the AUROC of the cells'
  coordinate on that dimension, taken in the direction that separates (a
  latent dimension's sign is arbitrary), and for reference the best AUROC of
  any dimension of the model fitted without programs;
* the embedding's kNN accuracy on ``bulk_labels`` (5-fold, k = 2 x classes);
* ``program_support_`` of each program.

Run from the repository root (about 10 minutes on 2 shared CPU cores)::

    PYTHONPATH=. nice -n 5 python benchmarks/bench_programs_pbmc.py [--seeds 0 1 2] [--n-components 10]
    PYTHONPATH=. nice -n 5 python benchmarks/bench_programs_pbmc.py \
        --params '{"program_weight": 1, "program_embedding_weight": 10}' \
        --without-from programs_pbmc.json --results programs_pbmc_embed10.json

``--without-from`` reuses the fits without programs of an earlier results file (parameters that act only with
programs, such as ``program_weight`` and ``program_embedding_weight``, do not change them).

Writes ``benchmarks/results/programs_pbmc.json`` (or ``--results``).
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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import knn_accuracy  # noqa: E402

from sivae_sklearn import SiVAE  # noqa: E402
from sivae_sklearn._io import write_json  # noqa: E402

PROGRAMS = {
    "B cell": ["MS4A1", "CD79A", "CD79B", "CD19", "BANK1", "CD22", "TCL1A", "VPREB3"],
    "NK cell": ["GNLY", "NKG7", "KLRD1", "KLRF1", "PRF1", "FGFBP2", "CST7", "SPON2"],
}
CELL_TYPES = {"B cell": "CD19+ B", "NK cell": "CD56+ NK"}


def load():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import scanpy as sc

        adata = sc.datasets.pbmc68k_reduced()
    import pandas as pd

    X = pd.DataFrame(np.asarray(adata.X, np.float32), columns=list(adata.var_names))
    return X, adata.obs["bulk_labels"].astype(str).to_numpy()


def separation(z: np.ndarray, is_type: np.ndarray) -> float:
    """AUROC of one coordinate for one cell type, in the direction that separates."""
    auc = roc_auc_score(is_type, z)
    return float(max(auc, 1.0 - auc))


def run(seed: int, n_components: int, X, labels, params: dict | None = None, without: dict | None = None) -> dict:
    codes = np.unique(labels, return_inverse=True)[1]
    record = {"seed": seed}
    if without is not None:
        record["without"] = without
    for name, programs in (("without", None), ("with", PROGRAMS)):
        if name in record:
            continue
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the absent members' one warning
            model = SiVAE(n_components, feature_programs=programs, random_state=seed, **(params or {})).fit(X)
        Z = model.transform(X)
        entry = {"fit_s": time.perf_counter() - start, "knn": knn_accuracy(Z, codes, seed)}
        for k, program in enumerate(PROGRAMS):
            is_type = labels == CELL_TYPES[program]
            if programs is None:
                entry[f"best_any_dim/{program}"] = max(separation(Z[:, j], is_type) for j in range(n_components))
            else:
                entry[f"named_dim/{program}"] = separation(Z[:, k], is_type)
                entry[f"support/{program}"] = float(np.asarray(model.program_support_)[k])
        if programs is not None:
            entry["dimension_names"] = [str(n) for n in model.dimension_names_]
        record[name] = entry
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-components", type=int, default=10)
    parser.add_argument("--params", default="{}", help="SiVAE parameters of both fits, as JSON")
    parser.add_argument("--results", default="programs_pbmc.json")
    parser.add_argument(
        "--without-from",
        default=None,
        help="a results file of this benchmark whose fits without programs (same seeds, same --params but for "
        "the programs-only parameters) are reused instead of refitted",
    )
    args = parser.parse_args()
    params = json.loads(args.params)
    reused = {}
    if args.without_from:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", args.without_from)
        with open(path, encoding="utf-8") as handle:
            reused = {r["seed"]: r["without"] for r in json.load(handle)["runs"]}
    X, labels = load()
    present = {p: [g for g in genes if g in set(X.columns)] for p, genes in PROGRAMS.items()}
    print("present members:", json.dumps(present))
    runs = []
    for seed in args.seeds:
        runs.append(run(seed, args.n_components, X, labels, params, reused.get(seed)))
        print(json.dumps(runs[-1]), flush=True)
    summary = {}
    for name in ("without", "with"):
        for key in runs[0][name]:
            if key == "dimension_names":
                continue
            values = np.array([r[name][key] for r in runs], float)
            summary[f"{name}/{key}"] = {
                "median": float(np.median(values)),
                "min": float(values.min()),
                "max": float(values.max()),
            }
    diff = np.array([r["with"]["knn"] - r["without"]["knn"] for r in runs])
    summary["knn_with_minus_without"] = {
        "median": float(np.median(diff)),
        "min": float(diff.min()),
        "max": float(diff.max()),
    }
    for key, entry in summary.items():
        print(f"{key}: median {entry['median']:.3f} ({entry['min']:.3f}, {entry['max']:.3f})")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", args.results)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    write_json(
        out,
        {
            "n_components": args.n_components,
            "params": params,
            "without_from": args.without_from,
            "present": present,
            "runs": runs,
            "summary": summary,
        },
        indent=2,
    )


if __name__ == "__main__":
    main()
