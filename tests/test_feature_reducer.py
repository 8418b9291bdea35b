"""The fitted feature side: FeatureReducer reduces new columns exactly as it reduced the training ones."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sivae_sklearn import SiVAE
from sivae_sklearn._arrays import feature_inputs as F
from sivae_sklearn._arrays import rows as D
from sivae_sklearn._arrays.feature_inputs import FeatureReducer
from tests.presets import TINY


def low_rank(n, g, seed=0, sparse=False):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4)) @ rng.normal(size=(4, g)) + 0.3 * rng.normal(size=(n, g))
    if sparse:
        return sp.csr_matrix(np.where(rng.uniform(size=(n, g)) < 0.7, 0.0, np.abs(X)))
    return X


# Each shape picks one PCA solver: full (small dense), randomized (dense, > 500 on both sides),
# ARPACK (sparse), the covariance eigendecomposition (sparse, width == n_features).
SOLVER_CASES = [
    pytest.param((60, 12), False, 5, id="full"),
    pytest.param((700, 560), False, 20, id="randomized"),
    pytest.param((80, 30), True, 6, id="arpack"),
    pytest.param((80, 6), True, 10, id="covariance_eigh"),
]


@pytest.mark.parametrize("method", ["pca", "subsample"])
@pytest.mark.parametrize("shape, sparse, size", SOLVER_CASES)
def test_reducing_a_training_column_gives_its_training_input(shape, sparse, size, method):
    X = low_rank(*shape, sparse=sparse)
    reducer = FeatureReducer(method, size)
    inputs = reducer.fit_transform(X, np.random.RandomState(0))
    again = reducer.transform(X)
    assert again.dtype == np.float32 and again.shape == inputs.shape
    # float32 round-off of values of unit overall standard deviation; measured worst case 9e-7 of the largest
    np.testing.assert_allclose(again, inputs, rtol=0, atol=5e-6 * np.abs(inputs).max())
    assert reducer.width_ == inputs.shape[1] and reducer.n_samples_fit_ == shape[0]


@pytest.mark.parametrize("method", ["pca", "subsample"])
def test_new_columns_are_reduced_as_if_they_had_been_in_training(method):
    """A column's reduced input depends on it alone, once the axes are fitted: so one that was held out of the
    fit (a linear mix of training columns plus a column of its own) is reduced like any other."""
    X = low_rank(120, 25, seed=1)
    train, new = X[:, :20], X[:, 20:]
    reducer = FeatureReducer(method, 8)
    reducer.fit_transform(train, np.random.RandomState(0))
    mix = np.random.RandomState(2).normal(size=(20, 3))
    # linear in the column, up to the centring: reducing train @ mix is mixing the reduced training inputs
    np.testing.assert_allclose(
        reducer.transform(train @ mix), (reducer.transform(train).astype(np.float64).T @ mix).T, atol=1e-4
    )
    out = reducer.transform(new)
    assert out.shape == (5, reducer.width_) and np.all(np.isfinite(out))
    if method == "pca":  # a constant shift of a column changes nothing: columns are centred over the rows
        np.testing.assert_allclose(reducer.transform(new + 7.0), out, atol=1e-5)
    else:  # the subsample: the column's values on the sampled rows, scaled
        np.testing.assert_allclose(out, (new[reducer.rows_] / reducer.scale_).T.astype(np.float32))


def test_sparse_columns_are_reduced_as_dense_ones_without_densifying(monkeypatch):
    X = low_rank(90, 30, sparse=True)
    reducer = FeatureReducer("pca", 6)
    reducer.fit_transform(X[:, :20], np.random.RandomState(0))
    new = X[:, 20:]
    dense = reducer.transform(new.toarray())

    def refuse(self, *args, **kwargs):
        raise AssertionError("the sparse columns were densified")

    monkeypatch.setattr(sp.csr_matrix, "toarray", refuse)
    monkeypatch.setattr(sp.csr_matrix, "todense", refuse)
    np.testing.assert_allclose(reducer.transform(new), dense, atol=1e-6)
    np.testing.assert_allclose(reducer.transform(sp.csc_matrix(new)), dense, atol=1e-6)


def test_rows_only_takes_just_the_rows_the_reduction_reads():
    X = low_rank(100, 10)
    reducer = FeatureReducer("pca", 4)
    inputs = reducer.fit_transform(X[::2], np.random.RandomState(0), rows=np.arange(0, 100, 2), n_samples=100)
    np.testing.assert_array_equal(reducer.rows_, np.arange(0, 100, 2))
    full = reducer.transform(X)
    np.testing.assert_allclose(full, inputs, atol=1e-5)
    np.testing.assert_array_equal(reducer.transform(X[reducer.rows_], rows_only=True), full)
    with pytest.raises(ValueError, match="must have 100 rows"):
        reducer.transform(X[:50])
    with pytest.raises(ValueError, match="must have 50 rows"):
        reducer.transform(X, rows_only=True)
    with pytest.raises(ValueError, match="NaN or infinite"):
        reducer.transform(np.full((100, 1), np.nan))
    with pytest.raises(AttributeError, match="not fitted"):
        FeatureReducer().transform(X)


def test_data_without_variance_reduces_everything_to_zero():
    reducer = FeatureReducer("pca", 3)
    assert not reducer.fit_transform(np.ones((10, 4)), 0).any()
    assert not reducer.transform(np.random.RandomState(0).normal(size=(10, 2))).any()


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 40),
    g=st.integers(1, 15),
    rank=st.integers(0, 5),
    size=st.integers(1, 12),
    method=st.sampled_from(["pca", "subsample"]),
    seed=st.integers(0, 2**16),
)
def test_training_columns_round_trip_for_any_shape_and_rank(n, g, rank, size, method, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, g)) if rank else np.zeros((n, g))
    reducer = FeatureReducer(method, size)
    inputs = reducer.fit_transform(X, rng)
    # rank-deficient: axes beyond the rank carry round-off only, at most float32 eps of the largest value
    np.testing.assert_allclose(reducer.transform(X), inputs, rtol=0, atol=1e-5 * max(np.abs(inputs).max(), 1.0))


# ----------------------------------------------------------- inside SiVAE.fit
@pytest.mark.parametrize("method", ["pca", "subsample"])
def test_fit_keeps_a_reducer_that_reproduces_the_network_input(method):
    X = low_rank(80, 7)
    model = SiVAE(**{**TINY, "max_epochs": 1, "feature_input": method, "feature_input_size": 5}).fit(X)
    reducer = model.feature_reducer_
    inputs = model._network.feature_inputs.numpy()
    assert reducer.n_samples_fit_ == 80 and reducer.width_ == inputs.shape[1]
    # the validation rows never reach the reduction
    np.testing.assert_allclose(reducer.transform(X), inputs, rtol=0, atol=5e-6 * np.abs(inputs).max())


def test_fit_on_more_rows_than_the_cap_records_the_drawn_rows(monkeypatch):
    monkeypatch.setattr(F, "MAX_ROWS", 30)
    split = D.split_training_rows(low_rank(100, 6), 0.2, np.random.RandomState(0), 30)
    reducer, inputs = F.training_feature_inputs(split, "pca", 4, np.random.RandomState(0), lambda a: a)
    assert reducer.rows_.size == 30 and set(reducer.rows_) <= set(split.train_rows)
    np.testing.assert_allclose(reducer.transform(split.X), inputs, atol=1e-5)


def test_on_disk_fit_records_the_sampled_rows():
    da = pytest.importorskip("dask.array")
    X = low_rank(150, 6).astype(np.float32)
    split = D.split_training_rows(D.as_disk_rows(da.from_array(X, chunks=(20, 6))), 0.2, np.random.RandomState(0), 40)
    sample = np.array(split.sample)
    reducer, inputs = F.training_feature_inputs(split, "pca", 4, np.random.RandomState(0), lambda a: a)
    assert reducer.rows_.size == 40 and reducer.n_samples_fit_ == 150
    assert split.train_rows[reducer.rows_].all()  # training rows only
    np.testing.assert_array_equal(sample, X[reducer.rows_])
    assert split.sample is None  # released once used (its PCA centred it in place)
    np.testing.assert_allclose(reducer.transform(X), inputs, atol=1e-5)
    np.testing.assert_allclose(reducer.transform(X[reducer.rows_], rows_only=True), inputs, atol=1e-5)


def test_on_disk_fit_keeps_a_reducer_that_reproduces_the_network_input():
    da = pytest.importorskip("dask.array")
    X = low_rank(120, 6).astype(np.float32)
    model = SiVAE(**{**TINY, "max_epochs": 1, "feature_input_size": 4}).fit(da.from_array(X, chunks=(25, 6)))
    inputs = model._network.feature_inputs.numpy()
    np.testing.assert_allclose(model.feature_reducer_.transform(X), inputs, atol=5e-6 * np.abs(inputs).max())
