"""Rows of features seen as images: grey ``(H, W)`` or multi-channel ``(H, W, C)``.

A row of ``H * W * C`` features is an image in channels-last order, as
``images.reshape(n, -1)`` flattens an ``(n, H, W, C)`` array (so
``image_shape=(32, 32, 3)`` for CIFAR rows from
:func:`~sivae_sklearn.datasets.read_cifar_batch`). Plain array functions,
shared by :mod:`sivae_sklearn.plotting` and the explorer's figures:

* :func:`channel_view` turns signed per-feature values (loadings, feature
  awareness) into what is drawn: summed over channels, one panel per channel,
  or an RGB picture of the signs;
* :func:`to_rgb` turns data-space rows (originals, reconstructions,
  decodings) into displayable images in [0, 1].
"""

from __future__ import annotations

import numpy as np

CHANNEL_VIEWS = ("sum", "separate", "rgb")
"""How per-feature values of a multi-channel image are drawn (see :func:`channel_view`)."""

RESCALES = ("minmax", "clip")
"""How data-space values become displayable intensities (see :func:`to_rgb`)."""


def n_channels(shape: tuple[int, ...]) -> int:
    """1 for ``(H, W)``, ``C`` for ``(H, W, C)``."""
    return int(shape[2]) if len(shape) == 3 else 1


def is_colour(shape: tuple[int, ...]) -> bool:
    """Whether rows of this shape are drawn as RGB pictures (three channels)."""
    return n_channels(shape) == 3


def channel_view(values, shape: tuple[int, ...], channels: str = "sum") -> tuple[np.ndarray, list[str]]:
    """Per-feature values of images, ready to draw: ``(panels, H, W)`` or ``(1, H, W, 3)`` arrays.

    Parameters
    ----------
    values : array-like of shape (n_features,)
        One value per feature (a row of ``components_``, feature awareness).
    shape : (H, W) or (H, W, C)
        The image shape; ``H * W * C == n_features``.
    channels : {"sum", "separate", "rgb"}, default="sum"
        For ``C > 1``: ``"sum"`` adds the channels (one ``(H, W)`` map:
        where the pixel matters, whatever its colour); ``"separate"`` draws
        one ``(H, W)`` map per channel; ``"rgb"`` (three channels only) shows
        the signs as colour, ``0.5 + 0.5 * v / max|v|`` per channel, so grey
        is 0 and a pixel turns towards the colour its value pushes it to.
        Grey images (one channel) ignore it.

    Returns
    -------
    panels : ndarray
        ``(n_panels, H, W)`` maps, or ``(1, H, W, 3)`` for ``"rgb"``.
    suffixes : list of str
        A label suffix per panel (``""``, or the channel: ``"R"``, ``"G"``, ``"B"`` / ``"c0"`` ...).

    Examples
    --------
    >>> v = np.arange(12.0)
    >>> channel_view(v, (2, 2, 3))[0].shape, channel_view(v, (2, 2, 3), "separate")[1]
    ((1, 2, 2), ['R', 'G', 'B'])
    """
    if channels not in CHANNEL_VIEWS:
        raise ValueError(f"channels={channels!r} is not supported; expected one of {CHANNEL_VIEWS}.")
    image = np.asarray(values, dtype=np.float64).reshape(shape)
    if image.ndim == 2 or shape[2] == 1:
        return image.reshape(1, shape[0], shape[1]), [""]
    if channels == "sum":
        return image.sum(axis=2)[None], [""]
    if channels == "separate":
        names = ["R", "G", "B"] if shape[2] == 3 else [f"c{c}" for c in range(shape[2])]
        return np.moveaxis(image, 2, 0), names
    if shape[2] != 3:
        raise ValueError(f"channels='rgb' needs three channels; image_shape {tuple(shape)} has {shape[2]}.")
    limit = float(np.max(np.abs(image))) or 1.0
    return (0.5 + 0.5 * image / limit)[None], [""]


def intensity_range(*arrays) -> tuple[float, float]:
    """The shared ``(min, max)`` of arrays, for one rescale across panels."""
    lo = min(float(np.min(a)) for a in arrays)
    hi = max(float(np.max(a)) for a in arrays)
    return lo, hi


def to_rgb(rows, shape: tuple[int, ...], rescale: str = "minmax", value_range=None) -> np.ndarray:
    """Data-space rows as images with intensities in [0, 1]: ``(..., H, W)`` grey or ``(..., H, W, 3)`` RGB.

    Parameters
    ----------
    rows : array-like of shape (..., n_features)
    shape : (H, W) or (H, W, C)
    rescale : {"minmax", "clip"}, default="minmax"
        ``"minmax"``: map ``value_range`` (default: the min and max of
        ``rows``) linearly to [0, 1], one scale for all rows so that they
        compare (z-scored pixels become visible colours); ``"clip"``: the values
        are intensities already (``likelihood="bernoulli"`` data, images /
        255) and are only clipped. Either way the result is clipped to [0, 1].
    value_range : (float, float), optional
        The range mapped to [0, 1] by ``"minmax"`` (e.g. :func:`intensity_range`
        of originals and reconstructions together).

    Returns
    -------
    ndarray
        ``(..., H, W, 3)`` for three channels, else ``(..., H, W)`` (the mean
        over channels, for one or more than three channels).

    Examples
    --------
    >>> to_rgb(np.array([[0.0, 2.0, 4.0, 1.0, 1.0, 1.0]]), (1, 2, 3)).round(2).tolist()
    [[[[0.0, 0.5, 1.0], [0.25, 0.25, 0.25]]]]
    """
    if rescale not in RESCALES:
        raise ValueError(f"rescale={rescale!r} is not supported; expected one of {RESCALES}.")
    rows = np.asarray(rows, dtype=np.float64)
    images = rows.reshape(rows.shape[:-1] + tuple(shape))
    if len(shape) == 3 and shape[2] != 3:
        images = images.mean(axis=-1)
    if rescale == "minmax":
        lo, hi = value_range if value_range is not None else intensity_range(images)
        images = (images - lo) / (hi - lo if hi > lo else 1.0)
    return np.clip(images, 0.0, 1.0)
