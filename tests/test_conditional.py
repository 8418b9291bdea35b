"""Conditional SiVAE: a categorical condition on the decoder (class label, batch)."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from sivae_sklearn import SiVAE, load
from sivae_sklearn.metrics import knn_accuracy
from tests.presets import BATCH_CORRECTION, SMALL, make_batched_cells


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 6))
    y = np.array(["a", "b", "c"] * 20)
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return SiVAE(conditional=True, **SMALL).fit(X, y)


@pytest.fixture(scope="module")
def plain(data):
    """An unconditional model, fitted once; the tests only read it."""
    return SiVAE(**SMALL).fit(data[0])


def test_default_ignores_y(data, plain):
    X, y = data
    with_y = SiVAE(**SMALL).fit(X, y)
    assert not hasattr(with_y, "condition_categories_")
    assert with_y._network_config.n_conditions == 0
    np.testing.assert_allclose(plain.transform(X), with_y.transform(X))


def test_conditional_without_labels_is_a_clear_error(data):
    X, _ = data
    with pytest.raises(ValueError, match="conditional=True needs the condition"):
        SiVAE(conditional=True, **SMALL).fit(X)


def test_condition_without_conditional_is_an_error(data):
    X, y = data
    with pytest.raises(ValueError, match="conditional=False"):
        SiVAE(**SMALL).fit(X, condition=y)


def test_wrong_length_condition(data):
    X, y = data
    with pytest.raises(ValueError, match="one per sample"):
        SiVAE(conditional=True, **SMALL).fit(X, y[:-1])


def test_categories_and_network(fitted):
    np.testing.assert_array_equal(fitted.condition_categories_, ["a", "b", "c"])
    assert fitted._network_config.n_conditions == 3


def test_transform_needs_no_label(fitted, data):
    X, _ = data
    assert fitted.transform(X).shape == (60, 2)


def test_decoding_depends_on_condition(fitted):
    Z = np.zeros((4, 2))
    xa = fitted.inverse_transform(Z, condition="a")
    xb = fitted.inverse_transform(Z, condition="b")
    assert xa.shape == (4, 6)
    assert not np.allclose(xa, xb)
    per_row = fitted.inverse_transform(Z[:2], condition=["a", "b"])
    np.testing.assert_allclose(per_row[0], xa[0], rtol=1e-5)
    np.testing.assert_allclose(per_row[1], xb[1], rtol=1e-5)


def test_condition_required_and_unseen_labels(fitted):
    Z = np.zeros((2, 2))
    with pytest.raises(ValueError, match="needs condition="):
        fitted.inverse_transform(Z)
    with pytest.raises(ValueError, match=r"not seen in fit: \['zebra'\]"):
        fitted.inverse_transform(Z, condition="zebra")
    with pytest.raises(ValueError, match="not seen in fit"):
        fitted.sample(3, condition=["a", "b", "q"])
    with pytest.raises(ValueError, match="entries for 2 rows"):
        fitted.inverse_transform(Z, condition=["a", "b", "c"])


def test_unconditional_model_rejects_condition(plain):
    model = plain
    with pytest.raises(ValueError, match="conditional=False"):
        model.sample(2, condition="a")


def test_sample_and_score_take_condition(fitted, data):
    X, y = data
    assert fitted.sample(5, random_state=0, condition="c").shape == (5, 6)
    s = fitted.score_samples(X, condition=y)
    assert s.shape == (60,) and np.all(np.isfinite(s))
    assert fitted.score(X, y) == pytest.approx(np.mean(s))
    with pytest.raises(ValueError, match="needs condition="):
        fitted.score_samples(X)
    # the condition matters for the likelihood
    assert not np.allclose(s, fitted.score_samples(X, condition="a"))


def test_save_load_round_trip(fitted, tmp_path):
    path = tmp_path / "cond.sivae"
    fitted.save(path)
    back = load(path)
    np.testing.assert_array_equal(back.condition_categories_, fitted.condition_categories_)
    Z = np.random.RandomState(1).normal(size=(3, 2))
    np.testing.assert_allclose(back.inverse_transform(Z, condition="b"), fitted.inverse_transform(Z, condition="b"))


def test_integer_categories_and_explicit_condition_argument(data):
    X, _ = data
    batch = np.repeat([3, 7], 30)
    model = SiVAE(conditional=True, **SMALL).fit(X, y=None, condition=batch)
    np.testing.assert_array_equal(model.condition_categories_, [3, 7])
    assert model.sample(2, condition=7).shape == (2, 6)


@pytest.mark.slow
def test_generated_digits_have_the_requested_class():
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    model = SiVAE(
        n_components=8,
        hidden_layer_sizes=(128, 64),
        likelihood="bernoulli",
        conditional=True,
        max_epochs=60,
        kl_warmup_steps=300,
        early_stopping=False,
        random_state=0,
    ).fit(X, y)
    classifier = LogisticRegression(max_iter=2000).fit(X, y)
    hits = [np.mean(classifier.predict(model.sample(50, random_state=c, condition=c)) == c) for c in range(10)]
    assert np.mean(hits) >= 0.9, hits


@pytest.mark.slow
def test_batch_correction_mixes_batches_and_keeps_cell_types():
    X, cell, batch = make_batched_cells()
    params = BATCH_CORRECTION
    plain = SiVAE(**params).fit(X).transform(X)
    corrected = SiVAE(conditional=True, **params).fit(X, condition=batch).transform(X)
    batch_plain, batch_corrected = knn_accuracy(plain, batch), knn_accuracy(corrected, batch)
    assert batch_plain > 0.9
    assert batch_corrected < 0.8  # chance is 0.5
    assert batch_plain - batch_corrected > 0.2
    assert knn_accuracy(corrected, cell) > 0.9


def test_pickle_round_trip_keeps_the_original_usable(fitted, data):
    import pickle

    X, _ = data
    back = pickle.loads(pickle.dumps(fitted))
    Z = np.zeros((2, 2))
    np.testing.assert_allclose(back.inverse_transform(Z, condition="a"), fitted.inverse_transform(Z, condition="a"))
    assert fitted.transform(X).shape == (60, 2)  # pickling must not strip the original's network
