"""Shared small fixtures. Data are tiny and models small so the suite stays fast on 2 cores."""

import os

# Quieten TensorFlow's C++ logging in the test process only (the library never sets this).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

# Small, fast settings shared by many tests.
TINY = dict(hidden_layer_sizes=(16, 8), max_epochs=5, kl_warmup_steps=5, batch_size=32, random_state=0)


@pytest.fixture(scope="session")
def digits():
    """Standardised digits (first 300 samples) and labels."""
    data = load_digits()
    X = StandardScaler().fit_transform(data.data[:300])
    return X, data.target[:300]


@pytest.fixture
def rng():
    return np.random.RandomState(0)
