"""Compiled functions of one model, each traced once per input signature, without retracing warnings.

Every model builds its compiled functions from the same Python code (closures
over its own variables), and TensorFlow's retracing detector counts traces per
code object: across the many small models of a grid search, each model's one
necessary trace would count as a retrace of a single function and log
"triggered tf.function retracing". :func:`model_function` keys that count on
the compiled function itself, so only real retraces (of one model's function)
are reported.

>>> import tensorflow as tf
>>> double = model_function(lambda x: 2 * x, input_signature=[tf.TensorSpec([None], tf.float32)])
>>> double(tf.ones([3])).numpy().tolist()
[2.0, 2.0, 2.0]
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import tensorflow as tf


def model_function(fn: Callable, **kwargs) -> Callable:
    """``tf.function(fn, **kwargs)``, its tracing counted apart from other functions of the same code.

    A ``functools.partial`` has no code object, so TensorFlow keys its retracing
    statistics on the partial, which is new for every call of this function.
    """
    return tf.function(functools.partial(fn), **kwargs)


def model_function_decorator(**kwargs) -> Callable[[Callable], Callable]:
    """:func:`model_function` as a decorator: ``@model_function_decorator(input_signature=[...])``."""
    return lambda fn: model_function(fn, **kwargs)
