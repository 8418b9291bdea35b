"""Interpolation, traversal and manifold grids."""

import numpy as np
import pytest

from sivae_sklearn import SiVAE
from sivae_sklearn.generation import interpolate, manifold_grid, traverse


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).uniform(size=(50, 9))


@pytest.fixture(scope="module")
def model(X):
    return SiVAE(n_components=3, hidden_layer_sizes=(8,), max_epochs=3, random_state=0).fit(X)


@pytest.fixture(scope="module")
def cond_model(X):
    return SiVAE(hidden_layer_sizes=(8,), max_epochs=3, conditional=True, random_state=0).fit(X, np.repeat([0, 1], 25))


def test_interpolation_ends_at_the_samples(model, X):
    path = interpolate(model, X[0], X[1], n_steps=6)
    assert path.latent.shape == (6, 3) and path.decoded.shape == (6, 9)
    Z = model.transform(X[:2])
    np.testing.assert_allclose(path.latent[[0, -1]], Z, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(path.decoded[0], model.inverse_transform(Z[:1])[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.diff(path.latent, axis=0), np.diff(path.latent, axis=0)[:1].repeat(5, 0), atol=1e-6)


def test_spherical_interpolation_keeps_norm(model):
    a, b = np.array([2.0, 0.0, 0.0]), np.array([0.0, 2.0, 0.0])
    path = interpolate(model, a, b, n_steps=5, latent=True, method="spherical")
    np.testing.assert_allclose(np.linalg.norm(path.latent, axis=1), 2.0)
    with pytest.raises(ValueError, match="method"):
        interpolate(model, a, b, latent=True, method="cubic")
    with pytest.raises(ValueError, match="latent point of 3"):
        interpolate(model, a[:2], b, latent=True)


@pytest.mark.parametrize("values", ["prior", "posterior", "quantiles"])
def test_traversal_changes_one_dimension(model, X, values):
    trav = traverse(model, X[0], n_steps=4, values=values, reference=X)
    assert trav.decoded.shape == (3, 4, 9) and trav.values.shape == (3, 4)
    z0 = model.transform(X[:1])[0]
    for row, d in enumerate(trav.dimensions):
        others = np.delete(trav.latent[row], d, axis=1)
        np.testing.assert_allclose(others, np.delete(z0, d)[None].repeat(4, 0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(trav.latent[row, :, d], trav.values[row])
        assert np.all(np.diff(trav.values[row]) > 0)
    if values == "quantiles":
        emb = model.transform(X)
        assert trav.values[0, 0] >= emb[:, 0].min() and trav.values[0, -1] <= emb[:, 0].max()


def test_traversal_errors(model, X):
    with pytest.raises(ValueError, match="dimension 5 does not exist"):
        traverse(model, X[0], dimensions=5)
    with pytest.raises(ValueError, match="does not exist"):
        traverse(model, X[0], dimensions=[0, 3])
    with pytest.raises(ValueError, match="reference="):
        traverse(model, X[0], values="quantiles")
    with pytest.raises(ValueError, match="needs a data sample"):
        traverse(model, None, values="posterior")
    with pytest.raises(ValueError, match="values must be"):
        traverse(model, X[0], values="uniform")
    with pytest.raises(ValueError, match="expecting 9 features"):
        traverse(model, X[0, :4])


def test_manifold_grid(model):
    grid = manifold_grid(model, dimensions=(0, 2), n_per_side=4, limits=(-1, 1))
    assert grid.decoded.shape == (4, 4, 9)
    np.testing.assert_allclose(grid.values_a, np.linspace(-1, 1, 4))
    expected = model.inverse_transform(np.array([[grid.values_a[3], 0.0, grid.values_b[1]]]))[0]
    np.testing.assert_allclose(grid.decoded[1, 3], expected, rtol=1e-5)
    with pytest.raises(ValueError, match="does not exist"):
        manifold_grid(model, dimensions=(0, 3))
    with pytest.raises(ValueError, match="two different"):
        manifold_grid(model, dimensions=(1, 1))


def test_generation_under_a_condition(cond_model, X):
    with pytest.raises(ValueError, match="needs condition="):
        manifold_grid(cond_model, n_per_side=3)
    with pytest.raises(ValueError, match="not seen in fit"):
        traverse(cond_model, X[0], condition=2)
    g0 = manifold_grid(cond_model, n_per_side=3, condition=0).decoded
    g1 = manifold_grid(cond_model, n_per_side=3, condition=1).decoded
    assert not np.allclose(g0, g1)
    assert interpolate(cond_model, X[0], X[1], n_steps=3, condition=1).decoded.shape == (3, 9)
