"""Slider arithmetic: values and ranges of the latent sliders, and what a click selects.

Plain functions of plain inputs (no Dash), so every callback's logic is unit-tested.
"""

from __future__ import annotations

import math

import numpy as np

from ._inputs import ExplorerInputError
from ._models import ExplorerData

PRIOR_RANGE = 3.0
"""Slider half-range, in prior standard deviations, when ranges follow the prior."""

CLASS_RANGE_STDS = 1.0
"""Slider half-range, in class standard deviations, when ranges follow the clicked class."""


def sample_from_click(click_data) -> int | None:
    """Row index of the clicked point in a Dash ``clickData`` payload, or None."""
    if not click_data or not click_data.get("points"):
        return None
    point = click_data["points"][0]
    custom = point.get("customdata")
    if isinstance(custom, list):
        custom = custom[0] if custom else None
    if custom is None:
        return None
    try:
        return int(custom)
    except (TypeError, ValueError):
        return None


def slider_settings(data: ExplorerData, model_name: str, sample=None, ranges: str = "class"):
    """Values and ranges of the latent sliders.

    Parameters
    ----------
    data : ExplorerData
    model_name : str
    sample : int, optional
        Clicked row; its latent coordinates become the slider values. None: the origin.
    ranges : {"class", "prior"}
        ``"class"``: each slider spans the clicked sample's class mean +- one
        class standard deviation (all samples when unlabelled), widened to
        contain the value; ``"prior"``: +- 3 around 0, the N(0, 1) prior.

    Returns
    -------
    values, mins, maxs : list of float, each of length K
    """
    mv = data.models[model_name]
    K = mv.n_components
    if sample is None:
        values = np.zeros(K)
        members = np.ones(mv.embedding.shape[0], bool)
    else:
        sample = int(sample)
        if not 0 <= sample < mv.embedding.shape[0]:
            raise ExplorerInputError(f"sample {sample} is out of range (0 .. {mv.embedding.shape[0] - 1}).")
        values = mv.embedding[sample]
        members = (
            data.labels == data.labels[sample] if data.labels is not None else np.ones(mv.embedding.shape[0], bool)
        )
    if ranges == "prior":
        lo, hi = np.full(K, -PRIOR_RANGE), np.full(K, PRIOR_RANGE)
    elif ranges == "class":
        Zc = mv.embedding[members]
        mean, std = Zc.mean(axis=0), Zc.std(axis=0)
        std = np.where(std > 1e-6, std, 0.5)
        lo, hi = mean - CLASS_RANGE_STDS * std, mean + CLASS_RANGE_STDS * std
    else:
        raise ExplorerInputError(f"ranges must be 'class' or 'prior', got {ranges!r}.")
    lo, hi = np.minimum(lo, values), np.maximum(hi, values)
    return [_round(v) for v in values], [_round(v, "floor") for v in lo], [_round(v, "ceil") for v in hi]


def _round(value, how: str = "nearest", digits: int = 3) -> float:
    scale = 10**digits
    if how == "floor":
        return math.floor(value * scale) / scale
    if how == "ceil":
        return math.ceil(value * scale) / scale
    return round(float(value), digits)


def slider_step(lo: float, hi: float) -> float:
    """Step giving about 200 positions between ``lo`` and ``hi``."""
    return max(_round((hi - lo) / 200.0, "floor", 4), 1e-4)


def active_dimension(triggered_id, previous, n_components: int) -> int:
    """The latent dimension whose slider moved last (pattern-matching id ``{"index": d}``)."""
    if isinstance(triggered_id, dict) and "index" in triggered_id:
        d = int(triggered_id["index"])
    elif previous is not None:
        d = int(previous)
    else:
        d = 0
    return int(min(max(d, 0), n_components - 1))


def latent_vector(values, n_components: int) -> np.ndarray:
    """Slider values as one latent row; missing values (None) count as 0."""
    values = list(values or [])
    if len(values) != n_components:
        raise ExplorerInputError(f"expected {n_components} slider values, got {len(values)}.")
    return np.array([[0.0 if v is None else float(v) for v in values]])
