"""Render the JSON results of ``benchmarks/run.py`` as Markdown tables (for docs/benchmarks.md).

PYTHONPATH=. python benchmarks/report.py [--quick]
"""

from __future__ import annotations

import json
import os
import sys

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


def main() -> None:
    suffix = "_quick" if "--quick" in sys.argv else ""
    for name, fn in (("quality", quality), ("scale", scale), ("efficiency", efficiency)):
        res = _load(name, suffix)
        if res is not None:
            print(f"### {name}\n\n{fn(res)}\n")


if __name__ == "__main__":
    main()
