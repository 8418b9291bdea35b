"""The KL warm-up counted in epochs (``kl_warmup_epochs``), the deprecated ``kl_warmup_steps``, early stopping
after the warm-up and the kept epoch's beta in the closing line."""

import logging
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from sivae_sklearn import SiVAE, load
from sivae_sklearn._engine.training import TrainingConfig, warmup_steps

SMALL = dict(hidden_layer_sizes=(16, 8), batch_size=32, random_state=0)


def steps_for(n_train, **params):
    return TrainingConfig.from_params(SiVAE(**params).get_params(), n_train, n_features=6).kl_warmup_steps


def test_the_warm_up_is_counted_in_epochs_of_the_training_rows():
    # 10% held out: digits (1,797 rows) train on 1,617, pbmc on 630 of 700; batch 128
    assert steps_for(1617) == 100 * 13 and steps_for(630) == 100 * 5  # the default, 100 epochs
    assert steps_for(20_000) == 100 * 157  # 1000 steps would have been 6 epochs here
    assert steps_for(630, kl_warmup_epochs=2.5, batch_size=100) == 18  # 2.5 epochs of 7 steps, rounded
    assert steps_for(10, batch_size=128, kl_warmup_epochs=3) == 3  # the batch is capped by the rows
    assert steps_for(630, kl_warmup_epochs=0) == 0


def test_the_deprecated_steps_still_set_the_warm_up_with_a_future_warning():
    assert steps_for(630, kl_warmup_steps=1000, kl_warmup_epochs=3) == 1000  # the int takes precedence
    assert warmup_steps({"kl_warmup_epochs": 1.0, "batch_size": 10}, 100) == 10  # params without the old name
    X = np.random.RandomState(0).normal(size=(60, 5))
    with pytest.warns(FutureWarning, match="kl_warmup_steps is deprecated.*kl_warmup_epochs"):
        old = SiVAE(**SMALL, max_epochs=4, kl_warmup_steps=4, early_stopping=False).fit(X)
    # 60 rows at batch 32: 2 steps an epoch; beta is read after each epoch
    np.testing.assert_allclose(old.history_["beta"], [0.5, 1.0, 1.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        new = SiVAE(**SMALL, max_epochs=4, kl_warmup_epochs=2, early_stopping=False).fit(X)
    np.testing.assert_allclose(new.history_["beta"], old.history_["beta"])
    np.testing.assert_allclose(new.transform(X), old.transform(X), rtol=1e-6, atol=1e-6)
    assert SiVAE().get_params()["kl_warmup_steps"] == "deprecated"
    assert clone(SiVAE(kl_warmup_steps=7)).get_params()["kl_warmup_steps"] == 7


def test_a_model_file_that_names_kl_warmup_steps_still_loads(tmp_path):
    X = np.random.RandomState(0).normal(size=(60, 5))
    with pytest.warns(FutureWarning):
        model = SiVAE(**SMALL, max_epochs=2, kl_warmup_steps=3).fit(X)
    model.save(tmp_path / "m.sivae")
    loaded = load(tmp_path / "m.sivae")
    assert loaded.get_params()["kl_warmup_steps"] == 3
    np.testing.assert_allclose(loaded.transform(X), model.transform(X), rtol=1e-6, atol=1e-6)


def test_early_stopping_waits_for_the_end_of_the_warm_up_and_says_the_kept_beta(caplog):
    X = np.random.RandomState(0).normal(size=(90, 5))  # 81 training rows at batch 32: 3 steps an epoch
    params = dict(SMALL, max_epochs=100, kl_warmup_epochs=6, n_iter_no_change=1, tol=10.0, beta=2.0)
    with caplog.at_level(logging.DEBUG, logger="sivae_sklearn"):
        model = SiVAE(**params).fit(X)
    beta = model.history_["beta"]
    assert beta[4] < 2.0 and beta[5] == 2.0  # the warm-up ends with epoch 6
    # tol=10 makes every epoch after the first compared one a non-improvement: the 6th epoch is kept, the 7th stops
    assert model.n_iter_ == 7
    closing = [r.getMessage() for r in caplog.records if r.name == "sivae_sklearn"][-1]
    assert "restored the weights of the best epoch (6, beta=2)." in closing
    # without early stopping the last epoch is kept, mid warm-up here
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="sivae_sklearn"):
        SiVAE(**{**params, "max_epochs": 3, "early_stopping": False}).fit(X)
    closing = [r.getMessage() for r in caplog.records if r.name == "sivae_sklearn"][-1]
    assert "kept the weights of the last epoch (3, beta=1)." in closing
