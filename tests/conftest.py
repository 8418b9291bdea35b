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
