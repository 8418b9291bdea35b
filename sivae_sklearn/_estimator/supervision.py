"""Categorical side information of a fit: decoder conditions and class labels.

Used when ``conditional=True`` (a one-hot condition appended to the decoder
input) or ``classifier_weight > 0`` (a classification head on the latent means).
The NumPy helpers turn user labels of any hashable kind (ints, strings, pandas
categoricals) into integer codes against a fixed category list and back, with
errors that name what was wrong; :class:`SupervisionMixin` gives
:class:`~sivae_sklearn.SiVAE` its condition handling and ``predict`` /
``predict_proba``.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.metaestimators import available_if

from .validation import check_categories, check_class_labels, check_fitted_data, check_output_size


def encode_categories(values, n_samples: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique categories and the int32 code of every sample.

    Parameters
    ----------
    values : array-like of shape (n_samples,)
        One category per sample.
    n_samples : int
        Expected length (the number of rows of ``X``).
    name : str
        Name used in error messages (``"y"``, ``"condition"``).

    Returns
    -------
    categories : ndarray
        Sorted unique values (strings stay strings, numbers stay numbers).
    codes : ndarray of shape (n_samples,), int32

    Examples
    --------
    >>> cats, codes = encode_categories(["b", "a", "b"], 3, "y")
    >>> cats.tolist(), codes.tolist()
    (['a', 'b'], [1, 0, 1])
    """
    arr = check_categories(values, name)
    if arr.shape[0] != n_samples:
        raise ValueError(f"{name} has {arr.shape[0]} entries but X has {n_samples} rows; give one per sample.")
    if arr.dtype == object:
        arr = arr.astype(str)
    categories, codes = np.unique(arr, return_inverse=True)
    return categories, codes.astype(np.int32).ravel()


def codes_for(values, categories: np.ndarray, n_rows: int, name: str) -> np.ndarray:
    """Codes of ``values`` against known ``categories``; a scalar is broadcast to ``n_rows``.

    Raises a ValueError naming any value not among ``categories``.

    Examples
    --------
    >>> codes_for("b", np.array(["a", "b"]), 2, "condition").tolist()
    [1, 1]
    """
    arr = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
    if arr.ndim == 0:
        arr = np.repeat(arr.reshape(1), n_rows)
    arr = check_categories(arr, name)
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} entries for {n_rows} rows; give one per row or a single value.")
    index = {cat.item() if hasattr(cat, "item") else cat: i for i, cat in enumerate(categories)}
    keys = [v.item() if hasattr(v, "item") else v for v in arr]
    codes = np.array([index.get(k, -1) for k in keys], dtype=np.int64)
    if np.any(codes < 0):
        unseen = sorted({str(k) for k, c in zip(keys, codes) if c < 0})
        raise ValueError(
            f"{name} contains categories not seen in fit: {unseen[:10]}; the model knows {categories.tolist()}."
        )
    return codes.astype(np.int32)


def one_hot(codes: np.ndarray, n_categories: int) -> np.ndarray:
    """float32 one-hot matrix of integer codes.

    Examples
    --------
    >>> one_hot(np.array([1, 0]), 3)
    array([[0., 1., 0.],
           [1., 0., 0.]], dtype=float32)
    """
    out = np.zeros((len(codes), n_categories), np.float32)
    out[np.arange(len(codes)), codes] = 1.0
    return out


class SupervisionMixin:
    """Conditions and the classification head of :class:`~sivae_sklearn.SiVAE`.

    Fitted attributes: ``condition_categories_`` (``conditional=True``) and
    ``classes_`` (``classifier_weight > 0``).
    """

    def _fit_supervision(self, n_samples: int, y, condition):
        """Validate ``y`` / ``condition``; set ``condition_categories_`` and ``classes_``.

        Returns the one-hot condition (or None) and the integer labels (or None).
        """
        for attr in ("condition_categories_", "classes_"):
            if hasattr(self, attr):
                delattr(self, attr)
        if condition is not None and not self.conditional:
            raise ValueError("fit got condition=..., but conditional=False; set conditional=True to use it.")
        cond_onehot = labels = None
        if self.conditional:
            source, name = (condition, "condition") if condition is not None else (y, "y")
            if source is None:
                raise ValueError(
                    "conditional=True needs the condition of every sample: call fit(X, y) with y the "
                    "category of each row (e.g. class label or batch), or fit(X, condition=...)."
                )
            categories, codes = encode_categories(source, n_samples, name)
            check_output_size(n_samples * len(categories), f"{name} with {len(categories)} categories (one-hot)")
            self.condition_categories_ = categories
            cond_onehot = one_hot(codes, len(categories))
        if self.classifier_weight > 0:
            if y is None:
                raise ValueError(
                    f"classifier_weight={self.classifier_weight} > 0 trains a classification head "
                    f"and needs class labels: call fit(X, y)."
                )
            self.classes_, labels = encode_categories(check_class_labels(y, n_samples), n_samples, "y")
        return cond_onehot, labels

    def _condition_onehot(self, condition, n_rows: int, caller: str):
        """One-hot condition for ``n_rows`` rows of a conditional model (None otherwise)."""
        if not getattr(self, "conditional", False) or not hasattr(self, "condition_categories_"):
            if condition is not None:
                raise ValueError(f"{caller} got condition=..., but the model was fitted with conditional=False.")
            return None
        if condition is None:
            raise ValueError(
                f"{caller} needs condition=...: this model was fitted with conditional=True on the "
                f"categories {list(self.condition_categories_)}; pass one category for all rows or one per row."
            )
        codes = codes_for(condition, self.condition_categories_, n_rows, "condition")
        return one_hot(codes, len(self.condition_categories_))

    def _has_classifier(self):
        return self.classifier_weight > 0

    @available_if(_has_classifier)
    def predict_proba(self, X):
        """Class probabilities of the classification head at the embedding.

        Only available with ``classifier_weight > 0``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        X = check_fitted_data(self, X)
        mean, _ = self._compiled.embed(X)
        return self._compiled.class_probabilities(mean)

    @available_if(_has_classifier)
    def predict(self, X):
        """Most probable class of each sample under the classification head.

        Only available with ``classifier_weight > 0``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
