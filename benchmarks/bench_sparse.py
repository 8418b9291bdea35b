"""Sparse input at scale: peak memory and time per epoch of SiVAE on CSR counts.

Two measurements on synthetic Poisson counts at 5% density (float32 CSR):

1. **memory**: fit one epoch on an ``n_cells x n_genes`` CSR matrix and report
   the peak of Python-side allocations (``tracemalloc``: NumPy / SciPy buffers,
   not TensorFlow's own allocator) and the growth of the process's peak RSS
   (``resource.getrusage``; includes TensorFlow), beside the size the dense
   float32 matrix would have;
2. **scaling**: time per training epoch at several numbers of cells (the
   training loop's own minibatching and compiled step, after a warm-up epoch,
   so that the one-off costs of ``fit`` are left out).

Usage::

    python benchmarks/bench_sparse.py --quick   # memory at 100,000 x 2,000; epochs at 5k/10k/20k cells
    python benchmarks/bench_sparse.py           # memory as above; epochs at 25k/50k/100k/200k cells

``--quick`` runs in about 2 minutes on 2 shared CPU cores; the full run takes
several times longer.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sivae_sklearn import SiVAE  # noqa: E402
from sivae_sklearn._engine.network import NetworkConfig, SiVAENetwork  # noqa: E402
from sivae_sklearn._engine.training import TrainingConfig, TrainingData, train  # noqa: E402
from sivae_sklearn._io import write_json  # noqa: E402

MODEL = dict(
    n_components=10,
    hidden_layer_sizes=(32,),
    likelihood="poisson",
    batch_size=512,
    early_stopping=False,
    validation_fraction=0.0,
    feature_input_size=20,
    random_state=0,
)


def random_counts(n_cells: int, n_genes: int, density: float, seed: int = 0) -> sp.csr_matrix:
    """CSR float32 counts (1 + Poisson(1)) at the given density, built without a dense matrix."""
    rng = np.random.default_rng(seed)
    nnz_per_row = rng.binomial(n_genes, density, size=n_cells)
    indptr = np.concatenate([[0], np.cumsum(nnz_per_row)]).astype(np.int64)
    indices = np.empty(indptr[-1], dtype=np.int32)
    for i in range(n_cells):  # sorted distinct columns per row
        indices[indptr[i] : indptr[i + 1]] = np.sort(rng.choice(n_genes, nnz_per_row[i], replace=False))
    data = (1 + rng.poisson(1.0, size=indptr[-1])).astype(np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(n_cells, n_genes))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def memory_run(n_cells: int, n_genes: int, density: float) -> dict:
    X = random_counts(n_cells, n_genes, density)
    csr_mib = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20
    dense_mib = n_cells * n_genes * 4 / 2**20
    gc.collect()
    SiVAE(**dict(MODEL, max_epochs=1)).fit(X[:1000])  # warm up TensorFlow so its start-up is not counted
    gc.collect()
    rss_before = peak_rss_mib()
    tracemalloc.start()
    start = time.perf_counter()
    SiVAE(**dict(MODEL, max_epochs=1)).fit(X)
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "n_cells": n_cells,
        "n_genes": n_genes,
        "density": density,
        "csr_mib": round(csr_mib, 1),
        "dense_float32_mib": round(dense_mib, 1),
        "tracemalloc_peak_mib": round(traced_peak / 2**20, 1),
        "peak_rss_growth_mib": round(peak_rss_mib() - rss_before, 1),
        "fit_1_epoch_s": round(seconds, 1),
    }


def epoch_time(n_cells: int, n_genes: int, density: float, n_epochs: int = 3) -> dict:
    """Seconds per training epoch (minibatch densification + compiled step), after a warm-up epoch.

    Runs the training loop itself (``_training.train``, its ``epoch_seconds``)
    so that one-off costs of ``fit`` (feature-input PCA, feature awareness) are
    not mixed in; the first epoch (tracing) is left out.
    """
    X = random_counts(n_cells, n_genes, density, seed=1)
    config = NetworkConfig(
        n_features=n_genes,
        n_feature_inputs=MODEL["feature_input_size"],
        n_components=MODEL["n_components"],
        hidden_layer_sizes=MODEL["hidden_layer_sizes"],
        input_transform="log1p",
    )
    network = SiVAENetwork(config, seed=0)
    params = SiVAE(**{**MODEL, "max_epochs": n_epochs + 1, "kl_warmup_steps": 0}).get_params()
    result = train(
        network, TrainingData(X), None, TrainingConfig.from_params(params, n_cells, n_features=X.shape[1]), seed=0
    )
    per_epoch = float(np.mean(result.epoch_seconds[1:]))
    return {"n_cells": n_cells, "s_per_epoch": round(per_epoch, 3), "us_per_cell": round(1e6 * per_epoch / n_cells, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, under 2 minutes on 2 cores")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    n_genes, density = 2000, 0.05
    if args.quick:
        sizes = (5_000, 10_000, 20_000)
    else:
        sizes = (25_000, 50_000, 100_000, 200_000)
    memory_cells = 100_000
    print(f"model: {MODEL}")
    mem = memory_run(memory_cells, n_genes, density)
    print("memory:", json.dumps(mem))
    scaling = []
    for n in sizes:
        row = epoch_time(n, n_genes, density)
        scaling.append(row)
        print("scaling:", json.dumps(row))
    base = scaling[0]["s_per_epoch"] / scaling[0]["n_cells"]
    for row in scaling:
        linear = base * row["n_cells"]
        print(f"  {row['n_cells']:>7} cells: {row['s_per_epoch']:.2f} s/epoch (linear would be {linear:.2f})")
    if args.json:
        write_json(args.json, {"memory": mem, "scaling": scaling, "model": str(MODEL)}, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
