"""Test presets and data generators shared by the test modules (``from tests.presets import TINY``).

Data are tiny and models small so the suite stays fast on 2 cores. Every test
module takes its training settings from the presets below instead of defining
its own. Fixtures live in ``conftest.py``; pytest hands them to the tests.
"""

import numpy as np

# ------------------------------------------------------------------ presets
TINY = dict(hidden_layer_sizes=(16, 8), max_epochs=5, kl_warmup_steps=5, batch_size=32, random_state=0)
"""Two small layers, five epochs: the default for tests of the estimator."""

SMALL = dict(hidden_layer_sizes=(8,), max_epochs=3, random_state=0)
"""One layer of 8, three epochs: for tests that only need a fitted model."""

GENOMICS = dict(TINY, kl_warmup_steps=20)
"""TINY with a longer KL warm-up, for the AnnData and count-data tests."""

COUNTS = dict(GENOMICS, max_epochs=8)
"""Enough epochs for the count likelihoods to learn the gene profiles."""

BATCH_CORRECTION = dict(
    hidden_layer_sizes=(32, 16),
    batch_size=32,
    learning_rate=3e-3,
    kl_warmup_steps=200,
    max_epochs=150,
    early_stopping=False,
    random_state=0,
)
"""Training of the batch-correction tests (enough epochs for the effect to show)."""


def cli_options(params):
    """The ``sivae fit`` options giving the SiVAE parameters ``params``."""
    flags = []
    for name, value in params.items():
        if name == "hidden_layer_sizes":
            value = ",".join(map(str, value))
        flags += [f"--{name.replace('_', '-')}", str(value)]
    return flags


# --------------------------------------------------------------------- data
def make_counts(n_cells=200, n_genes=50, n_types=3, seed=0, dispersion=5.0):
    """Negative-binomial counts with cell types: returns (counts float32, labels int).

    Each cell type has its own gene-expression profile; library sizes vary
    log-normally, so the data look like a tiny scRNA-seq matrix.
    """
    rng = np.random.RandomState(seed)
    labels = rng.randint(n_types, size=n_cells)
    profiles = rng.gamma(1.0, 1.0, size=(n_types, n_genes))
    profiles *= rng.uniform(0.2, 5.0, size=(1, n_genes)) ** 2
    freq = profiles[labels] / profiles[labels].sum(axis=1, keepdims=True)
    library = rng.lognormal(np.log(500), 0.3, size=(n_cells, 1))
    mean = freq * library
    p = dispersion / (dispersion + mean)
    counts = rng.negative_binomial(dispersion, p).astype(np.float32)
    return counts, labels


def make_batched_cells(seed=0, n=300, g=30):
    """Standardised cells of 3 types measured in 2 batches; the batch shifts the last 10 genes.

    Returns (X, cell_type, batch).
    """
    rng = np.random.RandomState(seed)
    cell = rng.randint(0, 3, n)
    batch = rng.randint(0, 2, n)
    centers = rng.normal(0, 1.5, (3, g))
    centers[:, g - 10 :] = 0
    X = centers[cell] + rng.normal(0, 1, (n, g))
    X[:, g - 10 :] += 3.0 * batch[:, None]
    return (X - X.mean(0)) / X.std(0), cell, batch
