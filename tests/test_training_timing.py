"""Issue 6: per-epoch timing and the opt-in XLA train step."""

import numpy as np

from sivae_sklearn._network import NetworkConfig, SiVAENetwork
from sivae_sklearn._training import TrainingConfig, TrainingData, train


def _fit(jit_compile, epochs=3):
    X = np.random.RandomState(0).normal(size=(40, 6)).astype(np.float32)
    net = SiVAENetwork(NetworkConfig(6, 4, 2, (8,)), seed=0)
    net.feature_inputs.assign(np.random.RandomState(1).normal(size=(6, 4)).astype(np.float32))
    cfg = TrainingConfig(
        max_epochs=epochs, batch_size=16, kl_warmup_steps=0, early_stopping=False, jit_compile=jit_compile
    )
    return net, train(net, TrainingData(X), None, cfg, seed=3)


def test_every_epoch_is_timed():
    _, result = _fit(False)
    assert len(result.epoch_seconds) == result.n_iter == 3
    assert all(t > 0 for t in result.epoch_seconds)


def test_xla_step_trains_and_is_deterministic():
    net_a, res_a = _fit(True, epochs=6)
    net_b, _ = _fit(True, epochs=6)
    assert res_a.history["loss"][-1] < res_a.history["loss"][0]
    for key, value in net_a.get_weights().items():
        np.testing.assert_array_equal(value, net_b.get_weights()[key])
