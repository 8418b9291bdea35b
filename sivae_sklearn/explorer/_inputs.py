"""Checks of what the explorer is given, and the error it raises when something does not fit."""

from __future__ import annotations

from .._estimator.validation import check_image_shape as _check_image_shape


class ExplorerInputError(ValueError):
    """Inputs the explorer cannot show; the message says what was expected."""


def check_fitted_model(model, n_features: int, name: str = "model") -> None:
    """Raise :class:`ExplorerInputError` unless ``model`` is fitted and fits ``n_features``."""
    for attr in ("transform", "inverse_transform"):
        if not callable(getattr(model, attr, None)):
            raise ExplorerInputError(f"{name} is a {type(model).__name__}, not a fitted SiVAE (no {attr} method).")
    for attr in ("components_", "n_features_in_"):
        if not hasattr(model, attr):
            raise ExplorerInputError(f"{name} is not fitted (no {attr}); call fit first or load a saved model.")
    if model.n_features_in_ != n_features:
        raise ExplorerInputError(
            f"{name} was fitted on {model.n_features_in_} features but the data have {n_features} columns; "
            "give the data the model was trained on (same columns, same order)."
        )


def check_image_shape(image_shape, n_features: int) -> tuple[int, ...] | None:
    """Validate ``image_shape`` against the data width; return it as a tuple of two or three ints, or None."""
    try:
        return _check_image_shape(image_shape, n_features)
    except ValueError as exc:
        raise ExplorerInputError(str(exc)) from exc
