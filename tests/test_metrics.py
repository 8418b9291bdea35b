"""Latent-space quality metrics."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from sivae_sklearn import SiVAE
from sivae_sklearn.metrics import (
    active_dimensions,
    kl_per_dimension,
    knn_accuracy,
    module_recovery,
    mutual_information_gap,
    trustworthiness,
)


def test_knn_accuracy_separates_informative_from_random():
    rng = np.random.RandomState(0)
    labels = np.repeat([0, 1, 2], 30)
    Z_good = labels[:, None] * 5.0 + rng.normal(size=(90, 2))
    Z_bad = rng.normal(size=(90, 2))
    assert knn_accuracy(Z_good, labels) > 0.95
    assert knn_accuracy(Z_bad, labels) < 0.6


def test_knn_accuracy_errors():
    Z = np.zeros((10, 2))
    with pytest.raises(ValueError, match="at least two classes"):
        knn_accuracy(Z, np.zeros(10))
    with pytest.raises(ValueError, match="fewer than n_splits"):
        knn_accuracy(Z, [0] * 8 + [1] * 2)
    with pytest.raises(ValueError, match="labels has 9 entries"):
        knn_accuracy(Z, [0, 1] * 4 + [0])


def test_knn_default_k_is_twice_the_classes(monkeypatch):
    import sivae_sklearn.metrics as m

    seen = {}
    real = m.KNeighborsClassifier

    def spy(n_neighbors):
        seen["k"] = n_neighbors
        return real(n_neighbors=n_neighbors)

    monkeypatch.setattr(m, "KNeighborsClassifier", spy)
    knn_accuracy(np.random.RandomState(0).normal(size=(60, 2)), np.repeat([0, 1, 2], 20))
    assert seen["k"] == 6


def test_trustworthiness():
    X = np.random.RandomState(0).normal(size=(40, 5))
    assert trustworthiness(X, X) == pytest.approx(1.0)
    assert trustworthiness(X, X[:, :1]) < 0.95
    with pytest.raises(ValueError, match="rows"):
        trustworthiness(X, X[:10])


class _StubModel(BaseEstimator):
    """A fitted-looking model whose posterior is fixed, to test the arithmetic (public API only)."""

    n_components_ = 2

    def __init__(self, mean=None, std=None):
        self.mean, self.std = mean, std

    def fit(self, X):
        return self

    def __sklearn_is_fitted__(self):
        return True

    def transform(self, X, return_std=False):
        return (self.mean, self.std) if return_std else self.mean


def test_kl_and_activity_arithmetic():
    rng = np.random.RandomState(0)
    mean = np.c_[rng.normal(size=100), np.full(100, 0.3)]
    std = np.c_[np.full(100, 0.5), np.ones(100)]
    stub = _StubModel(mean, std)
    kl = kl_per_dimension(stub, np.zeros((100, 3)))
    expected0 = np.mean(0.5 * (0.25 + mean[:, 0] ** 2 - 1 - np.log(0.25)))
    np.testing.assert_allclose(kl, [expected0, 0.5 * 0.09])
    np.testing.assert_array_equal(active_dimensions(stub, np.zeros((100, 3))), [True, False])


def test_kl_and_activity_on_a_fitted_model():
    X = np.random.RandomState(0).normal(size=(60, 6))
    model = SiVAE(n_components=3, hidden_layer_sizes=(8,), max_epochs=3, random_state=0).fit(X)
    kl = kl_per_dimension(model, X)
    mean, std = model.transform(X, return_std=True)  # the posterior, through the public API
    expected = np.mean(0.5 * (std**2 + mean**2 - 1 - np.log(std**2)), axis=0)
    np.testing.assert_allclose(kl, expected, rtol=1e-5, atol=1e-7)
    activity = np.var(mean, axis=0)  # the variance of the posterior mean over the samples
    low, high = np.sort(activity)[:2]
    threshold = (low + high) / 2  # between the two least active dimensions: exactly one is inactive
    np.testing.assert_array_equal(active_dimensions(model, X, threshold=threshold), activity > threshold)
    assert active_dimensions(model, X, threshold=threshold).sum() == 2


def test_mutual_information_gap():
    rng = np.random.RandomState(0)
    f = rng.randint(0, 4, 400)
    disentangled = np.c_[f + rng.normal(0, 0.1, 400), rng.normal(size=400)]
    entangled = np.c_[f + rng.normal(0, 0.1, 400), f + rng.normal(0, 0.1, 400)]
    assert mutual_information_gap(disentangled, f) > 0.7
    assert mutual_information_gap(entangled, f) < 0.2
    with pytest.raises(ValueError, match="at least 2"):
        mutual_information_gap(disentangled[:, :1], f)
    with pytest.raises(ValueError, match="constant"):
        mutual_information_gap(disentangled, np.zeros(400))


def test_module_recovery_reads_directions_only_and_ignores_noise_features():
    rng = np.random.RandomState(0)
    centres = np.eye(3)
    modules = np.repeat([0, 1, 2], 10)
    loadings = centres[modules] + rng.normal(0, 0.05, (30, 3))
    loadings *= rng.uniform(0.1, 10, (30, 1))  # lengths differ wildly; directions are what counts
    with_noise = np.r_[loadings, rng.normal(size=(5, 3))]
    labels = np.r_[modules, [-1] * 5]
    assert module_recovery(with_noise, labels) == 1.0
    assert module_recovery(with_noise, np.r_[rng.permutation(modules), [-1] * 5]) < 0.2
    with pytest.raises(ValueError, match="at least two modules"):
        module_recovery(loadings, np.zeros(30, int))
    with pytest.raises(ValueError, match="modules has 29 entries"):
        module_recovery(loadings, modules[:29])
