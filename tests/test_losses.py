"""Loss terms against closed forms and SciPy, on plain tensors."""

import numpy as np
import tensorflow as tf
from scipy import stats

from sivae_sklearn import _losses as L


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


def test_kl_standard_normal_closed_form_and_zero_at_prior(rng):
    mean, std = rng.normal(size=(3, 2)), rng.uniform(0.5, 2, size=(3, 2))
    want = 0.5 * (std**2 + mean**2 - 1 - np.log(std**2)).sum(axis=1)
    np.testing.assert_allclose(L.kl_standard_normal(tf.constant(mean), tf.constant(std)).numpy(), want, rtol=1e-10)
    assert L.kl_standard_normal(tf.zeros((2, 3), tf.float64), tf.ones((2, 3), tf.float64)).numpy().max() == 0


def test_interpretability_term_is_linear_residual(rng):
    x, z, v, b = rng.normal(size=(4, 5)), rng.normal(size=(4, 2)), rng.normal(size=(5, 2)), rng.normal(size=5)
    want = ((x - z @ v.T - b) ** 2).sum(axis=1)
    got = L.interpretability_term(*(tf.constant(a) for a in (x, z, v, b))).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_sivae_loss_total_is_weighted_sum(rng):
    f32 = lambda a: tf.constant(np.asarray(a, np.float32))  # noqa: E731
    x = rng.normal(size=(6, 4))
    kw = dict(
        likelihood="gaussian",
        x_obs=f32(x),
        x_in=f32(x),
        params=f32(rng.normal(size=(6, 4))),
        log_scale=f32(np.zeros(4)),
        z_mean=f32(rng.normal(size=(6, 2))),
        z_std=f32(np.full((6, 2), 0.5)),
        v_mean=f32(rng.normal(size=(4, 2))),
        v_std=f32(np.full((4, 2), 0.7)),
        linear_bias=f32(np.zeros(4)),
        kernels=[f32(np.ones((2, 2)))],
        beta=0.5,
        interpretability_weight=0.1,
        l2_penalty=0.01,
    )
    t = L.sivae_loss(**kw)
    want = t.reconstruction + 0.5 * (t.kl_sample + t.kl_feature) + 0.1 * t.interpretability + 0.01 * t.l2
    np.testing.assert_allclose(t.total.numpy(), want.numpy(), rtol=1e-6)
    assert float(t.l2) == 4.0
    # The interpretability weight reaches the total.
    t2 = L.sivae_loss(**{**kw, "interpretability_weight": 0.0})
    np.testing.assert_allclose(float(t.total) - float(t2.total), 0.1 * float(t.interpretability), rtol=1e-4)
