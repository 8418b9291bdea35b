"""The training loop: minibatches, warm-up, early stopping, divergence, the optimiser."""

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from sivae_sklearn._network import NetworkConfig, SiVAENetwork
from sivae_sklearn._training import (
    Adam,
    TrainingConfig,
    TrainingData,
    TrainingDivergedError,
    _beta_at,
    iter_minibatches,
    train,
)


def _network(g=6, k=2):
    net = SiVAENetwork(NetworkConfig(g, 4, k, (8,)), seed=0)
    net.feature_inputs.assign(np.random.RandomState(0).normal(size=(g, 4)).astype(np.float32))
    return net


def test_minibatches_cover_every_row_once_dense_and_sparse():
    X = np.arange(50, dtype=np.float32).reshape(25, 2)
    for data in (TrainingData(X), TrainingData(sp.csr_matrix(X))):
        rows = np.concatenate([b.x for b in iter_minibatches(data, 7, np.random.RandomState(0))])
        assert rows.shape == (25, 2)
        np.testing.assert_array_equal(np.sort(rows[:, 0]), X[:, 0])
        sizes = [b.x.shape[0] for b in iter_minibatches(data, 7, None)]
        assert sizes == [7, 7, 7, 4]


def test_kl_warmup_is_linear_then_flat():
    cfg = TrainingConfig(beta=2.0, kl_warmup_steps=10)
    assert _beta_at(0, cfg) == 0 and _beta_at(5, cfg) == 1.0 and _beta_at(50, cfg) == 2.0
    assert _beta_at(0, TrainingConfig(beta=2.0, kl_warmup_steps=0)) == 2.0


def test_adam_minimises_a_quadratic():
    v = tf.Variable([3.0, -2.0])
    opt = Adam([v], learning_rate=0.1)
    for _ in range(300):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(v - 1.0))
        opt.apply(tape.gradient(loss, [v]))
    np.testing.assert_allclose(v.numpy(), [1.0, 1.0], atol=1e-2)


def test_train_lowers_the_loss_and_records_history():
    X = np.random.RandomState(0).normal(size=(64, 6)).astype(np.float32)
    cfg = TrainingConfig(max_epochs=20, batch_size=16, kl_warmup_steps=0, early_stopping=False)
    result = train(_network(), TrainingData(X), TrainingData(X[:16]), cfg, seed=1)
    hist = result.history
    assert result.n_iter == 20 and result.n_steps == 80
    assert len(hist["loss"]) == 20 and len(hist["val_loss"]) == 20
    assert hist["loss"][-1] < hist["loss"][0]
    assert set(hist["phase"]) == {"joint"}


def test_early_stopping_stops_before_max_epochs():
    X = np.random.RandomState(0).normal(size=(40, 6)).astype(np.float32)
    cfg = TrainingConfig(max_epochs=500, batch_size=40, kl_warmup_steps=0, n_iter_no_change=3, tol=0.5)
    result = train(_network(), TrainingData(X), TrainingData(X[:10]), cfg, seed=1)
    assert result.stopped_early and result.n_iter < 500


def test_stepwise_schedule_runs_three_phases():
    X = np.random.RandomState(0).normal(size=(40, 6)).astype(np.float32)
    cfg = TrainingConfig(
        max_epochs=3, pretrain_epochs=2, schedule="stepwise", batch_size=20, early_stopping=False, kl_warmup_steps=0
    )
    result = train(_network(), TrainingData(X), None, cfg, seed=1)
    assert result.history["phase"] == ["sample"] * 2 + ["feature"] * 2 + ["joint"] * 3


def test_divergence_raises_with_cause():
    X = (np.random.RandomState(0).normal(size=(40, 6)) * 1e18).astype(np.float32)
    cfg = TrainingConfig(max_epochs=5, batch_size=20, learning_rate=10.0, early_stopping=False)
    with pytest.raises(TrainingDivergedError, match="learning rate is too high.*not scaled"):
        train(_network(), TrainingData(X), None, cfg, seed=1)
