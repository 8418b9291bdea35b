"""Classifier-branched SiVAE: a classification head on the latent means."""

import numpy as np
import pytest

from sivae_sklearn import SiVAE, load
from sivae_sklearn.metrics import knn_accuracy
from tests.presets import SMALL


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 6))
    y = np.where(X[:, 0] > 0, "pos", "neg")
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return SiVAE(classifier_weight=1.0, classifier_layer_sizes=(4,), **SMALL).fit(X, y)


def test_default_is_a_pure_transformer():
    assert not hasattr(SiVAE(), "predict")
    assert not hasattr(SiVAE(), "predict_proba")
    assert hasattr(SiVAE(classifier_weight=0.5), "predict")


def test_head_needs_labels(data):
    X, _ = data
    with pytest.raises(ValueError, match="needs class labels"):
        SiVAE(classifier_weight=1.0, **SMALL).fit(X)


def test_classes_and_predictions(fitted, data):
    X, _ = data
    np.testing.assert_array_equal(fitted.classes_, ["neg", "pos"])
    proba = fitted.predict_proba(X)
    assert proba.shape == (60, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert set(fitted.predict(X)) <= {"neg", "pos"}
    assert "classification" in fitted.history_ and fitted.history_["classification"][-1] > 0


def test_layer_sizes_reach_the_network(fitted):
    assert fitted._network_config.n_classes == 2
    assert fitted._network_config.classifier_layer_sizes == (4,)
    assert len(fitted._network.classifier.kernels) == 2


def test_head_off_builds_no_classifier(data):
    X, y = data
    model = SiVAE(**SMALL).fit(X, y)
    assert model._network.classifier is None
    assert not hasattr(model, "classes_")


def test_save_load_round_trip(fitted, data, tmp_path):
    X, _ = data
    fitted.save(tmp_path / "clf.sivae")
    back = load(tmp_path / "clf.sivae")
    np.testing.assert_array_equal(back.classes_, fitted.classes_)
    np.testing.assert_allclose(back.predict_proba(X), fitted.predict_proba(X), rtol=1e-5)


def test_weight_shapes_the_embedding():
    # The label depends on one of 12 equally varying features: an unsupervised
    # 2-D embedding has no reason to keep it, the classification head forces it.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(240, 12))
    y = (X[:, 0] > 0).astype(int)
    params = dict(hidden_layer_sizes=(16, 8), max_epochs=40, batch_size=32, kl_warmup_steps=100, random_state=0)
    plain = SiVAE(**params).fit(X, y)
    supervised = SiVAE(classifier_weight=20.0, **params).fit(X, y)
    acc_plain = knn_accuracy(plain.transform(X), y)
    acc_sup = knn_accuracy(supervised.transform(X), y)
    assert acc_sup > 0.85
    assert acc_sup > acc_plain + 0.1
    assert np.mean(supervised.predict(X) == y) > 0.85


def test_weight_value_reaches_training(data):
    # Same seed, same architecture: only the weight of the cross-entropy differs.
    X, y = data
    low = SiVAE(classifier_weight=0.1, **SMALL).fit(X, y)
    high = SiVAE(classifier_weight=50.0, **SMALL).fit(X, y)
    assert not np.allclose(low.transform(X), high.transform(X))
