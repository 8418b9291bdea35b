"""The feature-wise network sized on its own: ``SiVAE(feature_hidden_layer_sizes=...)``."""

import numpy as np
import pytest

from sivae_sklearn import SiVAE, load
from sivae_sklearn._engine.network import NetworkConfig, weight_shapes

from .presets import SMALL, TINY

FIT = {**{k: v for k, v in TINY.items() if k != "kl_warmup_steps"}, "kl_warmup_epochs": 2}
"""TINY with its warm-up in epochs."""


@pytest.fixture(scope="module")
def X():
    rng = np.random.RandomState(0)
    z = rng.normal(size=(80, 2))
    return (np.tanh(z @ rng.normal(size=(2, 9))) + 0.1 * rng.normal(size=(80, 9))).astype(np.float32)


@pytest.fixture(scope="module")
def narrow(X):
    """A fit whose feature network has one layer of 4 units while the sample network has 16 and 8."""
    model = SiVAE(3, **{**FIT, "feature_hidden_layer_sizes": (4,)}).fit(X)
    model.components_.flags.writeable = False
    return model


def test_none_mirrors_the_sample_network_bit_for_bit(X):
    short = {**FIT, "max_epochs": 2}
    mirrored = SiVAE(3, **short).fit(X)
    explicit = SiVAE(3, **{**short, "feature_hidden_layer_sizes": FIT["hidden_layer_sizes"]}).fit(X)
    np.testing.assert_array_equal(mirrored.transform(X), explicit.transform(X))
    np.testing.assert_array_equal(mirrored.components_, explicit.components_)
    assert mirrored._network_config == explicit._network_config


def test_the_feature_network_has_its_own_widths(narrow):
    shapes = weight_shapes(narrow._network_config)
    assert shapes["feature_encoder_body_kernel0"] == (narrow._network_config.n_feature_inputs, 4)
    assert shapes["feature_encoder_mean_kernel0"] == (4, 3)
    # the decoder mirrors the feature encoder and ends at h, the sample decoder's output width
    assert shapes["feature_decoder_kernel0"] == (3, 4) and shapes["feature_decoder_kernel1"] == (4, 16)
    assert "feature_decoder_kernel2" not in shapes
    assert shapes["sample_encoder_body_kernel1"] == (16, 8)  # the sample network is untouched


def test_a_linear_feature_network():
    config = NetworkConfig(5, 3, 2, (8, 4), feature_hidden_layer_sizes=())
    shapes = weight_shapes(config)
    assert shapes["feature_encoder_mean_kernel0"] == (3, 2) and shapes["feature_decoder_kernel0"] == (2, 8)
    assert "feature_encoder_body_kernel0" not in shapes and "feature_decoder_kernel1" not in shapes


def test_only_the_latent_and_the_last_level_pair_up(X, narrow):
    assert narrow._network_config.n_levels == 2
    last = narrow.feature_awareness(X, layer=-1)
    np.testing.assert_allclose(last, narrow.feature_awareness(X, layer=1))
    assert narrow.feature_awareness_.shape == last.shape and np.all(np.isfinite(narrow.feature_awareness_))
    assert narrow.feature_awareness(X, layer=0).shape == (X.shape[1],)
    with pytest.raises(ValueError, match="layer=2 does not exist: the decoder has 2 levels"):
        narrow.feature_awareness(X, layer=2)


def test_embedding_a_training_column_gives_its_loadings(X, narrow):
    np.testing.assert_allclose(narrow.embed_features(X[:, :4]), narrow.components_[:, :4], rtol=1e-5, atol=1e-5)


def test_saved_and_loaded_with_its_widths(X, narrow, tmp_path):
    path = tmp_path / "narrow.sivae"
    narrow.save(path)
    loaded = load(path)
    assert loaded.feature_hidden_layer_sizes == (4,)
    assert loaded._network_config == narrow._network_config
    np.testing.assert_array_equal(loaded.transform(X), narrow.transform(X))
    np.testing.assert_array_equal(loaded.components_, narrow.components_)


@pytest.mark.parametrize("widths", [(0,), (4, -1), "64"])
def test_impossible_widths_are_refused_before_training(X, widths):
    with pytest.raises(ValueError, match="feature_hidden_layer_sizes"):
        SiVAE(**{**SMALL, "feature_hidden_layer_sizes": widths}).fit(X)


def test_the_command_line_passes_the_widths_on():
    from sivae_sklearn.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(["fit", "i", "-o", "o"]).feature_hidden_layer_sizes is None  # the default: mirrored
    for text, value in (("64", (64,)), ("128,32", (128, 32)), ("linear", ())):
        args = parser.parse_args(["fit", "i", "-o", "o", "--feature-hidden-layer-sizes", text])
        assert args.feature_hidden_layer_sizes == value
    with pytest.raises(SystemExit):
        parser.parse_args(["fit", "i", "-o", "o", "--feature-hidden-layer-sizes", "0"])
