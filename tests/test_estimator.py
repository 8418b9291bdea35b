"""The public API of SiVAE: fit/transform, attributes, reproducibility, pipelines."""

import copy
import gc

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import tensorflow as tf
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sivae_sklearn import SiVAE
from tests.presets import TINY


def test_fit_transform_shapes_and_attributes(digits):
    X, _ = digits
    model = SiVAE(n_components=3, **TINY)
    Z = model.fit_transform(X)
    assert Z.shape == (300, 3) and Z.dtype == np.float64
    assert model.components_.shape == (3, 64)
    assert model.feature_awareness_.shape == (64,)
    assert model.n_components_ == 3 and model.n_features_in_ == 64
    assert model.n_iter_ == 5
    for key in ("loss", "reconstruction", "kl_sample", "kl_feature", "interpretability", "l2", "val_loss"):
        assert len(model.history_[key]) == 5, key
    assert np.all(np.isfinite(Z))
    # the posterior mean of a row does not depend on the other rows embedded with it
    np.testing.assert_array_equal(model.transform(X[7:12]), Z[7:12])


def test_transform_returns_the_posterior_on_request(digits, digits_model):
    X, _ = digits
    model = digits_model
    mean, std = model.transform(X, return_std=True)
    np.testing.assert_array_equal(mean, model.transform(X))
    assert std.shape == mean.shape and std.dtype == np.float64 and np.all(std > 0)
    # the posterior width is the encoder's, row by row (not one shared number)
    assert not np.allclose(std[0], std[1])
    mean32, std32 = model.transform(X.astype(np.float32), return_std=True)
    assert mean32.dtype == std32.dtype == np.float32
    np.testing.assert_allclose(std32, std, rtol=1e-6)


def test_components_are_the_loadings_the_decoder_uses():
    # With a linear decoder and a Gaussian likelihood, x_hat = z V^T + b exactly:
    # components_ must be that V, not merely something computed from the network.
    X = np.random.RandomState(0).normal(size=(80, 6))
    model = SiVAE(3, **{**TINY, "hidden_layer_sizes": ()}).fit(X)
    Z = np.random.RandomState(1).normal(size=(5, 3))
    offset = model.inverse_transform(np.zeros((1, 3)))
    np.testing.assert_allclose(model.inverse_transform(Z) - offset, Z @ model.components_, rtol=1e-4, atol=1e-5)


def test_same_seed_same_model_bit_for_bit(digits, digits_model):
    X, _ = digits
    a = SiVAE(**TINY).fit_transform(X)
    b = digits_model.transform(X)  # the same parameters, fitted in another test's time
    c = SiVAE(**{**TINY, "random_state": 1}).fit_transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_global_random_state_untouched(digits):
    X, _ = digits
    tf.random.set_seed(7)
    np.random.seed(7)
    expected_tf = tf.random.uniform([4]).numpy()
    expected_np = np.random.uniform(size=4)
    tf.random.set_seed(7)
    np.random.seed(7)
    SiVAE(**TINY).fit(X)
    np.testing.assert_array_equal(tf.random.uniform([4]).numpy(), expected_tf)
    np.testing.assert_array_equal(np.random.uniform(size=4), expected_np)


def test_float32_in_float32_out(digits):
    X, _ = digits
    model = SiVAE(**TINY).fit(X.astype(np.float32))
    assert model.transform(X.astype(np.float32)).dtype == np.float32
    assert model.transform(X).dtype == np.float64
    assert model.inverse_transform(np.zeros((2, 2), np.float32)).dtype == np.float32


def test_inverse_transform_score_and_sample(digits):
    X, _ = digits
    model = SiVAE(**{**TINY, "max_epochs": 30}).fit(X)
    recon = model.inverse_transform(model.transform(X))
    assert recon.shape == X.shape
    # A trained decoder beats predicting the feature means.
    assert np.mean((recon - X) ** 2) < np.mean((X - X.mean(0)) ** 2)
    scores = model.score_samples(X)
    assert scores.shape == (300,) and scores.dtype == np.float64
    assert model.score(X) == pytest.approx(scores.mean())
    # Noise scores lower than the data it was trained on.
    assert model.score(np.random.RandomState(0).normal(size=X.shape) * 3) < model.score(X)
    draws = model.sample(5, random_state=0)
    assert draws.shape == (5, 64)
    np.testing.assert_array_equal(draws, model.sample(5, random_state=0))


def test_feature_names_and_pandas_output(digits):
    X, _ = digits
    df = pd.DataFrame(X[:, :10], columns=[f"g{i}" for i in range(10)])
    model = SiVAE(**TINY).set_output(transform="pandas")
    out = model.fit_transform(df)
    assert list(out.columns) == ["sivae0", "sivae1"]
    assert list(model.feature_names_in_) == list(df.columns)
    np.testing.assert_array_equal(model.get_feature_names_out(), ["sivae0", "sivae1"])


def test_sparse_input_matches_dense(digits):
    X, _ = digits
    X = np.where(np.abs(X) < 0.5, 0.0, X)
    # With the same feature inputs (a subsample of rows), training on sparse rows is training on dense ones.
    dense = SiVAE(**TINY, feature_input="subsample").fit(X)
    sparse = SiVAE(**TINY, feature_input="subsample").fit(sp.csr_matrix(X))
    np.testing.assert_allclose(dense.transform(X), sparse.transform(sp.csc_matrix(X)), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dense.components_, sparse.components_, rtol=1e-6, atol=1e-7)
    # The PCA feature inputs of sparse data take another route (ARPACK or the covariance), equal up to rounding;
    # five epochs of training can amplify that rounding (about 3e-3 on the loadings), so it is compared here.
    pca_dense = SiVAE(**{**TINY, "max_epochs": 1}).fit(X)
    pca_sparse = SiVAE(**{**TINY, "max_epochs": 1}).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(
        pca_dense._network.feature_inputs.numpy(), pca_sparse._network.feature_inputs.numpy(), rtol=1e-4, atol=1e-4
    )


@pytest.fixture(scope="module")
def reference_fit():
    """Data, parameters and embedding of the default fit every parameter is compared with (fitted once)."""
    X = np.random.RandomState(0).uniform(size=(60, 8))
    # 54 training rows at batch 32: 2 steps an epoch, so 2.5 epochs are TINY's 5 warm-up steps
    tiny = {k: v for k, v in TINY.items() if k != "kl_warmup_steps"}
    base = dict(tiny, kl_warmup_epochs=2.5, early_stopping=True, n_iter_no_change=50)
    reference = SiVAE(**base).fit(X).transform(X)
    reference.flags.writeable = False
    return X, base, reference


@pytest.mark.parametrize(
    "param, value",
    [
        ("interpretability_weight", 1.0),
        ("beta", 0.1),
        ("l2_penalty", 0.5),
        ("learning_rate", 1e-2),
        ("batch_size", 8),
        ("feature_batch_size", 3),
        ("kl_warmup_epochs", 0.0),
        ("kl_warmup_steps", 0),
        ("feature_input", "subsample"),
        ("feature_kl_weight", "mean"),
        ("feature_kl_weight", 0.5),
        ("feature_noise", 1.0),
        ("interpretability_moves_embedding", True),
        ("feature_input_size", 3),
        ("hidden_layer_sizes", (12, 8)),
        ("feature_hidden_layer_sizes", (6,)),
        ("validation_fraction", 0.3),
        ("schedule", "stepwise"),
        ("likelihood", "bernoulli"),
    ],
)
@pytest.mark.filterwarnings("ignore:kl_warmup_steps is deprecated:FutureWarning")
def test_every_parameter_reaches_the_model(param, value, reference_fit):
    X, base, reference = reference_fit
    b = SiVAE(**{**base, param: value}).fit(X)
    assert not np.allclose(reference, b.transform(X)), f"{param} did not change the fit"


def test_pretrain_epochs_and_max_epochs_reach_training():
    X = np.random.RandomState(0).normal(size=(40, 5))
    m = SiVAE(**{**TINY, "schedule": "stepwise", "pretrain_epochs": 2, "max_epochs": 3, "early_stopping": False})
    m.fit(X)
    assert m.history_["phase"].count("sample") == 2 and m.history_["phase"].count("joint") == 3
    assert m.n_iter_ == 7


def test_early_stopping_stops_before_max_epochs():
    # that the best epoch's weights are restored is tested on the training loop (test_training.py)
    X = np.random.RandomState(0).normal(size=(80, 5))
    m = SiVAE(**{**TINY, "max_epochs": 300, "n_iter_no_change": 2, "tol": 0.5, "kl_warmup_steps": 0}).fit(X)
    assert m.n_iter_ < 300


def test_pipeline_with_scaler_and_knn(digits):
    X, y = digits
    pipe = Pipeline([("scale", StandardScaler()), ("sivae", SiVAE(**TINY)), ("knn", KNeighborsClassifier(5))])
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    pipe.fit(X_train, y_train)  # the Pipeline passes y to SiVAE, which ignores it
    chance = np.bincount(y_test).max() / len(y_test)
    assert pipe.score(X_test, y_test) > chance + 0.15  # held-out samples, not memorised ones
    assert clone(pipe).get_params()["sivae__n_components"] == 2


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_over_components_and_beta(digits, n_jobs):
    X, _ = digits
    grid = GridSearchCV(
        SiVAE(**{**TINY, "max_epochs": 2}), {"n_components": [2, 3], "beta": [0.5, 1.0]}, cv=2, n_jobs=n_jobs
    )
    grid.fit(X[:120])
    assert len(grid.cv_results_["mean_test_score"]) == 4
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.best_estimator_.transform(X[:5]).shape[1] == grid.best_params_["n_components"]


def _rss_mb():
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="needs /proc (Linux)")
def test_fitting_many_models_does_not_grow_memory_without_bound():
    X = np.random.RandomState(0).normal(size=(100, 20))
    params = dict(TINY, max_epochs=2)

    def fit_some(n):
        for i in range(n):
            SiVAE(**{**params, "random_state": i}).fit(X).transform(X)
        gc.collect()

    fit_some(4)  # warm-up: TensorFlow's one-off allocations
    before = _rss_mb()
    fit_some(8)
    middle = _rss_mb()
    fit_some(8)
    after = _rss_mb()
    # Growth over the last 16 fits must be small (a kept graph or dataset per fit is ~5-10 MB) and must not accelerate.
    # Kept at 4 + 8 + 8 fits: with 2 + 6 + 6 the full suite saw one step of +52 MB in a 6-fit window (allocator
    # growth in a shared worker, not a per-fit trend), beyond a 30 MB bound.
    assert after - middle < 40, (before, middle, after)
    assert after - before < 70, (before, middle, after)


def test_verbose_prints_a_progress_bar(capsys):
    X = np.random.RandomState(0).normal(size=(40, 5))
    SiVAE(**{**TINY, "verbose": 1}).fit(X)
    err = capsys.readouterr().err
    assert "epoch 5/5" in err and "loss=" in err
    SiVAE(**TINY).fit(X)
    assert capsys.readouterr().err == ""


def test_early_stopping_parameters_each_reach_training():
    X = np.random.RandomState(0).normal(size=(80, 5))
    base = {**TINY, "max_epochs": 200, "kl_warmup_steps": 0, "n_iter_no_change": 3, "tol": 1e-4}
    reference = SiVAE(**base).fit(X).n_iter_
    assert reference < 200
    assert SiVAE(**{**base, "early_stopping": False}).fit(X).n_iter_ == 200
    assert SiVAE(**{**base, "n_iter_no_change": 15}).fit(X).n_iter_ > reference
    assert SiVAE(**{**base, "tol": 0.5}).fit(X).n_iter_ < SiVAE(**{**base, "tol": 0.0}).fit(X).n_iter_


def test_feature_kl_weight_elbo_is_n_features_over_n_train():
    X = np.random.RandomState(0).normal(size=(50, 8))
    base = dict(TINY, validation_fraction=0.2)  # 40 training rows
    elbo = SiVAE(**base, feature_kl_weight="elbo").fit(X)
    number = SiVAE(**base, feature_kl_weight=8 / 40).fit(X)
    np.testing.assert_array_equal(elbo.transform(X), number.transform(X))
    np.testing.assert_array_equal(
        SiVAE(**base, feature_kl_weight="mean").fit(X).transform(X),
        SiVAE(**base, feature_kl_weight=1.0).fit(X).transform(X),
    )


# ------------------------------------------------------------------ a fit is one transaction
def _state(model):
    """The attribute dict, and the embedding of a fixed probe, of ``model``."""
    return dict(vars(model))


def _assert_state_is(model, before, X, Z_before):
    after = vars(model)
    assert after.keys() == before.keys()
    changed = [k for k in before if after[k] is not before[k]]
    assert changed == [], changed
    np.testing.assert_array_equal(model.transform(X), Z_before)


def _refit_fails(model, X_new, error, **params):
    model.set_params(**params)
    before = _state(model)
    with pytest.raises(error):
        model.fit(X_new)
    return before


def test_a_refit_that_diverges_keeps_the_previous_model(digits, digits_model):
    X, _ = digits
    model = copy.deepcopy(digits_model)  # refitted below: a copy, not the shared model
    Z = model.transform(X)
    # other data (another width), a learning rate that overflows the weights in the first steps
    X_new = np.random.RandomState(1).normal(size=(120, 20)) * 1e3
    before = _refit_fails(model, X_new, FloatingPointError, learning_rate=1e8)
    _assert_state_is(model, before, X, Z)
    assert model.n_features_in_ == 64 and model.components_.shape == (2, 64)


def test_a_refit_interrupted_during_training_keeps_the_previous_model(digits, digits_model, monkeypatch):
    X, _ = digits
    model = copy.deepcopy(digits_model)
    Z = model.transform(X)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("sivae_sklearn._estimator.sivae.train", interrupted)
    before = _refit_fails(model, X[:, :40], KeyboardInterrupt)
    _assert_state_is(model, before, X, Z)


def test_a_refit_the_feature_input_pca_refuses_keeps_the_previous_model(digits, digits_model, monkeypatch):
    X, _ = digits
    model = copy.deepcopy(digits_model)
    Z = model.transform(X)

    def refuse(*args, **kwargs):
        raise ValueError("feature_input='pca' needs at least 2 samples")

    monkeypatch.setattr("sivae_sklearn._estimator.sivae.training_feature_inputs", refuse)
    before = _refit_fails(model, X[:, :40], ValueError, feature_input="pca", feature_input_size=5)
    _assert_state_is(model, before, X, Z)


@pytest.mark.parametrize("failure", ["diverged", "interrupted"])
def test_a_failed_first_fit_leaves_an_unfitted_estimator(digits, monkeypatch, failure):
    from sklearn.exceptions import NotFittedError

    X, _ = digits
    model = SiVAE(**TINY)
    if failure == "diverged":
        model.set_params(learning_rate=1e8)
        X, error = X * 1e3, FloatingPointError
    else:

        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt

        monkeypatch.setattr("sivae_sklearn._estimator.sivae.train", interrupted)
        error = KeyboardInterrupt
    before = _state(model)
    with pytest.raises(error):
        model.fit(X)
    assert vars(model) == before
    with pytest.raises(NotFittedError):
        model.transform(X)
