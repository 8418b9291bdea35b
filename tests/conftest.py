"""Shared fixtures (pytest hands them to the tests by name); the presets and data generators are in
``tests/presets.py``.
"""

import os

# Quieten TensorFlow's C++ logging in the test process only (the library never sets this).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from tests.presets import TINY  # noqa: E402

# --------------------------------------------------------------- hypothesis
# "ci" (the default): reproducible examples, no deadline (the 2-core machine is shared), no
# example database written to disk; each test sets its own max_examples. HYPOTHESIS_PROFILE=explore
# draws fresh examples on every run, to search for new failures.
settings.register_profile(
    "ci", deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("explore", deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# ----------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def digits():
    """Standardised digits (first 300 samples) and labels."""
    data = load_digits()
    X = StandardScaler().fit_transform(data.data[:300])
    return X, data.target[:300]


@pytest.fixture
def rng():
    return np.random.RandomState(0)


# ------------------------------------------------------- shared fitted models
# Each tiny fit costs about 1.5 s of TensorFlow tracing, so tests that only *read* a fitted model
# (transform, score, mocked methods, error messages) share one fit per worker process. A test that
# refits, sets parameters or otherwise changes a model fits its own. The fixtures check at the end
# of the session that no test changed the shared model: same attributes (by identity) and the same
# embedding of the training data.
def _fitted_attributes(model):
    return {k: id(v) for k, v in vars(model).items() if k.endswith("_") and not k.startswith("_")}


def _shared(model, X):
    attributes, params, embedding = _fitted_attributes(model), model.get_params(), model.transform(X)
    yield model
    message = "a test changed a shared fitted model: give it its own fit"
    assert _fitted_attributes(model) == attributes, message
    assert model.get_params() == params, message
    np.testing.assert_array_equal(model.transform(X), embedding, err_msg=message)


@pytest.fixture(scope="session")
def small_X():
    """30 x 5 standard-normal rows (seed 0): the data of :func:`small_model`."""
    return np.random.RandomState(0).normal(size=(30, 5))


@pytest.fixture(scope="session")
def small_model(small_X):
    """``SiVAE(**TINY)`` fitted on :func:`small_X`; read it, never change it (fit your own to change one)."""
    from sivae_sklearn import SiVAE

    yield from _shared(SiVAE(**TINY).fit(small_X), small_X)


@pytest.fixture(scope="session")
def digits_model(digits):
    """``SiVAE(**TINY)`` fitted on the :func:`digits`; read it, never change it."""
    from sivae_sklearn import SiVAE

    yield from _shared(SiVAE(**TINY).fit(digits[0]), digits[0])
