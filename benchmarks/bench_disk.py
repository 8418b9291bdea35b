"""Training from disk: time per epoch and peak memory up to 10^6 cells, and what chunked shuffling costs.

Two studies, run from the repository root::

    PYTHONPATH=. python benchmarks/bench_disk.py curve [--sizes 10000 100000 1000000] [--dir DIR]
    PYTHONPATH=. python benchmarks/bench_disk.py shuffle [--seeds 0 1 2]
    PYTHONPATH=. python benchmarks/bench_disk.py memory [--cells 300000] [--dir DIR]
    PYTHONPATH=. python benchmarks/bench_disk.py pool [--cells 300000] [--seeds 0 1 2] [--budgets ...]

``curve``: for each number of cells, a sparse count matrix (2,000 genes, 5%
non-zero, 1 + Poisson(1) counts) is written to an h5ad file in ``--dir``
(about 0.8 kB per cell on disk; deleted afterwards), then a fresh subprocess
opens it with ``anndata.read_h5ad(path, backed="r")`` and fits
:data:`MODEL` on ``adata.X`` for 2 epochs, so that its peak resident memory
belongs to that size alone. Recorded: the seconds of the pass before training
(chunk checks, validation rows, feature-input sample), of the second epoch (the
first one also traces the step), of the whole fit (3 more passes for the
fitted statistics) and of ``transform``, and the process's peak RSS and its RSS
after the imports. Full epochs are measured at every size; nothing is
extrapolated.

``shuffle``: scikit-learn's digits **sorted by class** (the worst order a file
can have, like cells written type by type) is fitted from memory (full shuffle)
and from a dask array of 32-row chunks, with the default pool of
``SHUFFLE_CHUNKS`` chunks and with a pool of one chunk (chunk order
only); 3 seeds each. Recorded: kNN accuracy of the embedding and how far each
minibatch's class mix is from the whole set's (total-variation distance,
averaged over the batches of an epoch; 0 is a perfect mix).

``memory``: the growth of resident memory during a 1-epoch fit of
:data:`MEMORY_MODEL` on a dense float32 matrix of ``--cells`` x 2,000
(standard normal values, written to an h5ad in ``--dir`` block by block and
deleted afterwards), read (a) as a dask array of 10,000-row chunks
(``dask.array.from_array`` of the file's dataset) and (b) as a backed h5ad
(``anndata.read_h5ad(path, backed="r").X``). Each fit runs in a fresh subprocess;
recorded: the peak resident memory (``ru_maxrss``) minus the resident memory
just before ``fit`` (after the imports and one TensorFlow op, which starts
TensorFlow's runtime), the peak of each stage of ``fit``, and the shuffle pool's
budget (``shuffle_buffer_bytes``; ``--budgets`` runs several), for each of
``--seeds`` (the model's ``random_state``: the validation rows, the feature
sample and the batches).

``pool``: what the pool's byte budget does to the mix of a batch, on the memory
study's layout (``--cells`` x 2,000 float32 in 10,000-row dask chunks; the
values are zeros computed by dask, only the positions matter), the file
sorted into 10 equal classes (cells written type by type). For each budget
and seed, one epoch of batches of :data:`MEMORY_MODEL`'s size; recorded: the
total-variation distance of each batch's class mix from the whole set's
(averaged over the epoch; a full shuffle's is listed for reference) and the
pool's rows.

Writes ``benchmarks/results/disk_curve.json``, ``disk_shuffle.json``, ``disk_memory.json`` and ``disk_pool.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from sivae_sklearn._io import write_json  # noqa: E402

RESULTS = HERE / "results"
N_GENES, DENSITY = 2000, 0.05
MODEL = dict(
    n_components=10,
    hidden_layer_sizes=(32,),
    likelihood="poisson",
    batch_size=512,
    feature_input_size=20,
    max_epochs=2,
    early_stopping=True,
    n_iter_no_change=10,
    random_state=0,
)
"""A small model, so that reading and densifying the data, not the network, set the pace."""

MEMORY_MODEL = dict(
    n_components=10,
    hidden_layer_sizes=(32,),
    batch_size=512,
    feature_input_size=20,
    max_epochs=1,
    random_state=0,
)
"""The memory study's model: Gaussian likelihood (the data are standard normal), one epoch."""
MEMORY_CHUNK_ROWS = 10_000


# ------------------------------------------------------------------- writing
def write_counts_h5ad(path: Path, n_cells: int, block: int = 50_000, seed: int = 0) -> float:
    """Write an ``n_cells x N_GENES`` sparse count matrix as a CSR h5ad, ``block`` rows at a time; its GB."""
    import anndata as ad
    import h5py
    import pandas as pd

    obs = pd.DataFrame(index=pd.RangeIndex(n_cells).astype(str))
    var = pd.DataFrame(index=[f"g{j}" for j in range(N_GENES)])
    ad.AnnData(obs=obs, var=var).write_h5ad(path)
    rng = np.random.default_rng(seed)
    with h5py.File(path, "a") as f:
        if "X" in f:
            del f["X"]
        group = f.create_group("X")
        group.attrs.update({"encoding-type": "csr_matrix", "encoding-version": "0.1.0", "shape": (n_cells, N_GENES)})
        data = group.create_dataset("data", (0,), np.float32, maxshape=(None,), chunks=(2**18,))
        indices = group.create_dataset("indices", (0,), np.int32, maxshape=(None,), chunks=(2**18,))
        indptr = group.create_dataset("indptr", (n_cells + 1,), np.int64)
        indptr[0] = 0
        nnz = 0
        for start in range(0, n_cells, block):
            rows = min(block, n_cells - start)
            per_row = rng.binomial(N_GENES, DENSITY, size=rows)
            row_of = np.repeat(np.arange(rows), per_row)
            cols = rng.integers(0, N_GENES, size=row_of.size)
            values = (1 + rng.poisson(1.0, size=row_of.size)).astype(np.float32)
            chunk = sp.csr_matrix((values, (row_of, cols)), shape=(rows, N_GENES))
            chunk.sum_duplicates()
            data.resize((nnz + chunk.nnz,))
            indices.resize((nnz + chunk.nnz,))
            data[nnz:] = chunk.data
            indices[nnz:] = chunk.indices
            indptr[start + 1 : start + rows + 1] = nnz + chunk.indptr[1:]
            nnz += chunk.nnz
    return path.stat().st_size / 1e9


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# ------------------------------------------------------------ one fit (child)
def fit_one(path: str) -> dict:
    """Fit MODEL on the backed file (run in a fresh process); times and memory."""
    import anndata as ad
    from _common import EpochTimes

    from sivae_sklearn import SiVAE
    from sivae_sklearn._arrays import rows as _data
    from sivae_sklearn._estimator import sivae as _estimator

    baseline = _rss_mb()
    adata = ad.read_h5ad(path, backed="r")
    split_s = []
    split = _estimator.split_training_rows

    def timed_split(*args, **kwargs):  # the one pass before training: checks, validation rows, feature sample
        t = time.perf_counter()
        out = split(*args, **kwargs)
        split_s.append(time.perf_counter() - t)
        return out

    with warnings.catch_warnings(), EpochTimes() as times:
        warnings.simplefilter("ignore")
        _estimator.split_training_rows = timed_split
        t0 = time.perf_counter()
        model = SiVAE(**MODEL).fit(adata.X)
        fit_s = time.perf_counter() - t0
        _estimator.split_training_rows = split
        t1 = time.perf_counter()
        model.transform(adata.X)
        transform_s = time.perf_counter() - t1
    result = times.results[-1]
    return {
        "n_cells": adata.n_obs,
        "n_genes": adata.n_vars,
        "chunks": _data.DiskRows(adata.X).n_chunks,
        "split_pass_s": split_s[0],
        "epoch_s": result.epoch_seconds,
        "s_per_epoch": result.epoch_seconds[-1],
        "steps_per_epoch": result.n_steps // result.n_iter,
        "fit_s": fit_s,
        "transform_s": transform_s,
        "rss_after_imports_mb": baseline,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_curve(sizes, folder: Path, keep: bool, out_path: Path) -> dict:
    """Fit every size in turn; ``out_path`` is rewritten after each one, so a run cut short keeps what it measured."""
    rows = []
    folder.mkdir(parents=True, exist_ok=True)
    print(f"model: {MODEL}")
    print(
        f"{'cells':>9} {'GB':>6} {'write s':>8} {'pass s':>7} {'s/epoch':>8} {'fit s':>7} {'peak MB':>8} {'base MB':>8}"
    )
    for n in sizes:
        path = folder / f"counts_{n}.h5ad"
        t0 = time.perf_counter()
        gb = write_counts_h5ad(path, n)
        write_s = time.perf_counter() - t0
        out = subprocess.run(
            [sys.executable, __file__, "fit-one", str(path)], capture_output=True, text=True, check=False
        )
        if not keep:
            path.unlink()
        if out.returncode:
            raise RuntimeError(out.stderr[-3000:])
        row = json.loads(out.stdout.strip().splitlines()[-1]) | {"file_gb": gb, "write_s": write_s}
        rows.append(row)
        print(
            f"{n:>9} {gb:>6.2f} {write_s:>8.1f} {row['split_pass_s']:>7.1f} {row['s_per_epoch']:>8.2f} "
            f"{row['fit_s']:>7.1f} {row['peak_rss_mb']:>8.0f} {row['rss_after_imports_mb']:>8.0f}",
            flush=True,
        )
        result = _curve_summary(rows)
        write_json(out_path, result, indent=1)
    if result["time_exponent"] is not None:
        print(f"time per epoch ~ cells^{result['time_exponent']:.2f}; ", end="")
    print(f"peak RSS above the imports: {np.round(result['peak_above_imports_mb']).tolist()} MB")
    return result


def _curve_summary(rows) -> dict:
    cells = np.array([r["n_cells"] for r in rows], float)
    epoch = np.array([r["s_per_epoch"] for r in rows])
    peak = np.array([r["peak_rss_mb"] - r["rss_after_imports_mb"] for r in rows])
    slope = float(np.polyfit(np.log(cells), np.log(epoch), 1)[0]) if len(rows) > 1 else None
    summary = {
        "time_exponent": slope,
        "us_per_cell_per_epoch": (1e6 * epoch / cells).tolist(),
        "peak_above_imports_mb": peak.tolist(),
    }
    return {"model": {k: list(v) if isinstance(v, tuple) else v for k, v in MODEL.items()}, "rows": rows} | summary


# ---------------------------------------------------------------- shuffling
def run_shuffle(seeds) -> dict:
    import dask.array as da
    from _common import knn_accuracy, load_digits_zscored

    from sivae_sklearn import SiVAE
    from sivae_sklearn._arrays import rows as _data

    X, y = load_digits_zscored()
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]
    model = dict(hidden_layer_sizes=(512, 128), max_epochs=60, early_stopping=False)
    overall = np.bincount(y, minlength=10) / y.size

    def batch_mix(source, pool):
        """Mean total-variation distance between a batch's class mix and the whole set's, over an epoch."""
        original, _data.SHUFFLE_CHUNKS = _data.SHUFFLE_CHUNKS, pool
        try:
            rows = source if isinstance(source, np.ndarray) else _data.DiskRows(source)
            batches = _data.epoch_batches(rows, 128, np.random.RandomState(0))()
            mixes = [np.bincount(y[b.positions], minlength=10) / b.positions.size for b in batches]
        finally:
            _data.SHUFFLE_CHUNKS = original
        return float(np.mean([0.5 * np.abs(m - overall).sum() for m in mixes]))

    on_disk = da.from_array(X, chunks=(32, X.shape[1]))
    settings = [
        ("in memory (full shuffle)", X, _data.SHUFFLE_CHUNKS),
        (f"on disk, pool of {_data.SHUFFLE_CHUNKS} chunks (default)", on_disk, _data.SHUFFLE_CHUNKS),
        ("on disk, pool of 1 chunk (chunk order only)", on_disk, 1),
    ]
    rows = []
    for name, source, pool in settings:
        original, _data.SHUFFLE_CHUNKS = _data.SHUFFLE_CHUNKS, pool
        try:
            scores = []
            for seed in seeds:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fitted = SiVAE(2, random_state=seed, **model).fit(source)
                scores.append(knn_accuracy(fitted.transform(X), y))
        finally:
            _data.SHUFFLE_CHUNKS = original
        row = {
            "setting": name,
            "batch_class_mix_tv": batch_mix(source, pool),
            "knn_accuracy": scores,
            "knn_median": float(np.median(scores)),
        }
        rows.append(row)
        print(
            f"{name:<48} batch mix TV {row['batch_class_mix_tv']:.3f}  kNN median {row['knn_median']:.3f} "
            f"[{min(scores):.3f}, {max(scores):.3f}]",
            flush=True,
        )
    return {"data": "digits sorted by class, 32-row chunks", "model": model, "seeds": list(seeds), "rows": rows}


# ------------------------------------------------------------------ memory
def write_dense_h5ad(path: Path, n_cells: int, block: int = 10_000, seed: int = 0) -> float:
    """Write an ``n_cells x N_GENES`` dense float32 standard-normal matrix as an h5ad, ``block`` rows at a time."""
    import anndata as ad
    import h5py
    import pandas as pd

    obs = pd.DataFrame(index=pd.RangeIndex(n_cells).astype(str))
    var = pd.DataFrame(index=[f"g{j}" for j in range(N_GENES)])
    ad.AnnData(obs=obs, var=var).write_h5ad(path)
    rng = np.random.default_rng(seed)
    with h5py.File(path, "a") as f:
        if "X" in f:
            del f["X"]
        X = f.create_dataset("X", (n_cells, N_GENES), np.float32, chunks=(256, N_GENES))
        X.attrs.update({"encoding-type": "array", "encoding-version": "0.2.0"})
        for start in range(0, n_cells, block):
            stop = min(start + block, n_cells)
            X[start:stop] = rng.standard_normal((stop - start, N_GENES), dtype=np.float32)
    return path.stat().st_size / 1e9


def memory_one(kind: str, arg: str, budget: str = "default", seed: str = "0") -> dict:
    """One 1-epoch fit of MEMORY_MODEL (run in a fresh process): peak RSS growth above the RSS before ``fit``."""
    import tensorflow as tf

    from sivae_sklearn import SiVAE
    from sivae_sklearn._arrays import rows as _data
    from sivae_sklearn._estimator import sivae as _estimator

    if kind == "dask":
        import dask.array as da
        import h5py

        dataset = h5py.File(arg, "r")["X"]
        X = da.from_array(dataset, chunks=(MEMORY_CHUNK_ROWS, dataset.shape[1]))
    else:
        import anndata as ad

        adata = ad.read_h5ad(arg, backed="r")
        X = adata.X
    tf.reduce_sum(tf.ones(4)).numpy()  # starts TensorFlow's runtime before the baseline
    before = _rss_mb()
    stages = _StagePeaks(
        [(_estimator, n) for n in ("split_training_rows", "training_feature_inputs", "train")]
        + [(SiVAE, "_fit_interpretation")]
    )
    with warnings.catch_warnings(), stages:
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        params = dict(MEMORY_MODEL, random_state=int(seed))
        if budget != "default":
            params["shuffle_buffer_bytes"] = None if budget == "none" else int(budget)
        model = SiVAE(**params).fit(X)
        fit_s = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "source": kind,
        "random_state": int(seed),
        "shape": [int(s) for s in X.shape],
        "chunks": _data.DiskRows(X).n_chunks,
        "shuffle_buffer_mb": (None if model.shuffle_buffer_bytes is None else model.shuffle_buffer_bytes / 2**20),
        "epochs": model.n_iter_,
        "fit_s": fit_s,
        "rss_before_fit_mb": before,
        "peak_rss_mb": peak,
        "peak_growth_mb": peak - before,
        "stage_peak_growth_mb": {k: v - before for k, v in stages.peaks.items()},
    }


class _StagePeaks:
    """Peak RSS in MB (sampled every 10 ms) while each ``owner.name`` of ``targets`` runs (``other``: the rest)."""

    def __init__(self, targets):
        self.targets, self.peaks, self.current = targets, {}, None

    def __enter__(self):
        import threading

        self.originals = {(owner, name): getattr(owner, name) for owner, name in self.targets}
        for (owner, name), original in self.originals.items():
            setattr(owner, name, self._timed(name, original))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _timed(self, name, original):
        def run(*args, **kwargs):
            outer, self.current = self.current, name
            try:
                return original(*args, **kwargs)
            finally:
                self.current = outer

        return run

    def _watch(self):
        while not self._stop.is_set():
            stage = self.current or "other"
            self.peaks[stage] = max(self.peaks.get(stage, 0.0), _rss_mb())
            time.sleep(0.01)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        for (owner, name), original in self.originals.items():
            setattr(owner, name, original)


def run_memory(n_cells: int, folder: Path, budgets=("default",), seeds=(0,), out_path: Path | None = None) -> dict:
    """Every (budget, seed, source) fit in turn; ``out_path`` is rewritten after each (a run cut short keeps them)."""
    rows = []
    folder.mkdir(parents=True, exist_ok=True)
    print(f"model: {MEMORY_MODEL}")
    path = folder / f"dense_{n_cells}.h5ad"
    try:
        gb = write_dense_h5ad(path, n_cells)
        print(f"wrote {path} ({gb:.2f} GB)", flush=True)
        for budget, kind, seed in [(b, k, s) for b in budgets for s in seeds for k in ("dask", "h5ad")]:
            out = subprocess.run(
                [sys.executable, __file__, "memory-one", kind, str(path), str(budget), str(seed)],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode:
                raise RuntimeError(out.stderr[-3000:])
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"{kind:<5} seed {seed} {row['shape']} {row['chunks']:>4} chunks  fit {row['fit_s']:.0f} s  "
                f"peak RSS growth {row['peak_growth_mb']:.0f} MB (pool budget {row['shuffle_buffer_mb']} MB)",
                flush=True,
            )
            result = _memory_summary(rows, seeds)
            if out_path is not None:
                write_json(out_path, result, indent=1)
    finally:
        path.unlink(missing_ok=True)
    for key, value in result["peak_growth"].items():
        print(
            f"{key}: peak RSS growth median {value['median_mb']:.0f} MB [{value['min_mb']:.0f}, {value['max_mb']:.0f}]"
        )
    return result


def _memory_summary(rows, seeds) -> dict:
    """The rows, and the median and range of the peak growth of each source and budget."""
    groups = {}
    for row in rows:
        groups.setdefault(f"{row['source']}, pool budget {row['shuffle_buffer_mb']} MiB", []).append(row)
    summary = {}
    for key, group in groups.items():
        growth = [r["peak_growth_mb"] for r in group]
        stages = {
            s: float(np.median([r["stage_peak_growth_mb"].get(s, np.nan) for r in group]))
            for s in group[0]["stage_peak_growth_mb"]
        }
        summary[key] = {
            "median_mb": float(np.median(growth)),
            "min_mb": float(min(growth)),
            "max_mb": float(max(growth)),
            "n": len(growth),
            "stage_median_mb": stages,
        }
    model = {k: list(v) if isinstance(v, tuple) else v for k, v in MEMORY_MODEL.items()}
    return {"model": model, "seeds": list(seeds), "rows": rows, "peak_growth": summary}


def run_pool(n_cells: int, seeds, budgets) -> dict:
    """Batch class mix against the pool's budget on the memory study's layout, sorted into 10 classes."""
    import dask.array as da

    from sivae_sklearn._arrays import rows as _data

    source = da.zeros((n_cells, N_GENES), chunks=(MEMORY_CHUNK_ROWS, N_GENES), dtype=np.float32)
    rows = _data.DiskRows(source)
    labels = (10 * np.arange(n_cells)) // n_cells
    overall = np.bincount(labels, minlength=10) / n_cells
    batch = MEMORY_MODEL["batch_size"]

    def mix(batches) -> float:
        tv = [
            0.5 * np.abs(np.bincount(labels[b.positions], minlength=10) / b.positions.size - overall).sum()
            for b in batches
        ]
        return float(np.mean(tv))

    full = [mix(_data.epoch_batches(np.empty((n_cells, 0)), batch, np.random.RandomState(s))()) for s in seeds]
    out = [{"budget_mib": None, "setting": "in memory (full shuffle)", "tv": full, "tv_median": float(np.median(full))}]
    print(
        f"{'in memory (full shuffle)':<28} batch mix TV median {np.median(full):.3f} [{min(full):.3f}, {max(full):.3f}]"
    )
    for budget in budgets:
        tv = [
            mix(_data.epoch_batches(rows, batch, np.random.RandomState(s), shuffle_buffer_bytes=int(budget) * 2**20)())
            for s in seeds
        ]
        pool_rows = _data.SHUFFLE_CHUNKS * (int(budget) * 2**20 // (_data.SHUFFLE_CHUNKS * N_GENES * 4))
        out.append(
            {"budget_mib": int(budget), "pool_rows": int(pool_rows), "tv": tv, "tv_median": float(np.median(tv))}
        )
        print(
            f"pool budget {int(budget):>4} MiB ({pool_rows:>6} rows) batch mix TV median {np.median(tv):.3f} "
            f"[{min(tv):.3f}, {max(tv):.3f}]",
            flush=True,
        )
    return {
        "data": f"{n_cells} x {N_GENES} float32, {MEMORY_CHUNK_ROWS}-row dask chunks, sorted into 10 classes",
        "batch_size": batch,
        "seeds": list(seeds),
        "rows": out,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", choices=("curve", "shuffle", "memory", "pool", "fit-one", "memory-one"))
    parser.add_argument("path", nargs="*", help="fit-one, memory-one: what to fit (internal)")
    parser.add_argument("--cells", type=int, default=300_000, help="memory: rows of the dense matrices")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000, 300_000, 1_000_000])
    parser.add_argument("--dir", type=Path, default=None, help="where to write the files (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the written files")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--budgets",
        nargs="+",
        default=["default"],
        help="memory: shuffle_buffer_bytes of each run (bytes, 'none' or 'default'); pool: budgets in MiB "
        "(default 256 128 64)",
    )
    args = parser.parse_args(argv)
    if args.study == "fit-one":
        print(json.dumps(fit_one(args.path[0])))
        return
    if args.study == "memory-one":
        print(json.dumps(memory_one(*args.path)))
        return
    RESULTS.mkdir(exist_ok=True)
    if args.study == "curve":
        folder = args.dir or Path(tempfile.mkdtemp(prefix="sivae_disk_"))
        try:
            result = run_curve(args.sizes, folder, args.keep, RESULTS / "disk_curve.json")
        finally:
            if args.dir is None and not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
    elif args.study == "memory":
        folder = args.dir or Path(tempfile.mkdtemp(prefix="sivae_memory_"))
        try:
            result = run_memory(args.cells, folder, args.budgets, args.seeds, RESULTS / "disk_memory.json")
        finally:
            if args.dir is None:
                shutil.rmtree(folder, ignore_errors=True)
    elif args.study == "pool":
        budgets = [256, 128, 64] if args.budgets == ["default"] else [int(b) for b in args.budgets]
        result = run_pool(args.cells, args.seeds, budgets)
    else:
        result = run_shuffle(args.seeds)
    path = RESULTS / f"disk_{args.study}.json"
    write_json(path, result, indent=1)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
