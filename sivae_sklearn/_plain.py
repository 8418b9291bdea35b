"""Conversion of parameters, scores and histories to plain Python types.

Model files and experiment records are JSON, AnnData's ``uns`` is written to
HDF5: all three need numbers, strings, lists and dicts instead of NumPy scalars,
arrays and tuples. :func:`to_plain` does that conversion, once for all of them.

>>> import numpy as np
>>> to_plain({"a": np.float32(0.5), "b": (1, np.int64(2)), "c": np.arange(2)})
{'a': 0.5, 'b': [1, 2], 'c': [0, 1]}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from numbers import Integral, Real

import numpy as np


def _refuse(value):
    raise TypeError(f"{value!r} has no plain (JSON) form.")


def to_plain(value, *, fallback: Callable = _refuse, nonfinite_to_none: bool = False):
    """``value`` with every NumPy scalar, array, tuple and mapping turned into plain Python.

    Parameters
    ----------
    value : object
        None, bool, str, a number, an array, a sequence or a mapping of these.
    fallback : callable, default raises TypeError
        Called with any other object (e.g. ``repr``, ``str``); its result is used as is.
    nonfinite_to_none : bool, default=False
        Write NaN and infinities as None (JSON has no such numbers).

    Returns
    -------
    None, bool, str, int, float, list or dict
    """

    def plain(v):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, np.generic):
            return plain(v.item())
        if isinstance(v, Integral):
            return int(v)
        if isinstance(v, Real):
            f = float(v)
            return None if nonfinite_to_none and not math.isfinite(f) else f
        if isinstance(v, np.ndarray):
            return [plain(x) for x in v.tolist()]
        if isinstance(v, Mapping):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return fallback(v)

    return plain(value)


def plain_params(params: Mapping, *, fallback: Callable = _refuse) -> dict:
    """Estimator parameters in plain form; a ``RandomState`` instance (which no file can hold) becomes None.

    >>> plain_params({"hidden_layer_sizes": (8, 4), "random_state": np.random.RandomState(0)})
    {'hidden_layer_sizes': [8, 4], 'random_state': None}
    """
    return {
        name: None if isinstance(value, np.random.RandomState) else to_plain(value, fallback=fallback)
        for name, value in params.items()
    }
