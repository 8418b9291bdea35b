"""Render the JSON results of the benchmarks as Markdown tables (for docs/benchmarks.md).

``run.py`` (quality, speed, scale, efficiency), ``bench_disk.py`` (disk_curve,
disk_shuffle), ``bench_amortise.py`` (amortise) and ``bench_family.py`` (family); a missing
file is skipped.

PYTHONPATH=. python benchmarks/report.py [--quick]
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def _load(name, suffix):
    path = os.path.join(RESULTS, f"{name}{suffix}.json")
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return json.load(fh)


def quality(res) -> str:
    lines = [
        "| data | dim | method | epochs | kNN acc | trustworthiness | recon. MSE | fit s "
        "| transform samples/s | peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["rows"]:
        mse = "n/a" if r["reconstruction_mse"] is None else f"{r['reconstruction_mse']:.3f}"
        epochs = "" if r["epochs"] is None else r["epochs"]
        lines.append(
            f"| {r['dataset']} | {r['dim']} | {r['method']} | {epochs} | {r['knn_accuracy']:.3f} | "
            f"{r['trustworthiness']:.3f} | {mse} | {r['fit_s']:.1f} | {r['transform_per_s']:,.0f} "
            f"| {r['peak_mb']:.0f} |"
        )
    lines += ["", *[f"- {t}" for t in res.get("targets", [])]]
    return "\n".join(lines)


def scale(res) -> str:
    lines = ["| axis | storage | n_samples | n_features | s / epoch | peak MB |", "|---|---|---|---|---|---|"]
    exps = []
    for axis in ("n_samples", "n_features"):
        for kind, block in res[axis].items():
            for r in block["rows"]:
                lines.append(
                    f"| {axis} | {kind} | {r['n_samples']:,} | {r['n_features']:,} | {r['s_per_epoch']:.3f} | "
                    f"{r['peak_mb']:.0f} |"
                )
            exps.append(
                f"- growth exponent in {axis} ({kind}): time {block['time_exponent']:.2f}, "
                f"peak memory {block['memory_exponent']:.2f}"
            )
    return "\n".join(lines + [""] + exps)


def efficiency(res) -> str:
    lines = [
        "| problem | batch | XLA | s / epoch | GFLOP / step (SiVAE) | GFLOP / step (plain VAE) | achieved GFLOP/s "
        "| matmul GFLOP/s | share |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["rows"]:
        lines.append(
            f"| {r['n_samples']:,} x {r['n_features']:,} | {r['batch_size']} | {r['jit_compile']} | "
            f"{r['s_per_epoch']:.2f} | {r['flops_per_step'] / 1e9:.2f} | {r['vae_flops_per_step'] / 1e9:.2f} | "
            f"{r['achieved_flops'] / 1e9:.1f} | {r['matmul_flops'] / 1e9:.1f} | {r['share_of_matmul_rate']:.0%} |"
        )
    return "\n".join(lines)


def _table(columns, rows) -> str:
    """A Markdown table: a header of ``columns`` and one line per row of cells."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def speed(res) -> str:
    columns = [
        "data",
        "option",
        "epochs",
        "fit s",
        "ms / epoch",
        "Keras ms / epoch",
        "fit / Keras",
        "epoch / Keras",
        "epoch / Keras, same batch",
        "load",
    ]

    def ratio(r, key):
        median, low, high = r[key]
        return f"{median:.2f} [{low:.2f}-{high:.2f}]"

    return _table(
        columns,
        [
            [
                r["dataset"],
                r["option"],
                r["epochs"],
                f"{np.median(r['fit_s']):.1f}",
                f"{np.median(r['s_per_epoch']) * 1e3:.0f}",
                f"{np.median(r['keras_s_per_epoch']) * 1e3:.0f}",
            ]
            + [ratio(r, key) for key in ("fit_ratio", "epoch_ratio", "epoch_ratio_equal_batch")]
            + [f"{min(r['load_average']):.1f}-{max(r['load_average']):.1f}"]
            for r in res["rows"]
        ],
    )


def disk_curve(res) -> str:
    columns = ["cells", "file GB", "checking pass s", "s / epoch", "us / cell / epoch", "fit s", "transform s"]
    columns += ["peak RSS MB", "RSS after imports MB"]
    table = _table(
        columns,
        [
            [f"{r['n_cells']:,}", f"{r['file_gb']:.2f}", f"{r['split_pass_s']:.1f}", f"{r['s_per_epoch']:.2f}"]
            + [f"{1e6 * r['s_per_epoch'] / r['n_cells']:.0f}", f"{r['fit_s']:.0f}", f"{r['transform_s']:.1f}"]
            + [f"{r['peak_rss_mb']:.0f}", f"{r['rss_after_imports_mb']:.0f}"]
            for r in res["rows"]
        ],
    )
    if res.get("time_exponent") is not None:
        table += f"\n\n- time per epoch grows as cells^{res['time_exponent']:.2f}"
    return table


def disk_shuffle(res) -> str:
    columns = [
        f"setting ({res['data']})",
        "batch class mix, TV distance",
        f"kNN accuracy, median [min, max] over {len(res['seeds'])} seeds",
    ]
    return _table(
        columns,
        [
            [r["setting"], f"{r['batch_class_mix_tv']:.3f}"]
            + [f"{r['knn_median']:.3f} [{min(r['knn_accuracy']):.3f}, {max(r['knn_accuracy']):.3f}]"]
            for r in res["rows"]
        ],
    )


def amortise(res) -> str:
    def scores(e):
        return "; ".join(
            f"{name} {v['median']:.3f} [{v['min']:.3f}, {v['max']:.3f}]"
            for name, v in e.items()
            if isinstance(v, dict) and name != "fit_s"
        )

    columns = ["data", "K", "option", "score, median [min, max] over seeds", "fit s (median)"]
    return _table(
        columns,
        [
            [e["dataset"], e["n_components"], e["option"], scores(e), f"{e['fit_s']['median']:.1f}"]
            for e in res["summary"]
        ],
    )


_FAMILY_SHORT = {
    "PCA": "PCA",
    "FactorAnalysis": "FA",
    "FastICA": "ICA",
    "NMF": "NMF",
    "correlation": "corr",
    "SiVAE": "SiVAE",
    "SiVAE original": "orig.",
}


def _num(value, digits=3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def family(res) -> str:
    """``bench_family.py``: one line per configuration (median ARI over seeds), then one per method."""
    summary, configs = res["summary"], res["configs"]
    methods = [m for m in _FAMILY_SHORT if m in summary["methods"]]
    columns = ["config", "hard", "n x G", "programs / K", "rho", "maps", "noise features", "noise"]
    columns += [f"{_FAMILY_SHORT[m]} ARI" for m in methods] + ["SiVAE spread", "SiVAE AUROC"]
    rows = []
    for c in summary["per_config"]:
        s, cells = configs[str(c["config"])], c["methods"]
        p = s["params"]
        sivae = cells.get("SiVAE", {})
        rows.append([c["config"], "yes" if s["hard"] else "", f"{p['n_samples']:,} x {s['n_features']}"])
        rows[-1] += [f"{p['n_programs']} / {s['n_components']}", f"{p['correlation']:.2f}", ", ".join(p["maps"])]
        rows[-1] += [f"{s['noise_share']:.0%} {p['noise_features']}", f"{p['noise']:.2f}"]
        rows[-1] += [_num(cells.get(m, {}).get("ari")) for m in methods]
        rows[-1] += [_num(sivae.get("ari_spread")), _num(sivae.get("auroc"))]
    per_config = _table(columns, rows)
    columns = ["method", "median ARI", "hard", "others", "seed spread (median)", "noise AUROC (median)"]
    columns += ["SiVAE above it", "SiVAE at least it", "fit s (median)", "epochs (median)"]
    lines = []
    for m in methods:
        e = summary["methods"][m]
        beats = f"{e['sivae_beats']:.0%} of {e['sivae_beats_of']}" if "sivae_beats" in e else ""
        at_least = f"{e['sivae_at_least']:.0%}" if "sivae_at_least" in e else ""
        lines.append(
            [m, _num(e["ari"]), _num(e["ari_hard"]), _num(e["ari_easy"]), _num(e["ari_spread"]), _num(e["auroc"])]
            + [beats, at_least, _num(e["fit_s"], 1), _num(e["n_iter"], 0)]
        )
    return per_config + "\n\n" + _table(columns, lines)


def main() -> None:
    suffix = "_quick" if "--quick" in sys.argv else ""
    for name, fn in (
        ("quality", quality),
        ("speed", speed),
        ("scale", scale),
        ("efficiency", efficiency),
        ("disk_curve", disk_curve),
        ("disk_shuffle", disk_shuffle),
        ("amortise", amortise),
        ("family", family),
    ):
        res = _load(name, suffix)
        if res is not None:
            print(f"### {name}\n\n{fn(res)}\n")


if __name__ == "__main__":
    main()
