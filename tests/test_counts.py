"""Count likelihoods (negative binomial, Poisson) end to end, and sparse == dense."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sivae_sklearn import SiVAE
from tests.presets import COUNTS, make_counts


@pytest.fixture(scope="module")
def counts():
    return make_counts(n_cells=200, n_genes=50, seed=0)


# ------------------------------------------------------------- end to end
@pytest.mark.parametrize("likelihood", ["nb", "poisson"])
def test_count_model_trains_and_decodes(counts, likelihood):
    X, _ = counts
    model = SiVAE(3, likelihood=likelihood, **COUNTS).fit(X)
    loss = np.asarray(model.history_["reconstruction"])
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0]
    Z = model.transform(X)
    freq = model.inverse_transform(Z)
    np.testing.assert_allclose(freq.sum(axis=1), 1.0, rtol=1e-4)
    library = X.sum(axis=1)
    expected = model.inverse_transform(Z, library_size=library)
    np.testing.assert_allclose(expected.sum(axis=1), library, rtol=1e-4)
    np.testing.assert_allclose(expected, freq * library[:, None], rtol=1e-4)
    scalar = model.inverse_transform(Z[:3], library_size=1000.0)
    np.testing.assert_allclose(scalar.sum(axis=1), 1000.0, rtol=1e-4)
    assert np.all(np.isfinite(model.score_samples(X)))
    assert np.all(np.isfinite(model.feature_awareness_))


def test_count_model_beats_shuffled_genes(counts):
    """The decoder learns the gene profile: its expected counts fit better than a shuffled gene order."""
    X, _ = counts
    model = SiVAE(3, likelihood="nb", **dict(COUNTS, learning_rate=1e-2)).fit(X)
    expected = model.inverse_transform(model.transform(X), library_size=X.sum(axis=1))
    err = np.mean((expected - X) ** 2)
    shuffled = np.mean((expected[:, np.random.RandomState(0).permutation(X.shape[1])] - X) ** 2)
    assert err < 0.7 * shuffled


def test_library_size_rejected_for_gaussian(counts):
    X, _ = counts
    model = SiVAE(2, **COUNTS).fit(np.log1p(X))
    with pytest.raises(ValueError, match="count likelihoods"):
        model.inverse_transform(np.zeros((2, 2)), library_size=10.0)


def test_library_size_validation(counts):
    X, _ = counts
    model = SiVAE(2, likelihood="poisson", **COUNTS).fit(X)
    with pytest.raises(ValueError, match="one entry per row"):
        model.inverse_transform(np.zeros((3, 2)), library_size=[1.0, 2.0])
    with pytest.raises(ValueError, match="non-negative"):
        model.inverse_transform(np.zeros((1, 2)), library_size=-5.0)


def test_negative_counts_error_and_non_integer_warning(counts):
    X, _ = counts
    bad = X.copy()
    bad[0, 0] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        SiVAE(2, likelihood="nb", **COUNTS).fit(bad)
    with pytest.warns(UserWarning, match="integer counts"):
        SiVAE(2, likelihood="nb", **dict(COUNTS, max_epochs=1)).fit(X + 0.5)


def test_zero_count_cells_are_finite(counts):
    X, _ = counts
    X = X.copy()
    X[:5] = 0.0
    model = SiVAE(2, likelihood="nb", **dict(COUNTS, max_epochs=3)).fit(X)
    Z = model.transform(X)
    assert np.all(np.isfinite(Z)) and np.all(np.isfinite(model.score_samples(X)))
    np.testing.assert_allclose(Z[0], Z[4], rtol=1e-6)  # same all-zero input, same embedding


# ---------------------------------------------------------- sparse == dense
SPARSE_PARAMS = dict(COUNTS, max_epochs=4, feature_input="subsample", feature_input_size=30)


@pytest.fixture(scope="module")
def dense_fits(counts):
    """The dense fit of each likelihood, fitted once for both sparse formats (the tests only read it)."""
    cache = {}

    def dense_fit(likelihood):
        if likelihood not in cache:
            X = counts[0] if likelihood == "nb" else np.log1p(counts[0])
            cache[likelihood] = SiVAE(3, likelihood=likelihood, **SPARSE_PARAMS).fit(X)
        return cache[likelihood]

    return dense_fit


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("likelihood", ["nb", "gaussian"])
def test_sparse_fit_equals_dense_fit(counts, dense_fits, fmt, likelihood):
    """Minibatches densified from sparse rows give the very same training as dense input.

    ``feature_input="subsample"`` makes the feature-wise input identical on both
    paths; the PCA feature input differs only by solver round-off (next test).
    """
    X, _ = counts
    X = X if likelihood == "nb" else np.log1p(X)
    X_sparse = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    params = SPARSE_PARAMS
    dense = dense_fits(likelihood)
    sparse = SiVAE(3, likelihood=likelihood, **params).fit(X_sparse)
    np.testing.assert_allclose(sparse.components_, dense.components_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sparse.transform(X_sparse), dense.transform(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sparse.score_samples(X_sparse), dense.score_samples(X), rtol=1e-5)
    np.testing.assert_allclose(sparse.feature_awareness_, dense.feature_awareness_, rtol=1e-4, atol=1e-5)
    # a model fitted on dense data answers the same on sparse input
    np.testing.assert_allclose(dense.transform(X_sparse), dense.transform(X), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dense.score_samples(X_sparse), dense.score_samples(X), rtol=1e-6)


@pytest.mark.parametrize("size", [10, 50])  # 50 = all genes: the dense-like covariance solver
def test_sparse_pca_feature_inputs_match_dense(counts, size):
    from sivae_sklearn._arrays.feature_inputs import make_feature_inputs

    X = np.log1p(counts[0])
    dense = make_feature_inputs(X, "pca", size, np.random.RandomState(0))
    sparse = make_feature_inputs(sp.csr_matrix(X), "pca", size, np.random.RandomState(0))
    assert dense.shape == sparse.shape
    # the same up to solver round-off (arpack / covariance vs full SVD; signs fixed by sklearn);
    # the trailing axes of tiny, near-equal eigenvalues are ill-determined, so compare the leading ones
    np.testing.assert_allclose(sparse[:, :5], dense[:, :5], atol=2e-3)
    np.testing.assert_allclose(np.linalg.norm(sparse, axis=1), np.linalg.norm(dense, axis=1), rtol=1e-3)


def test_sparse_feature_pca_does_not_densify(counts, monkeypatch):
    """The feature-input PCA must get the sparse matrix itself (arpack / covariance), never a dense copy."""
    from sivae_sklearn._arrays import feature_inputs as _feature_inputs

    seen = []
    real_fit = _feature_inputs.PCA.fit_transform  # fit_transform: the reducer keeps U from the same SVD

    def spy(self, X, y=None):
        seen.append((sp.issparse(X), self.svd_solver))
        return real_fit(self, X, y)

    monkeypatch.setattr(_feature_inputs.PCA, "fit_transform", spy)
    rng = np.random.RandomState(0)
    X = sp.random(120, 80, density=0.1, format="csr", random_state=rng, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _feature_inputs.make_feature_inputs(X, "pca", 10, rng)
    assert seen == [(True, "arpack")]
