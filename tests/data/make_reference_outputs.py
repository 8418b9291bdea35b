"""Record the outputs of a few tiny fixed-seed fits, and a small model file of format 1.

``python tests/data/make_reference_outputs.py`` (from the repository root) writes

* ``tests/data/reference_outputs.npz``: for every case of :data:`CASES`, the embedding
  (``transform``) and its posterior standard deviation, ``components_``,
  ``feature_awareness_``, ``score_samples``, ``inverse_transform`` of a few points,
  the first level's per-sample feature awareness, the attribution loadings, the
  class probabilities of a classifier head, and every numeric series of ``history_``;
* ``tests/data/model_format1.sivae`` and ``tests/data/model_format1_expected.npz``: a
  small fitted model saved with ``model.save`` and what it must give on fixed inputs.

``tests/test_reference_outputs.py`` refits the same cases and compares. The fits
are tiny (a few epochs), so that float rounding cannot be amplified by training.
Rerun this script only when a change of the math is intended.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from sivae_sklearn import SiVAE  # noqa: E402
from sivae_sklearn._engine.likelihoods import get_likelihood  # noqa: E402

OUTPUTS = HERE / "reference_outputs.npz"
MODEL_FILE = HERE / "model_format1.sivae"
MODEL_FILE_EXPECTED = HERE / "model_format1_expected.npz"

from sivae_sklearn._engine.objective import ORIGINAL_OBJECTIVE  # noqa: E402

# The recorded fits use the original siVAE objective, named explicitly so that a change of defaults
# cannot change them.
SMALL = dict(
    hidden_layer_sizes=(16, 8), max_epochs=4, kl_warmup_steps=5, batch_size=32, random_state=0, **ORIGINAL_OBJECTIVE
)


def digits_zscored(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    data = load_digits()
    return StandardScaler().fit_transform(data.data[:n]), data.target[:n]


def counts(n_cells: int = 120, n_genes: int = 30, seed: int = 0) -> np.ndarray:
    """Small negative-binomial counts with three cell types."""
    rng = np.random.RandomState(seed)
    labels = rng.randint(3, size=n_cells)
    profiles = rng.gamma(1.0, 1.0, size=(3, n_genes))
    freq = profiles[labels] / profiles[labels].sum(axis=1, keepdims=True)
    mean = freq * rng.lognormal(np.log(300), 0.3, size=(n_cells, 1))
    return rng.negative_binomial(5.0, 5.0 / (5.0 + mean)).astype(np.float64)


def cases() -> dict:
    """``name -> (estimator, X, y, condition)`` of every recorded fit."""
    X_digits, y_digits = digits_zscored()
    X_counts = counts()
    sparse_counts = sp.csr_matrix(np.where(X_counts > 2, X_counts, 0.0))
    X_unit = load_digits().data[:150] / 16.0
    return {
        "gaussian": (SiVAE(2, **SMALL), X_digits, None, None),
        "nb": (SiVAE(3, likelihood="nb", **SMALL), X_counts, None, None),
        "conditional_classifier": (
            SiVAE(2, conditional=True, classifier_weight=1.0, classifier_layer_sizes=(4,), **SMALL),
            X_digits,
            y_digits % 3,
            None,
        ),
        "stepwise": (SiVAE(2, schedule="stepwise", pretrain_epochs=2, **SMALL), X_digits, None, None),
        "sparse_poisson": (SiVAE(2, likelihood="poisson", **SMALL), sparse_counts, None, None),
        "bernoulli_linear": (
            SiVAE(3, likelihood="bernoulli", **{**SMALL, "hidden_layer_sizes": ()}),
            X_unit,
            None,
            None,
        ),
    }


def posterior(model, X) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and standard deviation of ``z`` (public API when it exists)."""
    try:
        return model.transform(X, return_std=True)
    except TypeError:  # the format-1 code had no public posterior: read the compiled model
        mean, std = model._compiled.embed(X.tocsr() if sp.issparse(X) else np.asarray(X))
        return mean.astype(np.float64), std.astype(np.float64)


def outputs_of(model, X, y) -> dict[str, np.ndarray]:
    """Everything recorded for one fitted model."""
    condition = None if not model.conditional else y
    Z, Z_std = posterior(model, X)
    points = np.linspace(-1.5, 1.5, 4 * model.n_components_).reshape(4, model.n_components_)
    decode_kw = {"condition": np.unique(y)[:1].repeat(4)} if model.conditional else {}
    out = {
        "transform": model.transform(X),
        "transform_std": Z_std,
        "components_": model.components_,
        "feature_awareness_": model.feature_awareness_,
        "explained_variance_": model.explained_variance_,
        "mean_": model.mean_,
        "score_samples": model.score_samples(X, condition=condition),
        "inverse_transform": model.inverse_transform(points, **decode_kw),
        "feature_awareness_level0": model.feature_awareness(X[:20], layer=0, per_sample=True),
        "attribution_loadings": model.attribution_loadings(X[:30]),
    }
    if get_likelihood(model.likelihood).needs_library_size:
        out["inverse_transform_counts"] = model.inverse_transform(points, library_size=250.0)
    if model.classifier_weight > 0:
        out["predict_proba"] = model.predict_proba(X)
    np.testing.assert_array_equal(Z, out["transform"])
    for key, values in model.history_.items():
        if key == "phase":
            out["history/phase"] = np.asarray(values, dtype=str)
        else:
            out[f"history/{key}"] = np.asarray(values, dtype=np.float64)
    return out


def reference_outputs() -> dict[str, np.ndarray]:
    """Fit every case and return ``"<case>/<output>" -> array``."""
    arrays = {}
    for name, (model, X, y, condition) in cases().items():
        model.fit(X, y, condition=condition)
        for key, value in outputs_of(model, X, y).items():
            arrays[f"{name}/{key}"] = np.asarray(value)
    return arrays


def format1_model() -> tuple[SiVAE, pd.DataFrame, np.ndarray]:
    """The model saved as ``model_format1.sivae``: conditional, classifier head, named features."""
    rng = np.random.RandomState(3)
    X = pd.DataFrame(rng.normal(size=(60, 6)), columns=[f"gene{i}" for i in range(6)])
    y = np.array(["a", "b", "c"] * 20)
    model = SiVAE(
        2,
        hidden_layer_sizes=(8,),
        max_epochs=3,
        conditional=True,
        classifier_weight=0.5,
        classifier_layer_sizes=(4,),
        random_state=0,
    )
    return model.fit(X, y), X, y


def format1_expected(model, X, y) -> dict[str, np.ndarray]:
    """What a loaded format-1 model must answer on fixed inputs."""
    points = np.array([[0.0, 0.0], [1.0, -0.5], [-2.0, 0.3]])
    return {
        "X": X.to_numpy(),
        "y": y,
        "transform": model.transform(X),
        "components_": model.components_,
        "score_samples": model.score_samples(X, condition=y),
        "inverse_transform_b": model.inverse_transform(points, condition="b"),
        "predict_proba": model.predict_proba(X),
        "feature_names_in_": np.asarray(model.feature_names_in_, dtype=str),
    }


def main() -> None:
    np.savez_compressed(OUTPUTS, **reference_outputs())
    model, X, y = format1_model()
    model.save(MODEL_FILE)
    np.savez_compressed(MODEL_FILE_EXPECTED, **format1_expected(model, X, y))
    print(f"wrote {OUTPUTS.name}, {MODEL_FILE.name}, {MODEL_FILE_EXPECTED.name} in {HERE}")


if __name__ == "__main__":
    main()
