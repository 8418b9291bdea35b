"""The models the explorer shows: collecting, loading, checking and embedding them once."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field

import numpy as np

from .._estimator.sivae import load
from .._estimator.validation import check_categories, check_data
from ._files import check_dense_size
from ._inputs import ExplorerInputError, check_fitted_model, check_image_shape


@dataclass
class ModelView:
    """One fitted model and what the explorer precomputes for it."""

    name: str
    model: object
    embedding: np.ndarray  # (n_samples, K): posterior means of the data
    pca_embedding: np.ndarray  # (n_samples, K): the embedding on its own principal axes
    pca_explained: np.ndarray  # (K,) explained variance ratio of those axes
    path: str | None = None

    @property
    def n_components(self) -> int:
        return self.embedding.shape[1]

    @property
    def dim_names(self) -> list[str]:
        """The dimensions' names, those of ``get_feature_names_out`` (``"sivae0"``, ...)."""
        try:
            names = [str(n) for n in self.model.get_feature_names_out()]
        except (AttributeError, TypeError, ValueError):
            names = []
        return names if len(names) == self.n_components else [f"sivae{i}" for i in range(self.n_components)]


@dataclass
class ExplorerData:
    """Data, labels and the models the explorer can switch between."""

    X: np.ndarray
    labels: np.ndarray | None
    image_shape: tuple[int, ...] | None
    feature_names: np.ndarray
    models: dict[str, ModelView]
    skipped: list[str] = field(default_factory=list)  # "name: why" for models that could not be shown

    @property
    def model_names(self) -> list[str]:
        return list(self.models)

    @property
    def classes(self) -> list[str]:
        if self.labels is None:
            return []
        return sorted(set(self.labels.tolist()), key=_natural_key)


def _natural_key(value):
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def collect_models(model) -> dict[str, tuple[object, str | None]]:
    """Turn what the user gave into ``{name: (model or None, path or None)}``.

    Parameters
    ----------
    model : SiVAE, str, path-like, or dict of str to SiVAE
        A fitted model, a saved model file, a folder of ``*.sivae`` files, or
        named fitted models.

    Returns
    -------
    dict
        Name to ``(fitted model, path)``; the model is ``None`` where a file
        is still to be loaded.
    """
    if isinstance(model, dict):
        if not model:
            raise ExplorerInputError("models is an empty dict; give at least one fitted SiVAE.")
        return {str(k): (v, None) for k, v in model.items()}
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if os.path.isdir(path):
            files = sorted(glob.glob(os.path.join(path, "*.sivae")))
            if not files:
                raise ExplorerInputError(f"The folder {path!r} holds no saved models (*.sivae files).")
            return {os.path.splitext(os.path.basename(f))[0]: (None, f) for f in files}
        if not os.path.exists(path):
            raise ExplorerInputError(f"No model file at {path!r} (expected a .sivae file or a folder of them).")
        return {os.path.splitext(os.path.basename(path))[0]: (None, path)}
    return {"model": (model, None)}


def _load_model(path: str):
    try:
        return load(path)
    except (FileNotFoundError, ValueError) as exc:
        raise ExplorerInputError(str(exc)) from exc


def _embed(model, X, name: str) -> np.ndarray:
    """The model's embedding of ``X``; data it refuses (e.g. outside its likelihood's support) say so."""
    try:
        return np.asarray(model.transform(X), dtype=np.float64)
    except ValueError as exc:
        raise ExplorerInputError(f"Model {name!r} cannot embed the data: {exc}") from exc


def prepare(model, X, labels=None, image_shape=None, feature_names=None) -> ExplorerData:
    """Validate everything the explorer needs and precompute the embeddings.

    Parameters
    ----------
    model : SiVAE, str, path-like, or dict of str to SiVAE
        See :func:`collect_models`.
    X : array-like or sparse matrix of shape (n_samples, n_features)
        Data to embed and show.
    labels : array-like of shape (n_samples,), optional
        Class of each sample, used for colour and for slider ranges.
    image_shape : (int, int) or (int, int, int), optional
        Show samples, loadings and feature awareness as images of this shape.
    feature_names : array-like of shape (n_features,), optional
        Names for ranked feature charts; default: the model's
        ``feature_names_in_`` or ``x0, x1, ...``.

    Returns
    -------
    ExplorerData
    """
    import scipy.sparse as sp
    from sklearn.decomposition import PCA

    try:
        X = check_data(X, "X")  # no mask, no strings, finite, within float32 range
        labels = None if labels is None else check_categories(labels, "labels").astype(str)
    except ValueError as exc:
        raise ExplorerInputError(str(exc)) from exc
    if sp.issparse(X):
        check_dense_size(X.shape, "X")
    X = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
    n_samples, n_features = X.shape
    if labels is not None and labels.shape[0] != n_samples:
        raise ExplorerInputError(f"labels has {labels.shape[0]} entries but X has {n_samples} rows; give one per row.")
    shape = check_image_shape(image_shape, n_features)

    entries = collect_models(model)
    views: dict[str, ModelView] = {}
    skipped: list[str] = []
    single = len(entries) == 1
    for name, (fitted, path) in entries.items():
        try:
            if fitted is None:
                fitted = _load_model(path)
            check_fitted_model(fitted, n_features, name=f"Model {name!r}")
            Z = _embed(fitted, X, name)
        except ExplorerInputError as exc:
            if single:
                raise
            skipped.append(f"{name}: {exc}")
            continue
        if Z.shape[1] >= 2:
            pca = PCA(n_components=Z.shape[1]).fit(Z)
            Zp, ratio = pca.transform(Z), pca.explained_variance_ratio_
        else:
            Zp, ratio = Z - Z.mean(axis=0), np.ones(1)
        views[name] = ModelView(name, fitted, Z, Zp, ratio, path)
    if not views:
        raise ExplorerInputError("None of the models can be shown with these data:\n  " + "\n  ".join(skipped))

    if feature_names is None:
        first = next(iter(views.values())).model
        names = getattr(first, "feature_names_in_", None)
        feature_names = names if names is not None else [f"x{i}" for i in range(n_features)]
    feature_names = np.asarray(feature_names).astype(str)
    if feature_names.shape != (n_features,):
        raise ExplorerInputError(f"feature_names must have {n_features} entries, got {feature_names.shape[0]}.")
    return ExplorerData(X, labels, shape, feature_names, views, skipped)
