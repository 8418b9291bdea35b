"""Bad input gets a clear error before any training starts."""

import numpy as np
import pytest
from conftest import TINY

from sivae_sklearn import SiVAE, TrainingDivergedError


@pytest.fixture
def X():
    return np.random.RandomState(0).normal(size=(30, 5))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([[np.nan, 1.0], [1.0, 2.0], [0.0, 1.0]]), "NaN"),
        (np.array([[np.inf, 1.0], [1.0, 2.0], [0.0, 1.0]]), "infinity"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), "X holds strings"),
        (np.zeros((0, 3)), "0 sample"),
        (np.ones((1, 3)), "1 sample"),
        (np.ones((5, 1)), "n_features=1"),
        (np.full((4, 3), 1e300), "float32 range"),
    ],
)
def test_bad_training_data(bad, match):
    with pytest.raises(ValueError, match=match):
        SiVAE(**TINY).fit(bad)


def test_wrong_width_at_transform(X):
    model = SiVAE(**TINY).fit(X)
    with pytest.raises(ValueError, match="5 features"):
        model.transform(X[:, :3])
    with pytest.raises(ValueError, match="n_components=2"):
        model.inverse_transform(np.zeros((2, 3)))


@pytest.mark.parametrize(
    "params",
    [
        {"n_components": 0},
        {"learning_rate": -1.0},
        {"likelihood": "cauchy"},
        {"batch_size": 0},
        {"validation_fraction": 1.0},
        {"feature_input": "magic"},
        {"schedule": "sometimes"},
    ],
)
def test_impossible_parameters(params, X):
    with pytest.raises(ValueError):
        SiVAE(**{**TINY, **params}).fit(X)


def test_bad_hidden_layer_sizes(X):
    with pytest.raises(ValueError, match="positive integers"):
        SiVAE(**{**TINY, "hidden_layer_sizes": (8, 0)}).fit(X)


def test_bernoulli_needs_unit_interval(X):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        SiVAE(**{**TINY, "likelihood": "bernoulli"}).fit(X)


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SiVAE().transform(np.zeros((2, 3)))


def test_diverging_run_raises_naming_the_cause():
    X = np.random.RandomState(0).normal(size=(40, 6)) * 1e18
    with pytest.raises(TrainingDivergedError, match="learning rate is too high"):
        SiVAE(**{**TINY, "learning_rate": 10.0}).fit(X)
