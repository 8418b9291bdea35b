"""The model module on plain tensors: the loss of each training phase, its weights, and every
inference path (ELBO, level fits, Jacobian) agreeing with the one forward pass."""

import numpy as np
import pytest
import tensorflow as tf

from sivae_sklearn import SiVAE
from sivae_sklearn._engine import model as M
from sivae_sklearn._engine import objective as O
from sivae_sklearn._engine.network import NetworkConfig, SiVAENetwork

WEIGHTS = O.LossWeights(
    beta=0.5,
    interpretability_weight=0.1,
    l2_penalty=0.01,
    classifier_weight=2.0,
    feature_kl_weight=1.0,
    feature_noise=1.0,
    interpretability_moves_embedding=True,
    program_weight=1.0,
)
TERM_WEIGHTS = ("beta", "interpretability_weight", "l2_penalty", "classifier_weight", "feature_kl_weight")


def _model(likelihood="gaussian", g=6, k=2, n_conditions=0, n_classes=0, hidden=(8,)):
    config = NetworkConfig(g, 4, k, hidden, n_conditions=n_conditions, n_classes=n_classes, classifier_layer_sizes=())
    network = SiVAENetwork(config, seed=0)
    network.feature_inputs.assign(np.random.RandomState(0).normal(size=(g, 4)).astype(np.float32))
    network.output_bias.assign(np.linspace(-1, 1, g).astype(np.float32))
    return M.SiVAEModel(network, likelihood)


def _batch(n=5, g=6, n_conditions=0):
    rng = np.random.RandomState(1)
    x = tf.constant(rng.normal(size=(n, g)).astype(np.float32))
    condition = tf.constant(np.eye(max(n_conditions, 1), dtype=np.float32)[rng.randint(max(n_conditions, 1), size=n)])
    return x, condition[:, :n_conditions], tf.constant(rng.randint(2, size=n).astype(np.int32))


SEED = tf.constant([3, 7])


# ------------------------------------------------------------- the weights
def test_loss_weights_are_the_estimator_parameters_of_the_same_names():
    params = SiVAE(**WEIGHTS).get_params()
    assert O.LossWeights.from_params(params, n_features=8, n_train=40) == WEIGHTS
    assert all(name in params for name in WEIGHTS)
    # the named feature KL weights: the original mean (1) and the ELBO's n_features / n_train
    for name, want in (("mean", 1.0), ("elbo", 8 / 40)):
        params["feature_kl_weight"] = name
        assert O.LossWeights.from_params(params, n_features=8, n_train=40)["feature_kl_weight"] == want


def test_objective_is_the_weighted_sum_of_per_row_terms():
    model = _model(n_classes=2)
    x, condition, labels = _batch()
    loss = model.loss(x, condition, labels, SEED, WEIGHTS)
    t = loss.terms
    for name in ("reconstruction", "kl_sample", "interpretability", "classification"):
        assert t[name].shape == (5,), name  # one value per sample
    assert t["kl_feature"].shape == () and t["l2"].shape == ()
    m = {k: float(v) for k, v in t.means.items()}
    want = (
        m["reconstruction"]
        + 0.5 * (m["kl_sample"] + 1.0 * m["kl_feature"])
        + 0.1 * m["interpretability"]
        + 0.01 * m["l2"]
        + 2.0 * m["classification"]
    )
    assert float(loss.total) == pytest.approx(want, rel=1e-6)
    assert all(v > 0 for v in m.values())
    # every term but the programs term, which exists only with feature_programs
    assert list(loss.as_dict()) == ["loss", *(name for name in O.term_names() if name != "programs")]
    # each weight reaches the total, through its own term only
    term_of = {
        "beta": m["kl_sample"] + m["kl_feature"],
        "interpretability_weight": m["interpretability"],
        "l2_penalty": m["l2"],
        "classifier_weight": m["classification"],
        "feature_kl_weight": 0.5 * m["kl_feature"],  # times beta
    }
    for name in TERM_WEIGHTS:
        heavier = model.loss(x, condition, labels, SEED, WEIGHTS.replace(**{name: 10.0}))
        delta = (10.0 - WEIGHTS[name]) * term_of[name]
        assert float(heavier.total) - float(loss.total) == pytest.approx(delta, rel=1e-4), name


def test_loss_terms_follow_the_definitions():
    model = _model()
    network = model.network
    x, condition, labels = _batch()
    t = model.loss(x, condition, labels, SEED, WEIGHTS).terms
    _, z_mean, z_std = model.encode(x)
    v_mean, v_std = network.encode_features()
    np.testing.assert_allclose(t["kl_sample"], O.kl_standard_normal(z_mean, z_std), rtol=1e-6)
    np.testing.assert_allclose(t["kl_feature"], np.mean(O.kl_standard_normal(v_mean, v_std)), rtol=1e-6)
    linear = z_mean.numpy() @ v_mean.numpy().T + network.linear_bias.numpy()
    np.testing.assert_allclose(t["interpretability"], ((x.numpy() - linear) ** 2).sum(axis=1), rtol=1e-5)
    kernels = network.sample_network_kernels()
    assert float(t["l2"]) == pytest.approx(sum(float(tf.reduce_sum(k**2)) for k in kernels), rel=1e-6)
    assert "classification" not in t  # no head
    # the same seed gives the same noise, another seed other noise
    again = model.loss(x, condition, labels, SEED, WEIGHTS).terms
    np.testing.assert_array_equal(t["reconstruction"], again["reconstruction"])
    other = model.loss(x, condition, labels, tf.constant([3, 8]), WEIGHTS).terms
    assert not np.allclose(t["reconstruction"], other["reconstruction"])


def test_sample_phase_decodes_with_the_free_matrix_and_drops_feature_terms():
    model = _model()
    x, condition, labels = _batch()
    loss = model.loss(x, condition, labels, SEED, WEIGHTS, phase="sample")
    assert list(loss.terms) == ["reconstruction", "kl_sample", "interpretability", "l2"]  # no feature KL, no head
    m = {k: float(v) for k, v in loss.terms.means.items()}
    want = m["reconstruction"] + 0.5 * m["kl_sample"] + 0.01 * m["l2"]  # interpretability recorded, not minimised
    assert float(loss.total) == pytest.approx(want, rel=1e-6) and m["interpretability"] > 0
    before = float(loss.terms["reconstruction"][0])
    model.network.free_output_weights.assign(model.network.free_output_weights * 3.0)
    after = model.loss(x, condition, labels, SEED, WEIGHTS, phase="sample")
    assert float(after.terms["reconstruction"][0]) != before  # the free matrix is what decodes


def test_feature_phase_regresses_the_free_matrix_one_row_per_feature():
    model = _model()
    network = model.network
    x, condition, labels = _batch()
    loss = model.loss(x[:0], condition[:0], labels[:0], SEED, WEIGHTS, phase="feature")
    t = loss.terms
    assert t["reconstruction"].shape == (6,)  # one row per feature
    v_mean, v_std = network.encode_features()
    eps = tf.random.stateless_normal(tf.shape(v_mean), seed=[3, -8])
    w = network.decode_features(v_mean + v_std * eps).numpy()
    np.testing.assert_allclose(t["reconstruction"], ((w - network.free_output_weights.numpy()) ** 2).sum(1), rtol=1e-5)
    want = float(tf.reduce_mean(t["reconstruction"])) + 0.5 * float(t["kl_feature"])
    assert float(loss.total) == pytest.approx(want)
    assert list(t) == ["reconstruction", "kl_feature"]  # the sample network is not trained in this phase


# ---------------------------------------------- one forward pass, many readers
def test_output_is_y_dot_w_plus_b():
    model = _model(g=7, hidden=(16, 8))
    z = tf.constant(np.random.RandomState(2).normal(size=(4, 2)).astype(np.float32))
    w = model.network.decode_features(model.network.encode_features()[0])
    y = model.network.decode_samples(z)
    assert y.shape == (4, 16) and w.shape == (7, 16)  # h = widest encoder layer
    out = model.output_params(z, w, tf.zeros((4, 0))).numpy()
    np.testing.assert_allclose(out, y.numpy() @ w.numpy().T + np.linspace(-1, 1, 7), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli", "nb"])
def test_last_level_fit_is_the_expected_output_in_the_encoders_view(likelihood):
    model = _model(likelihood, n_conditions=2)
    x, condition, _ = _batch(n_conditions=2)
    x = tf.abs(tf.round(x * 5))
    x_in, fits = model.level_fits(x, condition)
    _, z_mean, _ = model.encode(x)
    expected = model.expected_output(z_mean, condition, tf.ones((5, 1)))
    np.testing.assert_allclose(fits[-1], model.likelihood.encoder_input.tensorflow(expected), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x_in, model.likelihood.encoder_input.tensorflow(x), rtol=1e-6)
    # level 0 is the interpretability term's linear map
    v_mean, _ = model.network.encode_features()
    linear = z_mean.numpy() @ v_mean.numpy().T + model.network.linear_offset(condition).numpy()
    np.testing.assert_allclose(fits[0], linear, rtol=1e-5, atol=1e-6)


def test_elbo_is_minus_reconstruction_and_kl_with_noise_shared_by_rows():
    model = _model()
    x, condition, _ = _batch()
    elbo = model.elbo(x, condition, tf.constant([5, 0]), tf.constant(1)).numpy()
    _, z_mean, z_std = model.encode(x)
    eps = tf.random.stateless_normal([2], seed=[5, 0])  # one draw, the same vector for every row
    w = model.network.decode_features(model.network.encode_features()[0])
    nll = model.reconstruction_nll(x, z_mean + z_std * eps, w, condition, None)
    np.testing.assert_allclose(elbo, -(nll + O.kl_standard_normal(z_mean, z_std)).numpy(), rtol=1e-6)


def test_latent_jacobian_matches_finite_differences():
    model = _model(hidden=(8, 4))
    z = tf.constant(np.random.RandomState(3).normal(size=(3, 2)))
    model = M.SiVAEModel(model.network.astype(np.float64), "bernoulli")
    J = model.latent_jacobian(z).numpy()
    assert J.shape == (3, 6, 2)
    h = 1e-6
    for d in range(2):
        step = np.zeros((1, 2))
        step[0, d] = h
        up = model.expected_output(z + step, tf.zeros((3, 0), tf.float64), None).numpy()
        down = model.expected_output(z - step, tf.zeros((3, 0), tf.float64), None).numpy()
        np.testing.assert_allclose(J[:, :, d], (up - down) / (2 * h), rtol=1e-5, atol=1e-8)


# ------------------------------------------------ replicas and feature batches
def _terms(rows):
    rng = np.random.RandomState(2)
    joint = O.PHASES["joint"]
    values = {t.name: tf.constant(rng.uniform(size=rows if t.per_row else ()).astype(np.float32)) for t in joint}
    return O.LossTerms(joint, values)


def _part(terms, rows):
    return O.LossTerms(terms.terms, {t.name: terms[t.name][rows] if t.per_row else terms[t.name] for t in terms.terms})


def test_replica_shares_of_the_objective_sum_to_the_global_batchs():
    terms = _terms(10)
    parts = [slice(0, 3), slice(3, 10), slice(10, 10)]  # the last replica got no rows
    shares = [_part(terms, p).objective(WEIGHTS, replica_share=n / 10, n_replicas=3) for p, n in zip(parts, (3, 7, 0))]
    assert np.isfinite(float(shares[2]))  # an empty replica adds its model-level share, not NaN
    assert float(tf.add_n(shares)) == pytest.approx(float(terms.objective(WEIGHTS)), rel=1e-6)


def test_feature_batches_draw_distinct_sorted_features_that_change_with_the_step():
    model = _model(g=6)
    drawn = [model.draw_features(tf.constant([3, step]), 4).numpy() for step in range(20)]
    assert all(len(set(d)) == 4 and list(d) == sorted(d) and d.max() < 6 for d in drawn)
    assert len({tuple(d) for d in drawn}) > 5
    assert model.draw_features(SEED, None) is None and model.draw_features(SEED, 6) is None


def test_feature_batches_estimate_the_full_sums_without_bias():
    model = _model(g=6)
    x, condition, labels = _batch()
    full = model.loss(x, condition, labels, SEED, WEIGHTS)
    # the interpretability term has no noise: its scaled subset sums average to the full sum
    draws = [model.loss(x, condition, labels, tf.constant([3, s]), WEIGHTS, feature_batch_size=2) for s in range(300)]
    mean = np.mean([d.terms["interpretability"].numpy() for d in draws], axis=0)
    np.testing.assert_allclose(mean, full.terms["interpretability"].numpy(), rtol=0.1)
    assert draws[0].terms["reconstruction"].shape == (5,)
    # asking for every feature is the full objective
    same = model.loss(x, condition, labels, SEED, WEIGHTS, feature_batch_size=6)
    assert float(same.total) == float(full.total)


# ------------------------------------------------------ switches of the objective
def test_feature_noise_sets_where_w_is_decoded_and_leaves_the_feature_kl():
    model = _model()
    network = model.network
    x, condition, labels = _batch()
    at = {s: model.loss(x, condition, labels, SEED, WEIGHTS.replace(feature_noise=s)).terms for s in (0.0, 0.5, 1.0)}
    # 0: W from the posterior mean (the z noise is the seed's, as in loss)
    _, z_mean, z_std = model.encode(x)
    z = z_mean + z_std * tf.random.stateless_normal(tf.shape(z_mean), seed=SEED)
    w_mean = network.decode_features(network.encode_features()[0])
    want = model.reconstruction_nll(x, z, w_mean, condition, None)
    np.testing.assert_allclose(at[0.0]["reconstruction"], want, rtol=1e-5)
    assert len({float(tf.reduce_mean(t["reconstruction"])) for t in at.values()}) == 3
    assert float(at[0.0]["kl_feature"]) == float(at[1.0]["kl_feature"])  # the posterior's KL, wherever W is read


def _interpretability_gradients(model, weights):
    """Gradients of the interpretability term on the sample encoder's and the feature encoder's weights."""
    x, condition, labels = _batch()
    network = model.network
    encoders = (network.sample_encoder.trainable_variables, network.feature_encoder.trainable_variables)
    with tf.GradientTape() as tape:
        terms = model.loss(x, condition, labels, SEED, weights).terms
        term = tf.reduce_mean(terms["interpretability"])
    grads = tape.gradient(term, [*encoders[0], *encoders[1]])
    size = len(encoders[0])

    def norm(gs):
        return sum(0.0 if g is None else float(tf.reduce_sum(tf.square(g))) for g in gs)

    return float(term), norm(grads[:size]), norm(grads[size:])


def test_interpretability_moves_embedding_stops_only_the_gradient_to_z():
    model = _model()
    moving = _interpretability_gradients(model, WEIGHTS)
    fixed = _interpretability_gradients(model, WEIGHTS.replace(interpretability_moves_embedding=False))
    assert fixed[0] == moving[0]  # the same term ...
    assert moving[1] > 0 and fixed[1] == 0  # ... that no longer reaches the sample encoder
    assert fixed[2] == pytest.approx(moving[2]) and fixed[2] > 0  # and still fits the loadings
