"""The training loop: configuration, minibatches, warm-up, early stopping, divergence, the optimiser, XLA."""

from dataclasses import MISSING, fields

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from sivae_sklearn import SiVAE
from sivae_sklearn._arrays.rows import epoch_batches
from sivae_sklearn._engine.network import NetworkConfig, SiVAENetwork
from sivae_sklearn._engine.training import (
    Adam,
    PhaseSteps,
    TrainingConfig,
    TrainingData,
    TrainingDivergedError,
    beta_at,
    train,
)


def config(n_train=10_000, **params):
    """The training configuration of ``SiVAE(**params)``."""
    return TrainingConfig.from_params(SiVAE(**params).get_params(), n_train, n_features=6)


def _network(g=6, k=2):
    net = SiVAENetwork(NetworkConfig(g, 4, k, (8,)), seed=0)
    net.feature_inputs.assign(np.random.RandomState(0).normal(size=(g, 4)).astype(np.float32))
    return net


def test_configuration_comes_from_the_estimators_parameters():
    params = SiVAE(beta=2.0, batch_size=64, max_epochs=7, tol=0.1).get_params()
    cfg = TrainingConfig.from_params(params, n_train=40, n_features=6)
    assert cfg.batch_size == 40  # capped by the training rows
    assert cfg.max_epochs == 7 and cfg.beta == 2.0 and cfg.tol == 0.1 and not cfg.jit_compile
    assert cfg.kl_warmup_steps == 100  # kl_warmup_epochs=100 of one step each
    for f in fields(TrainingConfig):
        if f.name in params and f.name not in ("batch_size", "kl_warmup_steps"):
            assert getattr(cfg, f.name) == params[f.name], f.name
    # no defaults of its own: the estimator's are the only ones
    assert all(f.default is MISSING and f.default_factory is MISSING for f in fields(TrainingConfig))
    with pytest.raises(TypeError):
        TrainingConfig()


def test_minibatches_cover_every_row_once_dense_and_sparse():
    X = np.arange(50, dtype=np.float32).reshape(25, 2)
    for data in (X, sp.csr_matrix(X)):
        rows = np.concatenate([b.dense() for b in epoch_batches(data, 7, np.random.RandomState(0))()])
        assert rows.shape == (25, 2)
        np.testing.assert_array_equal(np.sort(rows[:, 0]), X[:, 0])
        sizes = [b.index.size for b in epoch_batches(data, 7, None)()]
        assert sizes == [7, 7, 7, 4]


def test_kl_warmup_is_linear_then_flat():
    cfg = config(beta=2.0, kl_warmup_steps=10)
    assert beta_at(0, cfg) == 0 and beta_at(5, cfg) == 1.0 and beta_at(50, cfg) == 2.0
    assert beta_at(0, config(beta=2.0, kl_warmup_steps=0)) == 2.0


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
    cfg = config(max_epochs=20, batch_size=16, kl_warmup_steps=0, early_stopping=False)
    result = train(_network(), TrainingData(X), TrainingData(X[:16]), cfg, seed=1)
    hist = result.history
    assert result.n_iter == 20 and result.n_steps == 80
    assert len(hist["loss"]) == 20 and len(hist["val_loss"]) == 20
    assert hist["loss"][-1] < hist["loss"][0]
    assert set(hist["phase"]) == {"joint"}
    assert len(result.epoch_seconds) == 20 and all(t > 0 for t in result.epoch_seconds)


def test_early_stopping_stops_before_max_epochs():
    X = np.random.RandomState(0).normal(size=(40, 6)).astype(np.float32)
    cfg = config(max_epochs=500, batch_size=40, kl_warmup_steps=0, n_iter_no_change=3, tol=0.5)
    result = train(_network(), TrainingData(X), TrainingData(X[:10]), cfg, seed=1)
    assert result.stopped_early and result.n_iter < 500


def test_early_stopping_restores_the_best_epochs_weights():
    # A high learning rate makes the validation loss rise again after its best epoch.
    rng = np.random.RandomState(0)
    X, X_val = rng.normal(size=(60, 6)).astype(np.float32), rng.normal(size=(20, 6)).astype(np.float32)
    params = dict(max_epochs=300, batch_size=20, kl_warmup_steps=0, learning_rate=0.05, n_iter_no_change=3, tol=0.0)
    network = _network()
    result = train(network, TrainingData(X), TrainingData(X_val), config(**params), seed=1)
    val_loss = np.asarray(result.history["val_loss"])
    best = result.best_epoch
    assert result.stopped_early and result.n_iter == best + 3
    assert val_loss[best - 1] == val_loss.min() and val_loss[-1] > val_loss[best - 1]
    # the final network is the best epoch's: it scores the best epoch's validation loss ...
    steps = PhaseSteps(network, config(**params), "joint", tf.distribute.get_strategy())
    assert steps.evaluate(TrainingData(X_val), seed=1)["loss"] == val_loss[best - 1]
    # ... and has the weights of a run stopped at that epoch
    stopped = _network()
    train(stopped, TrainingData(X), TrainingData(X_val), config(**dict(params, max_epochs=best)), seed=1)
    for key, value in stopped.get_weights().items():
        np.testing.assert_array_equal(network.get_weights()[key], value, err_msg=key)


def test_stepwise_schedule_runs_three_phases():
    X = np.random.RandomState(0).normal(size=(40, 6)).astype(np.float32)
    cfg = config(
        max_epochs=3, pretrain_epochs=2, schedule="stepwise", batch_size=20, early_stopping=False, kl_warmup_steps=0
    )
    result = train(_network(), TrainingData(X), None, cfg, seed=1)
    assert result.history["phase"] == ["sample"] * 2 + ["feature"] * 2 + ["joint"] * 3


def test_divergence_raises_with_cause():
    X = (np.random.RandomState(0).normal(size=(40, 6)) * 1e18).astype(np.float32)
    cfg = config(max_epochs=5, batch_size=20, learning_rate=10.0, early_stopping=False)
    with pytest.raises(TrainingDivergedError, match="learning rate is too high.*not scaled"):
        train(_network(), TrainingData(X), None, cfg, seed=1)


def test_xla_step_trains_and_is_deterministic():
    X = np.random.RandomState(0).normal(size=(40, 6)).astype(np.float32)
    cfg = TrainingConfig.from_params(
        SiVAE(max_epochs=6, batch_size=16, kl_warmup_steps=0, early_stopping=False).get_params(),
        40,
        n_features=6,
        jit_compile=True,
    )
    assert cfg.jit_compile
    nets, results = zip(*[(net, train(net, TrainingData(X), None, cfg, seed=3)) for net in (_network(), _network())])
    assert results[0].history["loss"][-1] < results[0].history["loss"][0]
    for key, value in nets[0].get_weights().items():
        np.testing.assert_array_equal(value, nets[1].get_weights()[key])
