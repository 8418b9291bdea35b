"""SiVAE against PCA, UMAP, a Keras VAE and a plain VAE: quality, cost growth, hardware efficiency.

Run from the repository root::

    PYTHONPATH=. python benchmarks/run.py            # everything (about 10 min on 2 CPU cores)
    PYTHONPATH=. python benchmarks/run.py --quick    # small settings, about 2 min
    PYTHONPATH=. python benchmarks/run.py --only quality   # or speed, scale, efficiency

Prints one table per section and writes ``benchmarks/results/<section>[_quick].json``.
Every figure of one table is measured in the same process, so ratios between
methods (and the efficiency ratio to the matrix-multiply rate) hold even on a
shared machine where absolute times drift. Nothing here assumes a CPU:
TensorFlow places the work on a GPU when it sees one. See ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
import tensorflow as tf
from sklearn.decomposition import PCA

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout's package
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import (  # noqa: E402
    EpochTimes,
    KerasVAE,
    PeakRSS,
    PlainVAE,
    amortisation_options,
    knn_accuracy,
    load_digits_zscored,
    load_pbmc,
    loglog_slope,
    matmul_rate,
    throughput,
    trust,
)

from sivae_sklearn import SiVAE  # noqa: E402
from sivae_sklearn._arrays.feature_inputs import make_feature_inputs  # noqa: E402
from sivae_sklearn._engine.network import NetworkConfig, SiVAENetwork  # noqa: E402
from sivae_sklearn._engine.training import TrainingConfig, TrainingData, train  # noqa: E402
from sivae_sklearn._io import atomic_write  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
HIDDEN = (512, 128)


def machine() -> dict:
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "gpus": gpus,
        "tensorflow": tf.__version__,
        "load_average": os.getloadavg(),
        "keras": __import__("keras").__version__,
    }


# ------------------------------------------------------------------- quality
def _methods(dim: int, epochs: int, quick: bool):
    common = {"hidden_layer_sizes": HIDDEN, "random_state": 0}
    equal = {**common, "max_epochs": epochs, "early_stopping": False}
    out = [
        ("PCA", lambda: PCA(dim, random_state=0)),
        ("UMAP", lambda: _umap(dim)),
        ("VAE", lambda: PlainVAE(dim, HIDDEN, max_epochs=epochs)),
        ("SiVAE gamma=0", lambda: SiVAE(dim, interpretability_weight=0.0, **equal)),
        ("SiVAE", lambda: SiVAE(dim, **equal)),
    ]
    if not quick:
        out.append(("SiVAE defaults", lambda: SiVAE(dim, random_state=0)))
    return out


def _umap(dim):
    import umap

    return umap.UMAP(n_components=dim, random_state=0)


def _reconstruction_mse(model, X, Z) -> float | None:
    if isinstance(model, (PCA, PlainVAE, SiVAE)):
        return float(np.mean((model.inverse_transform(Z) - X) ** 2))
    return None


def run_quality(quick: bool) -> list[dict]:
    epochs = 30 if quick else 200
    datasets = {"digits": load_digits_zscored(), "pbmc68k_reduced": load_pbmc()}
    rows = []
    for data_name, (X, y) in datasets.items():
        for dim in (2, 10):
            for name, make in _methods(dim, epochs, quick):
                model = make()
                with PeakRSS() as mem, warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t0 = time.perf_counter()
                    Z = model.fit_transform(X)
                    fit_s = time.perf_counter() - t0
                row = {
                    "dataset": data_name,
                    "dim": dim,
                    "method": name,
                    "epochs": getattr(model, "n_iter_", epochs if "VAE" in name else None),
                    "knn_accuracy": knn_accuracy(Z, y),
                    "trustworthiness": trust(X, Z),
                    "reconstruction_mse": _reconstruction_mse(model, X, Z),
                    "fit_s": fit_s,
                    "transform_per_s": throughput(model.transform, X),
                    "peak_mb": mem.peak_mb,
                }
                rows.append(row)
                print(_fmt_quality(row), flush=True)
    return rows


def _fmt_quality(r) -> str:
    mse = "n/a" if r["reconstruction_mse"] is None else f"{r['reconstruction_mse']:.3f}"
    return (
        f"{r['dataset']:<16} {r['dim']:>3} {r['method']:<15} {str(r['epochs']):>6} {r['knn_accuracy']:>6.3f} "
        f"{r['trustworthiness']:>6.3f} {mse:>7} {r['fit_s']:>7.1f} {r['transform_per_s']:>10.0f} {r['peak_mb']:>7.0f}"
    )


QUALITY_HEADER = (
    f"{'dataset':<16} {'dim':>3} {'method':<15} {'epochs':>6} {'kNN':>6} {'trust':>6} {'MSE':>7} "
    f"{'fit s':>7} {'transf/s':>10} {'peak MB':>7}"
)


def check_quality_targets(rows) -> list[str]:
    lines = []
    by = {(r["dataset"], r["dim"], r["method"]): r for r in rows}
    for data in sorted({r["dataset"] for r in rows}):
        for dim in (2, 10):
            vae = by[(data, dim, "VAE")]
            for name in ("SiVAE gamma=0", "SiVAE", "SiVAE defaults"):
                if (data, dim, name) not in by:
                    continue
                s = by[(data, dim, name)]
                ok = s["knn_accuracy"] >= vae["knn_accuracy"] - 0.01
                lines.append(
                    f"{data} {dim}-D {name}: kNN {s['knn_accuracy']:.3f} vs VAE {vae['knn_accuracy']:.3f} - 0.01 "
                    f"-> {'met' if ok else 'MISSED'}; fit time {s['fit_s'] / vae['fit_s']:.2f}x the VAE's"
                )
            if dim == 2:
                s, pca = by[(data, dim, "SiVAE")], by[(data, dim, "PCA")]
                ok = s["knn_accuracy"] > pca["knn_accuracy"]
                lines.append(f"{data} 2-D SiVAE above PCA ({pca['knn_accuracy']:.3f}) -> {'met' if ok else 'MISSED'}")
    return lines


# --------------------------------------------------------------------- speed
SPEED_K = 10


def _median_range(values) -> tuple[float, float, float]:
    return float(np.median(values)), float(np.min(values)), float(np.max(values))


def run_speed(quick: bool, options: list[str] | None = None) -> list[dict]:
    """Fit time and seconds per epoch of SiVAE's settings against a Keras VAE and the plain VAE, at equal epochs.

    All on the same data, in the same process, K = 10, no early stopping
    (every fit runs ``epochs`` epochs over all rows). The peers: the VAE a user
    writes in Keras (:class:`~_common.KerasVAE`: ``model.fit`` with a compiled
    train step over a shuffled ``tf.data`` stream) and the project's own plain
    VAE (:class:`~_common.PlainVAE`), both at batch 128 and, for a setting with
    another batch, the Keras VAE at that batch too. Each repetition fits every
    method once, in an order reversed from one repetition to the next
    (alternating), and records the load average before each fit. A ratio is
    taken within a repetition (runs made side by side) and reported as the
    median over the repetitions with its range: on a shared machine the load
    drifts between repetitions, not within one.
    """
    epochs, repeats = (10, 1) if quick else (60, 3)

    def timed(make, X):
        model = make()
        load = os.getloadavg()[0]
        with EpochTimes() as times, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            model.fit(X)
            fit_s = time.perf_counter() - t0
        seconds = times.results[-1].epoch_seconds if times.results else model.epoch_seconds_
        return {"fit_s": fit_s, "s_per_epoch": float(np.median(seconds[1:])), "load": load}

    def keras_vae(batch):
        return lambda: KerasVAE(SPEED_K, HIDDEN, max_epochs=epochs, batch_size=batch)

    def sivae(params):
        common = dict(hidden_layer_sizes=HIDDEN, max_epochs=epochs, early_stopping=False, random_state=0)
        return lambda: SiVAE(SPEED_K, **common).set_params(**params)

    rows = []
    for data_name, (X, _) in {"digits": load_digits_zscored(), "pbmc68k_reduced": load_pbmc()}.items():
        settings = [(n, p) for n, p in amortisation_options(X.shape[1]) if options is None or n in options]
        methods = {"keras_vae": keras_vae(128), "plain_vae": lambda: PlainVAE(SPEED_K, HIDDEN, max_epochs=epochs)}
        for name, params in settings:
            batch = params.get("batch_size", 128)
            if batch != 128:
                methods[f"keras_vae batch {batch}"] = keras_vae(batch)
            methods[name] = sivae(params)
        runs = {name: [] for name in methods}
        for rep in range(repeats):
            order = list(methods) if rep % 2 == 0 else list(reversed(methods))
            for name in order:
                runs[name].append(timed(methods[name], X))
        for name, params in [("plain_vae", {}), *settings]:
            batch = params.get("batch_size", 128)
            own, keras = runs[name], runs["keras_vae"]
            keras_batch = runs.get(f"keras_vae batch {batch}", keras)
            row = {
                "dataset": data_name,
                "option": name,
                "epochs": epochs,
                "n_components": SPEED_K,
                "fit_s": [r["fit_s"] for r in own],
                "s_per_epoch": [r["s_per_epoch"] for r in own],
                "keras_fit_s": [r["fit_s"] for r in keras],
                "keras_s_per_epoch": [r["s_per_epoch"] for r in keras],
                "load_average": [r["load"] for r in own],
                "fit_ratio": _median_range([a["fit_s"] / b["fit_s"] for a, b in zip(own, keras)]),
                "epoch_ratio": _median_range([a["s_per_epoch"] / b["s_per_epoch"] for a, b in zip(own, keras)]),
                "epoch_ratio_equal_batch": _median_range(
                    [a["s_per_epoch"] / b["s_per_epoch"] for a, b in zip(own, keras_batch)]
                ),
            }
            rows.append(row)
            print(_fmt_speed(row), flush=True)
    return rows


def _fmt_speed(r) -> str:
    def ratio(key):
        median, low, high = r[key]
        return f"{median:.2f} [{low:.2f}-{high:.2f}]"

    return (
        f"{r['dataset']:<16} {r['option']:<32} {np.median(r['fit_s']):>7.1f} {np.median(r['s_per_epoch']) * 1e3:>9.1f} "
        f"{np.median(r['keras_s_per_epoch']) * 1e3:>9.1f} {ratio('fit_ratio'):>17} {ratio('epoch_ratio'):>17} "
        f"{ratio('epoch_ratio_equal_batch'):>17} {max(r['load_average']):>5.1f}"
    )


SPEED_HEADER = (
    f"{'dataset':<16} {'option':<32} {'fit s':>7} {'ms/epoch':>9} {'Keras ms':>9} {'fit/Keras':>17} "
    f"{'epoch/Keras':>17} {'same batch':>17} {'load':>5}"
)


# --------------------------------------------------------------------- scale
def synthetic(n_samples: int, n_features: int, sparse: bool, seed: int = 0):
    """Low-rank-plus-noise data (rank 10), z-scored; sparse: 90% of entries zeroed."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, 10), dtype=np.float32) @ rng.standard_normal((10, n_features), dtype=np.float32)
    X += rng.standard_normal(X.shape, dtype=np.float32)
    X /= X.std(axis=0, keepdims=True)
    if sparse:
        X[rng.random(X.shape) < 0.9] = 0.0
        return sp.csr_matrix(X)
    return X


def epoch_time(X, batch_size=128, hidden=HIDDEN, epochs=3, jit_compile=False):
    """Seconds per epoch of SiVAE's own training loop, peak MB of the run, and the network.

    Builds the network as ``SiVAE.fit`` does and calls the package's ``train``
    with ``epochs`` epochs; the first epoch (tracing, warm-up) is dropped and
    the median of the others is returned. Peak memory covers the whole run
    including the feature-input PCA.
    """
    with PeakRSS() as mem:
        rng = np.random.RandomState(0)
        inputs = make_feature_inputs(X, "pca", 50, rng)
        config = NetworkConfig(X.shape[1], inputs.shape[1], 2, tuple(hidden))
        network = SiVAENetwork(config, seed=0)
        network.feature_inputs.assign(inputs)
        params = SiVAE(max_epochs=epochs, batch_size=batch_size, early_stopping=False, kl_warmup_steps=0).get_params()
        cfg = TrainingConfig.from_params(params, X.shape[0], n_features=X.shape[1], jit_compile=jit_compile)
        result = train(network, TrainingData(X if sp.issparse(X) else np.asarray(X, np.float32)), None, cfg, seed=0)
    return float(np.median(result.epoch_seconds[1:])), mem.peak_mb, network


def run_scale(quick: bool) -> dict:
    if quick:
        samples, features, base_n, base_g = [1000, 2000, 4000, 8000], [50, 200, 800, 2000], 1000, 100
    else:
        samples, features, base_n, base_g = [3000, 10000, 30000, 100000], [100, 1000, 3000, 10000], 2000, 100
    out = {"n_samples": {}, "n_features": {}}
    print(f"{'axis':<10} {'kind':<6} {'n_samples':>9} {'n_features':>10} {'s/epoch':>8} {'peak MB':>8}")
    for kind in ("dense", "sparse"):
        for axis, sizes in (("n_samples", samples), ("n_features", features)):
            rows = []
            for size in sizes:
                n, g = (size, base_g) if axis == "n_samples" else (base_n, size)
                X = synthetic(n, g, kind == "sparse")
                per_epoch, peak, _ = epoch_time(X)
                rows.append({"n_samples": n, "n_features": g, "s_per_epoch": per_epoch, "peak_mb": peak})
                print(f"{axis:<10} {kind:<6} {n:>9} {g:>10} {per_epoch:>8.3f} {peak:>8.0f}", flush=True)
            x = [r[axis] for r in rows]
            slope_t = loglog_slope(x, [max(r["s_per_epoch"], 1e-6) for r in rows])
            slope_m = loglog_slope(x, [max(r["peak_mb"], 1.0) for r in rows])
            print(f"  -> growth exponent in {axis} ({kind}): time {slope_t:.2f}, peak memory {slope_m:.2f}")
            out[axis][kind] = {"rows": rows, "time_exponent": slope_t, "memory_exponent": slope_m}
    return out


# ---------------------------------------------------------------- efficiency
def train_step_flops(net: SiVAENetwork, batch: int) -> float:
    """Matmul FLOPs of one train step, counted analytically (forward + backward = 3 x forward).

    SiVAE: every dense layer of the sample network on the batch, every dense
    layer of the feature network on all G features, the output product
    ``y W^T`` and the interpretability product ``z V^T`` (batch x G each).
    """
    g, k, h = net.config.n_features, net.config.n_components, net.config.output_width
    macs = batch * h * g + batch * k * g
    for module, rows in (
        (net.sample_encoder, batch),
        (net.sample_decoder, batch),
        (net.feature_encoder, g),
        (net.feature_decoder, g),
    ):
        if module is not None:
            macs += rows * sum(int(np.prod(v.shape)) for v in module.trainable_variables if "kernel" in v.name)
    return 3 * 2 * macs


def vae_step_flops(g: int, k: int, batch: int, hidden=HIDDEN) -> float:
    """The same count for the plain VAE (sample network and a free G x h output layer)."""
    vae = PlainVAE(k, hidden)
    vae._build(g)
    return 3 * 2 * batch * sum(int(np.prod(v.shape)) for v in vae.kernels_)


def run_efficiency(quick: bool) -> list[dict]:
    n, g = (5000, 1000) if quick else (20000, 2000)
    X = synthetic(n, g, sparse=False)
    rows = []
    print(
        f"{'problem':<12} {'batch':>5} {'XLA':>5} {'s/epoch':>8} {'GFLOP/step':>10} {'GFLOP/s':>8} "
        f"{'matmul GFLOP/s':>14} {'share':>6}"
    )
    for batch in (128, 512):
        for jit in (False, True):
            rate_before = matmul_rate()
            per_epoch, _, network = epoch_time(X, batch_size=batch, jit_compile=jit)
            rate = max(rate_before, matmul_rate())
            flops_step = train_step_flops(network, batch)
            steps = int(np.ceil(n / batch))
            achieved = flops_step * steps / per_epoch
            row = {
                "n_samples": n,
                "n_features": g,
                "batch_size": batch,
                "jit_compile": jit,
                "s_per_epoch": per_epoch,
                "flops_per_step": flops_step,
                "vae_flops_per_step": vae_step_flops(g, 2, batch),
                "achieved_flops": achieved,
                "matmul_flops": rate,
                "share_of_matmul_rate": achieved / rate,
            }
            rows.append(row)
            print(
                f"{n}x{g:<6} {batch:>5} {str(jit):>5} {per_epoch:>8.2f} {flops_step / 1e9:>10.2f} "
                f"{achieved / 1e9:>8.1f} {rate / 1e9:>14.1f} {achieved / rate:>6.1%}",
                flush=True,
            )
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small settings (about 2 minutes)")
    parser.add_argument("--only", choices=("quality", "speed", "scale", "efficiency"), action="append")
    parser.add_argument(
        "--options", nargs="+", metavar="NAME", help="speed: only these SiVAE settings (e.g. default batch_size=512)"
    )
    args = parser.parse_args(argv)
    sections = args.only or ["quality", "speed", "scale", "efficiency"]
    os.makedirs(RESULTS, exist_ok=True)
    suffix = "_quick" if args.quick else ""
    for section in sections:
        print(f"\n== {section} ==")
        t0 = time.perf_counter()
        if section == "quality":
            print(QUALITY_HEADER)
            result = {"rows": run_quality(args.quick)}
            result["targets"] = check_quality_targets(result["rows"])
            print("\n".join(result["targets"]))
        elif section == "speed":
            print(SPEED_HEADER)
            result = {"rows": run_speed(args.quick, args.options)}
        elif section == "scale":
            result = run_scale(args.quick)
        else:
            result = {"rows": run_efficiency(args.quick)}
        result.update(machine=machine(), quick=args.quick, seconds=time.perf_counter() - t0)
        path = os.path.join(RESULTS, f"{section}{suffix}.json")
        with atomic_write(path) as fh:  # an interrupted run never leaves a half-written result
            fh.write(json.dumps(result, indent=1, default=float).encode("utf-8"))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
