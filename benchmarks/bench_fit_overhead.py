"""The fixed cost of a fit: wall time of a tiny fit (60 x 8, 5 epochs), the unit of the test suite.

On data this small a fit is almost all tracing (the compiled step, epoch loop and
evaluation) and fixed work, so this measures what a change to those costs. Fits
``--fits`` models in one process after one warm-up fit and prints and records the
median and range. To compare two versions of the package, run it on each and
interleave the runs (``--package`` names the folder holding the other
version's ``sivae_sklearn``), on a quiet machine::

    PYTHONPATH=. python benchmarks/bench_fit_overhead.py --tag _new
    python benchmarks/bench_fit_overhead.py --package /path/to/old/checkout --tag _old

Writes ``benchmarks/results/fit_overhead<tag>.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=12)
    parser.add_argument("--package", default=None, help="folder holding the sivae_sklearn to time (default: this one)")
    parser.add_argument("--tag", default="", help="appended to the results file's name")
    args = parser.parse_args(argv)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.dirname(here))
    if args.package:
        sys.path.insert(0, os.path.abspath(args.package))
    import sivae_sklearn
    from sivae_sklearn import SiVAE

    warnings.simplefilter("ignore")
    X = np.random.RandomState(0).uniform(size=(60, 8)).astype(np.float32)
    params = dict(hidden_layer_sizes=(16, 8), max_epochs=5, kl_warmup_epochs=2, batch_size=32, random_state=0)
    SiVAE(**params).fit(X)  # TensorFlow's own start-up is not the fit's
    seconds = []
    for _ in range(args.fits):
        start = time.perf_counter()
        SiVAE(**params).fit(X)
        seconds.append(time.perf_counter() - start)
    record = {
        "package": os.path.dirname(sivae_sklearn.__file__),
        "seconds": seconds,
        "median_s": float(np.median(seconds)),
        "load_average": os.getloadavg(),
    }
    print(f"{record['package']}: median {record['median_s']:.3f} s [{min(seconds):.3f}-{max(seconds):.3f}]")
    from sivae_sklearn._io import write_json

    write_json(os.path.join(here, "results", f"fit_overhead{args.tag}.json"), record, indent=1)


if __name__ == "__main__":
    main()
