"""The TensorFlow networks on plain tensors: shapes, decoder levels, weights in and out."""

import numpy as np
import pytest
import tensorflow as tf

from sivae_sklearn._engine.network import NetworkConfig, SiVAENetwork


@pytest.fixture
def net():
    cfg = NetworkConfig(n_features=7, n_feature_inputs=5, n_components=3, hidden_layer_sizes=(16, 8))
    network = SiVAENetwork(cfg, seed=0)
    network.feature_inputs.assign(np.random.RandomState(0).normal(size=(7, 5)).astype(np.float32))
    return network


def test_shapes_of_the_four_sub_networks(net):
    x = tf.constant(np.random.RandomState(1).normal(size=(4, 7)).astype(np.float32))
    z_mean, z_std = net.encode_samples(x)
    v_mean, v_std = net.encode_features()
    assert z_mean.shape == (4, 3) and v_mean.shape == (7, 3)
    assert np.all(z_std.numpy() > 0) and np.all(v_std.numpy() > 0)
    y, w = net.decode_samples(z_mean), net.decode_features(v_mean)
    assert y.shape == (4, 16) and w.shape == (7, 16)  # h = widest encoder layer


def test_decoder_levels_pair_equal_widths(net):
    z, _ = net.encode_samples(tf.zeros((2, 7)))
    v, _ = net.encode_features()
    levels = net.decoder_levels(z, v)
    assert len(levels) == net.config.n_levels == 4
    assert [s.shape[1] for s, _ in levels] == [3, 8, 16, 16]
    assert all(s.shape[1] == f.shape[1] for s, f in levels)


def test_linear_decoder_has_one_level():
    cfg = NetworkConfig(n_features=4, n_feature_inputs=3, n_components=2, hidden_layer_sizes=())
    network = SiVAENetwork(cfg, seed=0)
    assert network.config.n_levels == 1
    v, _ = network.encode_features()
    np.testing.assert_array_equal(network.decode_features(v).numpy(), v.numpy())


def test_seed_determines_weights_and_weights_roundtrip(net):
    cfg = net.config
    a, b, c = (SiVAENetwork(cfg, seed=s).get_weights() for s in (0, 0, 1))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert any(not np.array_equal(a[k], c[k]) for k in a)
    other = SiVAENetwork(cfg, seed=5)
    other.set_weights(net.get_weights())
    assert all(np.array_equal(v, other.get_weights()[k]) for k, v in net.get_weights().items())
    with pytest.raises(ValueError, match="missing"):
        other.set_weights({})


def test_float64_copy_agrees(net):
    x = np.random.RandomState(2).normal(size=(3, 7))
    m32, _ = net.encode_samples(tf.constant(x, tf.float32))
    m64, _ = net.astype(np.float64).encode_samples(tf.constant(x, tf.float64))
    np.testing.assert_allclose(m32.numpy(), m64.numpy(), rtol=1e-4, atol=1e-5)
