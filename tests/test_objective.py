"""The objective as a list of terms: the terms on plain tensors, their weighted sum, and a term
registered by a test alone that a fit minimises and records in ``history_``."""

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf

from sivae_sklearn import SiVAE
from sivae_sklearn._engine import objective as O
from sivae_sklearn._engine.likelihoods import get_likelihood

WEIGHTS = O.LossWeights(
    beta=0.5,
    interpretability_weight=0.1,
    l2_penalty=0.01,
    classifier_weight=2.0,
    feature_kl_weight=0.3,
    feature_noise=1.0,
    interpretability_moves_embedding=True,
    program_weight=0.7,
)


# ---------------------------------------------------------- the formulas
def test_kl_standard_normal_closed_form_and_zero_at_prior(rng):
    mean, std = rng.normal(size=(3, 2)), rng.uniform(0.5, 2, size=(3, 2))
    want = 0.5 * (std**2 + mean**2 - 1 - np.log(std**2)).sum(axis=1)
    np.testing.assert_allclose(O.kl_standard_normal(tf.constant(mean), tf.constant(std)).numpy(), want, rtol=1e-10)
    assert O.kl_standard_normal(tf.zeros((2, 3), tf.float64), tf.ones((2, 3), tf.float64)).numpy().max() == 0


def test_interpretability_term_is_linear_residual(rng):
    x, z, v, b = rng.normal(size=(4, 5)), rng.normal(size=(4, 2)), rng.normal(size=(5, 2)), rng.normal(size=5)
    want = ((x - z @ v.T - b) ** 2).sum(axis=1)
    got = O.interpretability_term(*(tf.constant(a) for a in (x, z, v, b))).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10)


# ------------------------------------------------ the terms on a plain forward pass
def _forward(rng, features=None, classifier=None):
    """A forward pass of 4 rows and 5 features made of plain float64 tensors."""
    n, g, k = 4, 5, 2
    drawn = g if features is None else len(features)

    def t(*shape):
        return tf.constant(rng.normal(size=shape))

    kernels = [t(3, 2), t(2)]
    network = SimpleNamespace(
        config=SimpleNamespace(n_features=g),
        log_scale=tf.zeros(g, tf.float64),
        linear_offset=lambda condition: tf.constant(np.arange(g, dtype=np.float64)),
        classifier=classifier,
        sample_network_kernels=lambda: kernels,
    )
    return O.Forward(
        network=network,
        likelihood=get_likelihood("gaussian"),
        x=t(n, g),
        condition=None,
        labels=tf.constant([0, 1, 1, 0]),
        features=None if features is None else tf.constant(features),
        feature_scale=None if features is None else g / drawn,
        v_mean=t(drawn, k),
        v_std=tf.exp(t(drawn, k)),
        v=t(drawn, k),
        w=t(drawn, 3),
        x_in=t(n, g),
        z_mean=t(n, k),
        z_std=tf.exp(t(n, k)),
        z=t(n, k),
        params=t(n, drawn),
    )


def test_interpretability_over_drawn_features_is_scaled_to_all_of_them(rng):
    f = _forward(rng, features=[1, 3])
    x, z, v = f.x_in.numpy()[:, [1, 3]], f.z_mean.numpy(), f.v_mean.numpy()
    want = 5 / 2 * ((x - z @ v.T - np.array([1.0, 3.0])) ** 2).sum(axis=1)
    np.testing.assert_allclose(O.INTERPRETABILITY.compute(f, WEIGHTS).numpy(), want, rtol=1e-12)
    # the whole matrix without a draw, and the gradient to z stopped on request
    full = _forward(rng)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(full.z_mean)
        moving = O.INTERPRETABILITY.compute(full, WEIGHTS)
        fixed = O.INTERPRETABILITY.compute(full, WEIGHTS.replace(interpretability_moves_embedding=False))
    np.testing.assert_array_equal(moving, fixed)
    assert tape.gradient(fixed, full.z_mean) is None and tape.gradient(moving, full.z_mean) is not None


def test_reconstruction_and_the_model_level_terms(rng):
    f = _forward(rng, features=[0, 2, 4])
    x = f.x.numpy()[:, [0, 2, 4]]
    want = 5 / 3 * (0.5 * (x - f.params.numpy()) ** 2 + 0.5 * np.log(2 * np.pi)).sum(axis=1)
    np.testing.assert_allclose(O.RECONSTRUCTION.compute(f, WEIGHTS).numpy(), want, rtol=1e-12)
    kl = O.kl_standard_normal(f.v_mean, f.v_std).numpy().mean()
    assert float(O.KL_FEATURE.compute(f, WEIGHTS)) == pytest.approx(kl, rel=1e-12)
    kernels = f.network.sample_network_kernels()
    assert float(O.L2.compute(f, WEIGHTS)) == pytest.approx(sum(float(tf.reduce_sum(k**2)) for k in kernels))
    assert O.CLASSIFICATION.compute(f, WEIGHTS) is None  # no head: no term
    headed = _forward(rng, classifier=lambda z: tf.concat([z[:, :1], -z[:, :1]], axis=1))
    ce = O.CLASSIFICATION.compute(headed, WEIGHTS).numpy()
    logits = np.concatenate([headed.z_mean.numpy()[:, :1], -headed.z_mean.numpy()[:, :1]], axis=1)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(ce, -log_p[np.arange(4), [0, 1, 1, 0]], rtol=1e-12)


# ------------------------------------------------------------------ the sum
def _joint_terms(rows=6):
    rng = np.random.RandomState(4)
    joint = O.PHASES["joint"]
    values = {t.name: tf.constant(rng.uniform(size=rows if t.per_row else ()).astype(np.float32)) for t in joint}
    return O.LossTerms(joint, values)


def test_the_joint_objective_is_the_written_formula_bit_for_bit():
    terms = _joint_terms()
    m = terms.means
    w = WEIGHTS
    want = (
        m["reconstruction"]
        + w["beta"] * (m["kl_sample"] + w["feature_kl_weight"] * m["kl_feature"])
        + w["interpretability_weight"] * m["interpretability"]
        + w["l2_penalty"] * m["l2"]
        + w["classifier_weight"] * m["classification"]
        + w["program_weight"] * m["programs"]
    )
    assert terms.objective(w).numpy() == want.numpy()  # the same operations in the same order


def test_a_recorded_only_term_is_kept_out_of_the_sum_and_fixed_weights_multiply():
    terms = _joint_terms()
    base = float(terms.objective(WEIGHTS))
    values = {**terms, "extra": tf.constant(5.0)}
    recorded = O.LossTerms((*terms.terms, O.Term("extra", None, weight=None, per_row=False)), values)
    assert float(recorded.objective(WEIGHTS)) == base and float(recorded.means["extra"]) == 5.0
    weighted = O.LossTerms((*terms.terms, O.Term("extra", None, weight=(2.0, "beta"), per_row=False)), values)
    assert float(weighted.objective(WEIGHTS)) == pytest.approx(base + 2.0 * 0.5 * 5.0)
    assert float(O.LossTerms((), {}).objective(WEIGHTS)) == 0.0


def test_loss_terms_refuse_a_value_without_a_term_and_weights_name_what_is_missing():
    with pytest.raises(ValueError, match="one value and a name"):
        O.LossTerms(O.PHASES["feature"], {"reconstruction": tf.zeros(3)})
    with pytest.raises(KeyError, match="reads no parameter 'gamma'"):
        WEIGHTS["gamma"]


# ------------------------------------------------------- a term added by a test
TOY = O.Term("toy_loadings_norm", lambda forward, weights: tf.reduce_sum(tf.square(forward.v_mean)), per_row=False)
"""A penalty on the loadings' posterior means, defined here only: the package does not know it."""

FIT = dict(hidden_layer_sizes=(8,), max_epochs=3, batch_size=32, kl_warmup_steps=0, random_state=0)


@pytest.fixture
def register_toy(monkeypatch):
    """``register_toy(weight)`` makes the joint phase the package's terms and the toy term, until the test ends."""
    joint = O.PHASES["joint"]

    def register(weight):
        monkeypatch.setitem(O.PHASES, "joint", (*joint, replace(TOY, weight=weight)))

    yield register
    monkeypatch.undo()
    assert TOY.name not in O.term_names()  # the package's objective is its own again


def test_a_term_registered_in_the_test_is_recorded_in_history_and_minimised(register_toy, digits):
    X = digits[0][:150]
    plain = SiVAE(2, **FIT).fit(X)
    assert TOY.name not in plain.history_

    register_toy(None)  # recorded, not minimised: the very same fit
    recorded = SiVAE(2, **FIT).fit(X)
    series = np.asarray(recorded.history_[TOY.name])
    assert series.shape == (recorded.n_iter_,) and np.all(np.isfinite(series)) and np.all(series > 0)
    assert len(recorded.history_[f"val_{TOY.name}"]) == recorded.n_iter_
    np.testing.assert_array_equal(recorded.components_, plain.components_)
    np.testing.assert_array_equal(recorded.history_["loss"], plain.history_["loss"])

    register_toy((1.0,))  # minimised with a fixed weight: it pulls the loadings' means in
    weighted = SiVAE(2, **FIT).fit(X)
    assert weighted.history_[TOY.name][-1] < recorded.history_[TOY.name][-1]
    assert not np.array_equal(weighted.components_, plain.components_)
