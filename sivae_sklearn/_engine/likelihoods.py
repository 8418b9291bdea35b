"""The observation models: one :class:`Likelihood` object per family, in a registry.

Everything that depends on the likelihood lives on its object, so no other
module asks for a family by name:

* ``nll``: the negative log-likelihood of each row given the decoder output
  (TensorFlow), summed over features;
* ``mean``: the expected data given the decoder output (what ``inverse_transform``
  returns);
* ``check_support``: whether data can come from the family (NumPy; used by the
  validation before any training);
* ``needs_library_size``: count families model frequencies times each row's total;
* ``encoder_input``: what the sample encoder and the interpretability term read,
  in NumPy (fitted statistics, feature inputs) and TensorFlow (the network):
  ``log1p(1e4 x / library size)`` for counts, the data as given otherwise.

>>> sorted(LIKELIHOODS)
['bernoulli', 'gaussian', 'nb', 'poisson']
>>> get_likelihood("nb").needs_library_size, get_likelihood("nb").encoder_input.name
(True, 'log1p')
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

_LOG_2PI = math.log(2.0 * math.pi)
_COUNT_SCALE = 1e4


# ------------------------------------------------------------- encoder inputs
@dataclass(frozen=True)
class EncoderInput:
    """A transform of the data rows before the sample encoder, in NumPy and TensorFlow.

    Attributes
    ----------
    name : str
        Recorded in the network configuration (and so in model files).
    numpy : callable
        ``numpy(X) -> X_in`` for a dense array or a sparse matrix (float32 out).
    tensorflow : callable
        ``tensorflow(x) -> x_in`` on a batch of rows.
    """

    name: str
    numpy: Callable
    tensorflow: Callable


def _log1p_frequency_numpy(X):
    library = np.asarray(X.sum(axis=1), dtype=np.float64).reshape(-1, 1)
    scale = (_COUNT_SCALE / np.maximum(library, 1.0)).astype(np.float32)  # float32: no float64 copy of X
    if sp.issparse(X):
        out = sp.csr_matrix(X.multiply(scale), dtype=np.float32)
        out.data = np.log1p(out.data)
        return out
    return np.log1p(X * scale)


def _log1p_frequency_tensorflow(x):
    library = tf.reduce_sum(x, axis=1, keepdims=True)
    return tf.math.log1p(x * (_COUNT_SCALE / tf.maximum(library, 1.0)))


def _identity(x):
    return x


IDENTITY = EncoderInput("none", _identity, _identity)
LOG1P_FREQUENCY = EncoderInput("log1p", _log1p_frequency_numpy, _log1p_frequency_tensorflow)
ENCODER_INPUTS = {e.name: e for e in (IDENTITY, LOG1P_FREQUENCY)}


# ------------------------------------------------------------ per-row NLLs
def _sum_features(terms):
    """Sum per-feature terms of each row, accumulating in float64.

    The float64 accumulation makes a row's value independent of how many rows
    are evaluated together (float32 reductions may be blocked differently).
    """
    return tf.cast(tf.reduce_sum(tf.cast(terms, tf.float64), axis=1), terms.dtype)


def gaussian_nll(x, mean, log_scale):
    """Per-sample Gaussian negative log-likelihood with a per-feature scale."""
    z = (x - mean) * tf.exp(-log_scale)
    return _sum_features(0.5 * tf.square(z) + log_scale + 0.5 * _LOG_2PI)


def bernoulli_nll(x, logits):
    """Per-sample Bernoulli negative log-likelihood (x may be fractional in [0, 1])."""
    return _sum_features(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits))


def poisson_nll(x, log_rate):
    """Per-sample Poisson negative log-likelihood of counts given the log rate."""
    return _sum_features(tf.exp(log_rate) - x * log_rate + tf.math.lgamma(x + 1.0))


def negative_binomial_nll(x, mean, log_dispersion, eps=1e-8):
    """Per-sample negative-binomial NLL; ``theta = exp(log_dispersion)`` per feature.

    Parameterised by mean ``mu`` and inverse dispersion ``theta`` (variance
    ``mu + mu^2 / theta``), as in scVI.
    """
    theta = tf.exp(log_dispersion)
    log_theta_mu = tf.math.log(theta + mean + eps)
    ll = (
        theta * (tf.math.log(theta + eps) - log_theta_mu)
        + x * (tf.math.log(mean + eps) - log_theta_mu)
        + tf.math.lgamma(x + theta)
        - tf.math.lgamma(theta)
        - tf.math.lgamma(x + 1.0)
    )
    return -_sum_features(ll)


def count_mean(params, library_size):
    """Mean of a count likelihood: softmax over features times the library size."""
    return tf.nn.softmax(params, axis=1) * library_size


# ------------------------------------------------------------ support checks
def check_count_values(values, likelihood: str, source: str, *, stacklevel: int = 3) -> None:
    """Raise on negative values and warn on non-integers under a count likelihood.

    Parameters
    ----------
    values : ndarray
        The data values (``.data`` of a sparse matrix).
    likelihood : str
        The family's name, for the message.
    source : str
        Where the data came from (``"X"``, ``"adata.layers['counts']"``), for the message.
    stacklevel : int, default=3
        Passed to :func:`warnings.warn`.
    """
    if values.size == 0:
        return
    lo = float(np.nanmin(values))
    if lo < 0:
        raise ValueError(
            f"likelihood={likelihood!r} models raw counts and needs non-negative data, but {source} holds "
            f"negative values (minimum {lo:.3g}); it looks normalised or scaled. Pass raw counts "
            f"(e.g. layer='counts') or use likelihood='gaussian'."
        )
    if not np.all(np.equal(np.mod(values, 1), 0)):
        warnings.warn(
            f"likelihood={likelihood!r} expects integer counts but {source} holds non-integer values; "
            f"is it normalised data rather than raw counts? Pass raw counts (e.g. layer='counts').",
            UserWarning,
            stacklevel=stacklevel,
        )


def _value_range(X) -> tuple[float, float]:
    """Smallest and largest value, the implicit zeros of a sparse matrix included."""
    values = X.data if sp.issparse(X) else X
    lo, hi = float(values.min()), float(values.max())
    if sp.issparse(X) and X.nnz < X.shape[0] * X.shape[1]:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    return lo, hi


def _any_real(X, likelihood, source, stacklevel):
    """Every finite value is supported (the validation already rejected NaN and inf)."""


def _unit_interval(X, likelihood, source, stacklevel):
    lo, hi = _value_range(X)
    if lo < 0 or hi > 1:
        raise ValueError(
            f"likelihood='bernoulli' needs data in [0, 1], but {source} holds values in [{lo:.3g}, {hi:.3g}]. "
            f"Scale the data (e.g. divide pixel intensities by their maximum) or use "
            f"likelihood='gaussian'."
        )


def _counts(X, likelihood, source, stacklevel):
    check_count_values(X.data if sp.issparse(X) else X, likelihood, source, stacklevel=stacklevel + 1)


# --------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Likelihood:
    """One observation model: its NLL, mean, support and encoder input.

    Attributes
    ----------
    name : str
        The value of ``SiVAE(likelihood=...)``.
    needs_library_size : bool
        Whether the mean is frequencies times each row's total count.
    encoder_input : EncoderInput
        What the sample encoder reads.
    """

    name: str
    needs_library_size: bool
    encoder_input: EncoderInput
    _nll: Callable
    _mean: Callable
    _support: Callable

    def nll(self, x, params, log_scale, library_size=None):
        """Per-sample negative log-likelihood of ``x`` given the decoder output.

        Parameters
        ----------
        x : tf.Tensor
            Observed data (batch x G), raw counts for the count likelihoods.
        params : tf.Tensor
            Decoder output ``y W^T + b`` (batch x G).
        log_scale : tf.Tensor
            Per-feature log standard deviation (Gaussian) or log inverse
            dispersion (negative binomial); unused otherwise.
        library_size : tf.Tensor, optional
            Total counts per sample (batch x 1), for the count likelihoods.
        """
        return self._nll(x, params, log_scale, library_size)

    def mean(self, params, library_size=None):
        """Expected value of the data given the decoder output (frequencies times ``library_size`` for counts)."""
        return self._mean(params, library_size)

    def library_size(self, x):
        """Total of each row (batch x 1) when the family needs it, else None."""
        return tf.reduce_sum(x, axis=1, keepdims=True) if self.needs_library_size else None

    def check_support(self, X, source: str = "X", *, stacklevel: int = 3) -> None:
        """Raise a ValueError (or warn) when the dense or sparse ``X`` cannot come from this family."""
        if (X.data if sp.issparse(X) else X).size:
            self._support(X, self.name, source, stacklevel + 1)


LIKELIHOODS: dict[str, Likelihood] = {
    lik.name: lik
    for lik in (
        Likelihood(
            "gaussian",
            False,
            IDENTITY,
            lambda x, params, log_scale, library: gaussian_nll(x, params, log_scale),
            lambda params, library: params,
            _any_real,
        ),
        Likelihood(
            "bernoulli",
            False,
            IDENTITY,
            lambda x, params, log_scale, library: bernoulli_nll(x, params),
            lambda params, library: tf.sigmoid(params),
            _unit_interval,
        ),
        Likelihood(
            "poisson",
            True,
            LOG1P_FREQUENCY,
            lambda x, params, log_scale, library: poisson_nll(x, tf.math.log(count_mean(params, library) + 1e-8)),
            count_mean,
            _counts,
        ),
        Likelihood(
            "nb",
            True,
            LOG1P_FREQUENCY,
            lambda x, params, log_scale, library: negative_binomial_nll(x, count_mean(params, library), log_scale),
            count_mean,
            _counts,
        ),
    )
}


def get_likelihood(name: str) -> Likelihood:
    """The registered family ``name``; a ValueError lists the known ones."""
    try:
        return LIKELIHOODS[name]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown likelihood {name!r}; expected one of {tuple(LIKELIHOODS)}.") from None


def count_likelihoods() -> tuple[str, ...]:
    """Names of the families that model counts with a library size."""
    return tuple(name for name, lik in LIKELIHOODS.items() if lik.needs_library_size)
