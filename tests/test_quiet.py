"""Quiet by default: a float64 fit, scoring and a parallel grid search print nothing the package causes.

The script runs in a subprocess with TensorFlow's C++ logging at its default
level (``TF_CPP_MIN_LOG_LEVEL`` removed from the environment, where conftest
sets it for the test process), so the warnings the package could cause reach
stderr: Grappler's ``Not handling type DT_DOUBLE`` lines and tf.function's
"triggered tf.function retracing". Only TensorFlow's own start-up lines, which
any ``import tensorflow`` prints and the package does not cause, are left out,
by :data:`TF_STARTUP`.
"""

import os
import re
import subprocess
import sys
import textwrap

import pytest

TF_STARTUP = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|^I\d{4} .*\] oneDNN custom operations are on"
    r"|^I\d{4} .*cpu_feature_guard\.cc.*\] This TensorFlow binary is optimized"
    r"|^To enable the following instructions:"
    r"|^I\d{4} .*generator_dataset_op\.cc.*\] Memory patch applied"
)
"""TensorFlow's start-up lines: oneDNN and CPU-feature notices (per process that loads TensorFlow) and the
one-time note of tf.data's first generator pipeline. Every other line on stderr counts."""

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from sklearn.model_selection import GridSearchCV
    from sivae_sklearn import SiVAE

    X = np.random.RandomState(0).normal(size=(96, 12))  # float64
    # Six small models in one process: each traces its own functions once; before they were keyed
    # apart, TensorFlow counted these first traces as retracing of one function and warned.
    for seed in range(6):
        model = SiVAE(2, hidden_layer_sizes=(8,), max_epochs=2, random_state=seed, verbose=0).fit(X)
        model.transform(X)
        model.inverse_transform(model.transform(X[:5]))
        model.score(X)
    search = GridSearchCV(
        SiVAE(2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0), {"beta": [0.5, 1.0]}, cv=2, n_jobs=2
    ).fit(X)
    print("best", search.best_params_)
    """
)


@pytest.mark.slow
def test_float64_fits_scores_and_a_parallel_grid_search_print_nothing():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=1500, check=False
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.startswith("best"), run.stdout  # verbose=0 (the default) prints nothing of its own
    lines = [line for line in run.stderr.splitlines() if line.strip() and not TF_STARTUP.search(line)]
    assert lines == [], "\n".join(lines[:20])
