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


def iter_row_batches(X, batch_size: int = PREDICT_BATCH_SIZE):
    """Yield ``(start, dense float32 rows)`` for dense or sparse ``X``."""
    for start in range(0, X.shape[0], batch_size):
        rows = X[start : start + batch_size]
        rows = rows.toarray() if sp.issparse(rows) else rows
        yield start, np.asarray(rows, dtype=np.float32)


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

        @tf.function(input_signature=[rows, cond, tf.TensorSpec([2], tf.int32), tf.TensorSpec([], tf.int32)])
        def elbo(x, condition, seed, n_draws):
            z_mean, z_std = network.encode_samples(network.prepare_input(x))
            v_mean, _ = network.encode_features()
            w = network.decode_features(v_mean)
            library = tf.reduce_sum(x, axis=1, keepdims=True) if likelihood in COUNT_LIKELIHOODS else None
            total = tf.zeros(tf.shape(x)[:1])
            for i in tf.range(n_draws):
                eps = tf.random.stateless_normal(tf.shape(z_mean), seed=seed + tf.stack([0, i]))
                y = network.decode_samples(z_mean + z_std * eps, condition if c else None)
                params = network.output_params(y, w)
                total += reconstruction_nll(likelihood, x, params, network.log_scale, library)
            nll = total / tf.cast(n_draws, tf.float32)
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
                    fit = likelihood_mean(
                        likelihood if likelihood not in COUNT_LIKELIHOODS else "gaussian",
                        fit + network.output_bias,
                    )
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
            m, s = self._embed(rows)
            means.append(m.numpy())
            stds.append(s.numpy())
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
            out.append(self._decode(z, self._condition(condition, start, n), lib).numpy())
        if not out:
            return np.zeros((0, self.network.config.n_features), np.float32)
        return np.concatenate(out)

    def elbo(self, X, condition=None, *, seed: int = 0, n_draws: int = 4) -> np.ndarray:
        """Per-sample ELBO, estimated with ``n_draws`` fixed-seed posterior draws."""
        out = []
        for start, rows in iter_row_batches(X):
            n = rows.shape[0]
            s = np.array([seed, start], np.int32)
            out.append(self._elbo(rows, self._condition(condition, start, n), s, np.int32(n_draws)).numpy())
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def level_fits(self, rows: np.ndarray, condition=None):
        """``(x_in, [X_hat(0), ..., X_hat(L)])`` for one dense batch of rows."""
        x_in, fits = self._level_fits(rows, self._condition(condition, 0, rows.shape[0]))
        return x_in.numpy(), [f.numpy() for f in fits]

    def feature_embedding(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of ``v`` (n_features x K)."""
        m, s = self.network.encode_features()
        return m.numpy(), s.numpy()
