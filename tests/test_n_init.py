"""``SiVAE(n_init=...)``: several initialisations on the same validation rows, the best validation ELBO kept."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from sivae_sklearn import SiVAE, load
from sivae_sklearn._estimator import sivae as sivae_module
from sivae_sklearn._estimator.sivae import init_seeds

X = np.random.RandomState(0).normal(size=(120, 8)).astype(np.float32)
SMALL = dict(hidden_layer_sizes=(8,), max_epochs=3, kl_warmup_epochs=1, random_state=0)


@pytest.fixture(scope="module")
def two_inits():
    """``SiVAE(**SMALL, n_init=2)`` fitted once (two trainings); tests read it or change a deep copy."""
    return SiVAE(**SMALL, n_init=2).fit(X)


@pytest.fixture
def recorded_inits(monkeypatch):
    """Each initialisation's loadings and score, as ``fit`` scores them, and the rows it scores."""
    seen = []
    score = sivae_module._init_score

    def recording(compiled, data):
        value = score(compiled, data)
        seen.append({"score": value, "components": compiled.feature_embedding()[0].T.copy(), "rows": data.X})
        return value

    monkeypatch.setattr(sivae_module, "_init_score", recording)
    return seen


def test_n_init_keeps_the_initialisation_with_the_best_validation_elbo(recorded_inits):
    model = SiVAE(**SMALL, n_init=3).fit(X)
    assert len(recorded_inits) == 3
    scores = np.array([r["score"] for r in recorded_inits])
    np.testing.assert_array_equal(model.init_scores_, scores)
    assert model.best_init_ == int(np.argmax(scores))
    np.testing.assert_array_equal(model.components_, recorded_inits[model.best_init_]["components"])
    assert len({round(float(s), 6) for s in scores}) == 3  # three different models, not one trained thrice
    # Every initialisation is scored on the same validation rows, the ones early stopping watched.
    for r in recorded_inits:
        assert r["rows"] is recorded_inits[0]["rows"]
    # The score is score_samples' mean ELBO of those rows under the kept model.
    assert model.init_scores_[model.best_init_] == pytest.approx(model.score(recorded_inits[0]["rows"]), rel=1e-6)


def test_n_init_1_is_bit_identical_to_the_default():
    default = SiVAE(**SMALL).fit(X)
    one = SiVAE(**SMALL, n_init=1).fit(X)
    np.testing.assert_array_equal(default.components_, one.components_)
    np.testing.assert_array_equal(default.transform(X), one.transform(X))
    assert default.history_ == one.history_
    assert one.best_init_ == 0 and one.init_scores_.shape == (1,)


def test_the_first_of_several_initialisations_is_the_single_fit(recorded_inits):
    single = SiVAE(**SMALL).fit(X)
    SiVAE(**SMALL, n_init=2).fit(X)
    assert len(recorded_inits) == 3  # the single fit's, then the two of n_init=2
    np.testing.assert_array_equal(recorded_inits[1]["components"], single.components_)
    assert recorded_inits[1]["score"] == recorded_inits[0]["score"]
    assert recorded_inits[2]["score"] != recorded_inits[0]["score"]


def test_n_init_is_reproducible_with_random_state(two_inits):
    a = two_inits
    b = SiVAE(**SMALL, n_init=2).fit(X)
    np.testing.assert_array_equal(a.init_scores_, b.init_scores_)
    np.testing.assert_array_equal(a.components_, b.components_)
    c = SiVAE(**{**SMALL, "random_state": 1}, n_init=2).fit(X)
    assert not np.array_equal(a.init_scores_, c.init_scores_)


def test_init_seeds_are_distinct_and_derived():
    seeds = init_seeds(123, 5)
    assert seeds[0] == 123 and len(set(seeds)) == 5
    assert seeds == init_seeds(123, 5) and seeds[:3] == init_seeds(123, 3)
    assert all(0 <= s < np.iinfo(np.int32).max for s in seeds)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_n_init_is_refused_before_training(bad):
    with pytest.raises(ValueError, match="n_init"):
        SiVAE(n_init=bad).fit(X)


def test_a_diverging_initialisation_is_skipped(monkeypatch):
    from sivae_sklearn._errors import TrainingDivergedError

    train = sivae_module.train
    calls = []

    def second_diverges(*args, **kwargs):
        calls.append(kwargs["label"])
        if len(calls) == 2:
            raise TrainingDivergedError("diverged on purpose")
        return train(*args, **kwargs)

    monkeypatch.setattr(sivae_module, "train", second_diverges)
    model = SiVAE(**SMALL, n_init=3).fit(X)
    assert calls == ["init 1/3 ", "init 2/3 ", "init 3/3 "]
    assert model.init_scores_[1] == -np.inf and model.best_init_ != 1

    calls.clear()
    monkeypatch.setattr(sivae_module, "train", lambda *a, **k: (_ for _ in ()).throw(TrainingDivergedError("no")))
    fitted_before = model.components_.copy()
    with pytest.raises(TrainingDivergedError, match="All 2 initialisations diverged"):
        model.set_params(n_init=2).fit(X)
    np.testing.assert_array_equal(model.components_, fitted_before)  # the failed fit left the previous model


def test_an_interrupted_fit_leaves_the_previous_model(monkeypatch, two_inits):
    model = copy.deepcopy(two_inits)  # refitted below: a copy, not the shared model
    before = {k: v for k, v in vars(model).items() if k.endswith("_")}
    train = sivae_module.train
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return train(*args, **kwargs)

    monkeypatch.setattr(sivae_module, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.set_params(random_state=5).fit(X)
    assert {k: v for k, v in vars(model).items() if k.endswith("_")}.keys() == before.keys()
    np.testing.assert_array_equal(model.init_scores_, before["init_scores_"])
    np.testing.assert_array_equal(model.components_, before["components_"])


def test_n_init_is_saved_and_loaded(tmp_path, two_inits):
    model = two_inits
    path = tmp_path / "model.sivae"
    model.save(path)
    loaded = load(path)
    assert loaded.n_init == 2 and loaded.best_init_ == model.best_init_
    np.testing.assert_array_equal(loaded.init_scores_, model.init_scores_)
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def test_verbose_names_each_initialisation_and_the_kept_one(capsys):
    SiVAE(**SMALL, n_init=2, verbose=1).fit(X)
    err = capsys.readouterr().err
    assert "init 1/2 joint" in err and "init 2/2 joint" in err
    assert "Kept init" in err and "of 2: validation ELBO" in err
