"""Training under tf.distribute (two CPU replicas; two workers on localhost) and searches on a dask cluster.

Logical devices and multi-worker clusters must be set up before TensorFlow
starts, so those fits run in subprocesses (``tests/data/distribute_fit.py``).
A distributed fit draws different noise on each replica, so it is compared
with the single-device fit in quality (ELBO, embedding), not bit for bit.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from sivae_sklearn import SiVAE
from tests.presets import TINY

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "data" / "distribute_fit.py"
sys.path.insert(0, str(SCRIPT.parent))

import distribute_fit  # noqa: E402


def _env(**extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", **extra}
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _results(path):
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


@pytest.fixture(scope="module")
def single():
    X = distribute_fit.data()
    model = SiVAE(2, **distribute_fit.PARAMS).fit(X)
    return {"score": model.score(X), "embedding": model.transform(X), "loss": np.asarray(model.history_["loss"])}


def _assert_same_quality(result, single):
    # Each replica draws its own noise, so the fit is not the single-device one, but as good.
    assert result["score"] == pytest.approx(single["score"], rel=0.03)
    np.testing.assert_allclose(result["loss"], single["loss"], rtol=0.03)
    corr = np.corrcoef(result["embedding"].ravel(), single["embedding"].ravel())[0, 1]
    assert corr > 0.8, corr


@pytest.mark.slow
def test_mirrored_strategy_on_two_cpu_devices(tmp_path, single):
    out = tmp_path / "mirrored.npz"
    subprocess.run([sys.executable, str(SCRIPT), "mirrored", str(out)], env=_env(), check=True, timeout=600)
    result = _results(out)
    assert int(result["replicas"]) == 2 and str(result["variable_type"]) == "MirroredVariable"
    assert bool(result["copies_equal"])  # gradients were all-reduced: both devices hold the same weights
    assert not np.array_equal(result["loss"], single["loss"])  # the replicas really trained
    _assert_same_quality(result, single)


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_multi_worker_mirrored_strategy_on_two_local_workers(tmp_path, single):
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    procs, outs = [], []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        outs.append(tmp_path / f"worker{index}.npz")
        procs.append(
            subprocess.Popen(
                [sys.executable, str(SCRIPT), "worker", str(outs[-1])],
                env=_env(TF_CONFIG=json.dumps(config)),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        )
    for proc in procs:
        log, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, log.decode()[-3000:]
    chief, other = (_results(path) for path in outs)
    assert int(chief["replicas"]) == 2
    assert "integer random_state" in str(chief["refused"])
    # one model: both workers end with the same weights
    np.testing.assert_array_equal(chief["components"], other["components"])
    np.testing.assert_array_equal(chief["loss"], other["loss"])
    _assert_same_quality(chief, single)


@pytest.mark.slow
def test_grid_search_runs_on_a_dask_cluster(digits):
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_backend

    X, _ = digits
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env={"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"},
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        grid = GridSearchCV(SiVAE(**{**TINY, "max_epochs": 2}), {"n_components": [2, 3]}, cv=2, n_jobs=-1)
        with distributed.get_task_stream(client) as tasks, parallel_backend("dask"):
            grid.fit(X[:120])
        workers = {task["worker"] for task in tasks.data}
    assert len(tasks.data) >= 4 and len(workers) == 2  # the 4 fits ran on both workers of the cluster
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.best_estimator_.transform(X[:5]).shape[1] == grid.best_params_["n_components"]
