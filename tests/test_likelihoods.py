"""The likelihood registry: NLLs against SciPy, means, support checks, the encoder input in NumPy and TF."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from sivae_sklearn._engine import likelihoods as L


def test_gaussian_nll_matches_scipy(rng):
    x, mean = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    log_scale = rng.normal(size=3) * 0.3
    got = L.gaussian_nll(tf.constant(x), tf.constant(mean), tf.constant(log_scale)).numpy()
    want = -stats.norm.logpdf(x, loc=mean, scale=np.exp(log_scale)).sum(axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_bernoulli_nll_matches_formula(rng):
    x = rng.uniform(size=(5, 4))
    logits = rng.normal(size=(5, 4))
    p = 1 / (1 + np.exp(-logits))
    want = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1)
    np.testing.assert_allclose(L.bernoulli_nll(tf.constant(x), tf.constant(logits)).numpy(), want, rtol=1e-8)


@pytest.mark.parametrize("theta", [0.5, 2.0, 30.0])
def test_nb_nll_matches_scipy(theta):
    x = np.array([[0.0, 1.0, 3.0, 10.0, 57.0]], np.float32)
    mu = np.array([[0.3, 1.5, 2.0, 12.0, 40.0]], np.float32)
    log_theta = np.full((5,), np.log(theta), np.float32)
    ours = L.negative_binomial_nll(tf.constant(x), tf.constant(mu), tf.constant(log_theta)).numpy()
    # scipy: n = theta (number of successes), p = theta / (theta + mu)
    expected = -stats.nbinom.logpmf(x, theta, theta / (theta + mu)).sum()
    np.testing.assert_allclose(ours, [expected], rtol=1e-4)


def test_poisson_nll_matches_scipy():
    x = np.array([[0.0, 1.0, 4.0, 25.0], [2.0, 0.0, 7.0, 1.0]], np.float32)
    rate = np.array([[0.5, 1.0, 3.0, 20.0], [1.5, 0.1, 9.0, 2.0]], np.float32)
    ours = L.poisson_nll(tf.constant(x), tf.constant(np.log(rate))).numpy()
    expected = -stats.poisson.logpmf(x, rate).sum(axis=1)
    np.testing.assert_allclose(ours, expected, rtol=1e-5)


def test_registry_means_and_library_sizes(rng):
    params = tf.constant(rng.normal(size=(3, 4)))
    library = tf.constant([[10.0], [20.0], [5.0]], tf.float64)
    np.testing.assert_array_equal(L.get_likelihood("gaussian").mean(params), params)
    np.testing.assert_allclose(L.get_likelihood("bernoulli").mean(params), 1 / (1 + np.exp(-params.numpy())))
    for name in ("poisson", "nb"):
        family = L.get_likelihood(name)
        assert family.needs_library_size and family.encoder_input is L.LOG1P_FREQUENCY
        np.testing.assert_allclose(family.mean(params, library).numpy().sum(axis=1), [10.0, 20.0, 5.0])
        np.testing.assert_allclose(family.library_size(params * 0 + 2.0).numpy(), [[8.0]] * 3)
    for name in ("gaussian", "bernoulli"):
        assert L.get_likelihood(name).library_size(params) is None
    assert L.count_likelihoods() == ("poisson", "nb")
    with pytest.raises(ValueError, match="Unknown likelihood 'cauchy'"):
        L.get_likelihood("cauchy")


def test_registry_nll_is_the_family_formula(rng):
    x = rng.poisson(3.0, size=(4, 5)).astype(np.float64)
    params = rng.normal(size=(4, 5))
    log_scale = rng.normal(size=5) * 0.2
    library = x.sum(axis=1, keepdims=True)
    freq = np.exp(params) / np.exp(params).sum(axis=1, keepdims=True)
    want = {
        "gaussian": -stats.norm.logpdf(x, params, np.exp(log_scale)).sum(axis=1),
        "poisson": -stats.poisson.logpmf(x, freq * library).sum(axis=1),
        "nb": -stats.nbinom.logpmf(x, np.exp(log_scale), np.exp(log_scale) / (np.exp(log_scale) + freq * library)).sum(
            axis=1
        ),
    }
    for name, expected in want.items():
        got = L.get_likelihood(name).nll(*map(tf.constant, (x, params, log_scale, library))).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-6, err_msg=name)


# ------------------------------------------------------------ support checks
def test_support_checks_name_the_source():
    L.get_likelihood("gaussian").check_support(np.array([[-1e6, 3.0]]))
    bernoulli = L.get_likelihood("bernoulli")
    bernoulli.check_support(np.array([[0.0, 0.5, 1.0]]))
    with pytest.raises(ValueError, match=r"needs data in \[0, 1\], but X holds values in \[0.5, 2\]"):
        bernoulli.check_support(np.array([[0.5, 2.0]]))
    # the implicit zeros of a sparse matrix count: 0 is inside [0, 1]
    bernoulli.check_support(sp.csr_matrix(np.array([[0.0, 0.5], [1.0, 0.0]])))
    with pytest.raises(ValueError, match=r"\[-0.5, 0\]"):
        bernoulli.check_support(sp.csr_matrix(np.array([[0.0, -0.5], [0.0, 0.0]])))
    nb = L.get_likelihood("nb")
    with pytest.raises(ValueError, match=r"adata.X holds negative values"):
        nb.check_support(np.array([[1.0, -1.0]]), "adata.X")
    with pytest.warns(UserWarning, match="layer holds non-integer"):
        nb.check_support(sp.csr_matrix(np.array([[1.5, 0.0]])), "layer")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nb.check_support(np.zeros((0, 3)))  # nothing to check
        nb.check_support(np.array([[0.0, 7.0]]))


# --------------------------------------------------- encoder input: NumPy == TF
counts = arrays(
    np.float32,
    st.tuples(st.integers(1, 6), st.integers(1, 8)),
    elements=st.integers(0, 5000).map(float),
)


@settings(max_examples=60, deadline=None)
@given(X=counts, sparse=st.booleans())
def test_encoder_input_numpy_and_tensorflow_agree(X, sparse):
    for encoder_input in L.ENCODER_INPUTS.values():
        by_numpy = encoder_input.numpy(sp.csr_matrix(X) if sparse else X)
        by_numpy = by_numpy.toarray() if sp.issparse(by_numpy) else np.asarray(by_numpy)
        by_tensorflow = encoder_input.tensorflow(tf.constant(X)).numpy()
        assert by_numpy.dtype == by_tensorflow.dtype == np.float32
        # the library size is summed in float64 by NumPy and in float32 by TensorFlow
        np.testing.assert_allclose(by_numpy, by_tensorflow, rtol=2e-6, atol=1e-6, err_msg=encoder_input.name)


def test_count_encoder_input_is_log1p_of_scaled_frequencies():
    X = np.array([[1.0, 3.0], [0.0, 0.0]], np.float32)
    want = np.log1p(np.array([[2500.0, 7500.0], [0.0, 0.0]]))  # an empty row stays zero
    np.testing.assert_allclose(L.LOG1P_FREQUENCY.numpy(X), want, rtol=1e-6)
    np.testing.assert_allclose(L.LOG1P_FREQUENCY.tensorflow(tf.constant(X)).numpy(), want, rtol=1e-6)
    assert L.IDENTITY.numpy(X) is X
