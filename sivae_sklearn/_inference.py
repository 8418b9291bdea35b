"""Compiled inference on a trained network: embed, decode, ELBO, per-level fits.

A thin layer between the estimator and the network. Every function runs on
minibatches of rows, densifying sparse input one batch at a time, and returns
NumPy arrays; the TensorFlow functions are compiled once per model with a
fixed input signature, so calls with different batch sizes never retrace.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from ._losses import COUNT_LIKELIHOODS, kl_standard_normal, likelihood_mean, reconstruction_nll

PREDICT_BATCH_SIZE = 2048
_ROW_MULTIPLE = 8


class RowSubset:
    """Some rows of a dense or sparse matrix, read without copying the matrix.

    Supports what the training loop and the chunked inference need: ``shape``,
    ``dtype`` and indexing rows by a slice or an integer array (which returns
    a real, small matrix of those rows). ``fit`` uses it for the training rows,
    so that holding out a validation set never copies the training data.

    Parameters
    ----------
    X : ndarray or CSR matrix
        The whole matrix.
    index : ndarray of int
        Rows to expose, in order.
    """

    def __init__(self, X, index):
        self.base = X
        self.index = np.asarray(index, dtype=np.intp)
        self.shape = (self.index.size, X.shape[1])
        self.dtype = X.dtype

    def __getitem__(self, rows):
        return self.base[self.index[rows]]


def iter_row_batches(X, batch_size: int = PREDICT_BATCH_SIZE):
    """Yield ``(start, dense float32 rows)`` for dense or sparse ``X``."""
    for start in range(0, X.shape[0], batch_size):
        rows = X[start : start + batch_size]
        rows = rows.toarray() if sp.issparse(rows) else rows
        yield start, np.asarray(rows, dtype=np.float32)


def _pad_rows(a: np.ndarray) -> np.ndarray:
    """Pad with zero rows to a multiple of 8 rows.

    CPU kernels take a different vectorised path for fewer than 8 rows, which
    changes float32 rounding; padding makes each row's result independent of
    how many rows are evaluated together (scikit-learn's subset-invariance
    checks rely on this).
    """
    n = a.shape[0]
    target = max(_ROW_MULTIPLE, -(-n // _ROW_MULTIPLE) * _ROW_MULTIPLE)
    if target == n:
        return a
    return np.concatenate([a, np.zeros((target - n, *a.shape[1:]), a.dtype)])


class CompiledModel:
    """Inference functions of one trained :class:`~sivae_sklearn._network.SiVAENetwork`.

    Parameters
    ----------
    network : SiVAENetwork
        The trained network.
    likelihood : str
        Observation model used in training.
    """

    def __init__(self, network, likelihood: str):
        self.network = network
        self.likelihood = likelihood
        g = network.config.n_features
        k = network.config.n_components
        c = network.config.n_conditions
        rows = tf.TensorSpec([None, g], tf.float32)
        cond = tf.TensorSpec([None, c], tf.float32)
        lib = tf.TensorSpec([None, 1], tf.float32)

        @tf.function(input_signature=[rows])
        def embed(x):
            return network.encode_samples(network.prepare_input(x))

        @tf.function(input_signature=[tf.TensorSpec([None, k], tf.float32), cond, lib])
        def decode(z, condition, library):
            v_mean, _ = network.encode_features()
            y = network.decode_samples(z, condition if c else None)
            params = network.output_params(y, network.decode_features(v_mean))
            return likelihood_mean(likelihood, params, library)

        # Scores are computed in float64 on a copy of the network, so a row's
        # score does not depend on which other rows are scored with it.
        exact = network.astype(np.float64)

        @tf.function(input_signature=[rows, cond, tf.TensorSpec([2], tf.int32), tf.TensorSpec([], tf.int32)])
        def elbo(x, condition, seed, n_draws):
            x = tf.cast(x, tf.float64)
            condition = tf.cast(condition, tf.float64)
            net = exact
            z_mean, z_std = net.encode_samples(net.prepare_input(x))
            v_mean, _ = net.encode_features()
            w = net.decode_features(v_mean)
            library = tf.reduce_sum(x, axis=1, keepdims=True) if likelihood in COUNT_LIKELIHOODS else None
            total = tf.zeros(tf.shape(x)[:1], tf.float64)
            for i in tf.range(n_draws):
                # One noise vector per draw, shared by all rows: a row's score does
                # not depend on its position in X or on the other rows.
                eps = tf.random.stateless_normal(tf.shape(z_mean)[1:], seed=seed + tf.stack([0, i]), dtype=tf.float64)
                y = net.decode_samples(z_mean + z_std * eps, condition if c else None)
                params = net.output_params(y, w)
                total += reconstruction_nll(likelihood, x, params, net.log_scale, library)
            nll = total / tf.cast(n_draws, tf.float64)
            return -(nll + kl_standard_normal(z_mean, z_std))

        @tf.function(input_signature=[rows, cond])
        def level_fits(x, condition):
            x_in = network.prepare_input(x)
            z_mean, _ = network.encode_samples(x_in)
            v_mean, _ = network.encode_features()
            pairs = network.decoder_levels(z_mean, v_mean, condition if c else None)
            fits = []
            last = len(pairs) - 1
            for level, (s, f) in enumerate(pairs):
                fit = tf.matmul(s, f, transpose_b=True)
                if level == 0:
                    fit += network.linear_offset(condition if c else None)
                if level == last and last > 0:
                    if likelihood in COUNT_LIKELIHOODS:
                        # issue 4: compare counts in the encoder's input space, log1p(1e4 * frequency),
                        # not the raw softmax logits (which are only defined up to a per-row constant).
                        fit = network.prepare_input(likelihood_mean(likelihood, fit + network.output_bias, 1.0))
                    else:
                        fit = likelihood_mean(likelihood, fit + network.output_bias)
                fits.append(fit)
            return x_in, fits

        self._embed, self._decode, self._elbo, self._level_fits = embed, decode, elbo, level_fits

    @property
    def n_conditions(self) -> int:
        return self.network.config.n_conditions

    def _condition(self, condition, start, n):
        if condition is None:
            return np.zeros((n, self.n_conditions), np.float32)
        return np.asarray(condition[start : start + n], np.float32)

    def embed(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of ``z`` for every row."""
        means, stds = [], []
        for _, rows in iter_row_batches(X):
            m, s = self._embed(_pad_rows(rows))
            means.append(m.numpy()[: rows.shape[0]])
            stds.append(s.numpy()[: rows.shape[0]])
        k = self.network.config.n_components
        if not means:
            return np.zeros((0, k), np.float32), np.zeros((0, k), np.float32)
        return np.concatenate(means), np.concatenate(stds)

    def decode(self, Z, condition=None, library_size=None) -> np.ndarray:
        """Expected data given latent points ``Z`` (and condition, library size)."""
        Z = np.asarray(Z, np.float32)
        out = []
        for start in range(0, Z.shape[0], PREDICT_BATCH_SIZE):
            z = Z[start : start + PREDICT_BATCH_SIZE]
            n = z.shape[0]
            if library_size is None:
                lib = np.ones((n, 1), np.float32)
            else:
                lib = np.asarray(library_size[start : start + n], np.float32).reshape(n, 1)
            out.append(
                self._decode(_pad_rows(z), _pad_rows(self._condition(condition, start, n)), _pad_rows(lib)).numpy()[:n]
            )
        if not out:
            return np.zeros((0, self.network.config.n_features), np.float32)
        return np.concatenate(out)

    def elbo(self, X, condition=None, *, seed: int = 0, n_draws: int = 4) -> np.ndarray:
        """Per-sample ELBO, estimated with ``n_draws`` fixed-seed posterior draws.

        The standard-normal noise of draw ``i`` is the same vector for every
        row, so the estimate for a row does not depend on the other rows.
        """
        out = []
        for start, rows in iter_row_batches(X):
            n = rows.shape[0]
            s = np.array([seed, 0], np.int32)
            cond = _pad_rows(self._condition(condition, start, n))
            out.append(self._elbo(_pad_rows(rows), cond, s, np.int32(n_draws)).numpy()[:n])
        return np.concatenate(out) if out else np.zeros(0, np.float64)

    def level_fits(self, rows: np.ndarray, condition=None):
        """``(x_in, [X_hat(0), ..., X_hat(L)])`` for one dense batch of rows."""
        n = rows.shape[0]
        x_in, fits = self._level_fits(_pad_rows(rows), _pad_rows(self._condition(condition, 0, n)))
        return x_in.numpy()[:n], [f.numpy()[:n] for f in fits]

    def feature_embedding(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of ``v`` (n_features x K)."""
        m, s = self.network.encode_features()
        return m.numpy(), s.numpy()
