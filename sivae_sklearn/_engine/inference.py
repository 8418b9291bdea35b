"""Compiled inference on a trained network: embed, decode, ELBO, per-level fits, attributions.

Thin wrappers: every function runs a method of
:class:`~sivae_sklearn._engine.model.SiVAEModel` on minibatches of rows, densifying
sparse input one batch at a time, and returns NumPy arrays. The TensorFlow
functions are compiled once per model with a fixed input signature, so calls
with different batch sizes never retrace; batches are padded to a multiple of 8
rows so that a row's result never depends on which other rows come with it. The
float64 ELBO runs eagerly (see :class:`CompiledModel`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .._arrays.rows import PREDICT_BATCH_SIZE, iter_row_batches, pad_rows
from .model import SiVAEModel
from .tracing import model_function_decorator as compiled

_JACOBIAN_BATCH_SIZE = 256
_CLASSIFIER_BATCH_SIZE = 4096


class CompiledModel:
    """Inference functions of one trained :class:`~sivae_sklearn._engine.network.SiVAENetwork`.

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
        model = SiVAEModel(network, likelihood)
        # Scores are computed in float64 on a copy of the network, so a row's
        # score does not depend on which other rows are scored with it.
        exact = SiVAEModel(network.astype(np.float64), likelihood)
        self.model = model
        g = network.config.n_features
        k = network.config.n_components
        c = network.config.n_conditions
        rows = tf.TensorSpec([None, g], tf.float32)
        latent = tf.TensorSpec([None, k], tf.float32)
        cond = tf.TensorSpec([None, c], tf.float32)

        @compiled(input_signature=[rows])
        def embed(x):
            _, z_mean, z_std = model.encode(x)
            return z_mean, z_std

        @compiled(input_signature=[latent, cond, tf.TensorSpec([None, 1], tf.float32)])
        def decode(z, condition, library_size):
            return model.expected_output(z, condition, library_size)

        def elbo(x, condition, seed, n_draws):
            # Run eagerly, not compiled: in a graph, Grappler's oneDNN rewrites log "Not handling type
            # DT_DOUBLE" for every float64 layer they skip (eager kernels give the same values, unlogged).
            return exact.elbo(tf.convert_to_tensor(x), tf.convert_to_tensor(condition), seed, n_draws)

        @compiled(input_signature=[rows, cond])
        def level_fits(x, condition):
            return model.level_fits(x, condition)

        @compiled(input_signature=[latent])
        def jacobian(z):
            return model.latent_jacobian(z)

        self._embed, self._decode, self._elbo = embed, decode, elbo
        self._level_fits, self._jacobian = level_fits, jacobian

    @property
    def n_conditions(self) -> int:
        return self.network.config.n_conditions

    def _condition(self, condition, start, n):
        if condition is None:
            return np.zeros((n, self.n_conditions), np.float32)
        return np.asarray(condition[start : start + n], np.float32)

    def embed(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of ``z`` for every row (written in place: no second copy)."""
        shape = (X.shape[0], self.network.config.n_components)
        mean, std = np.empty(shape, np.float32), np.empty(shape, np.float32)
        for start, rows in iter_row_batches(X):
            m, s = self._embed(pad_rows(rows))
            mean[start : start + rows.shape[0]] = m.numpy()[: rows.shape[0]]
            std[start : start + rows.shape[0]] = s.numpy()[: rows.shape[0]]
        return mean, std

    def embed_mean(self, rows: np.ndarray) -> np.ndarray:
        """Posterior mean of ``z`` for one batch of dense float32 rows."""
        return self._embed(pad_rows(rows))[0].numpy()[: rows.shape[0]]

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
                self._decode(pad_rows(z), pad_rows(self._condition(condition, start, n)), pad_rows(lib)).numpy()[:n]
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
            cond = pad_rows(self._condition(condition, start, n))
            out.append(self._elbo(pad_rows(rows), cond, s, np.int32(n_draws)).numpy()[:n])
        return np.concatenate(out) if out else np.zeros(0, np.float64)

    def level_fits(self, rows: np.ndarray, condition=None):
        """``(x_in, [X_hat(0), ..., X_hat(L)])`` for one dense batch of rows."""
        n = rows.shape[0]
        x_in, fits = self._level_fits(pad_rows(rows), pad_rows(self._condition(condition, 0, n)))
        return x_in.numpy()[:n], [f.numpy()[:n] for f in fits]

    def latent_jacobian(self, Z) -> np.ndarray:
        """``d x_hat / d z`` at every latent point: shape (n_points, n_features, n_components)."""
        Z = np.asarray(Z, np.float32)
        parts = [
            self._jacobian(Z[start : start + _JACOBIAN_BATCH_SIZE]).numpy()
            for start in range(0, Z.shape[0], _JACOBIAN_BATCH_SIZE)
        ]
        if not parts:
            config = self.network.config
            return np.zeros((0, config.n_features, config.n_components), np.float32)
        return np.concatenate(parts)

    def class_probabilities(self, Z) -> np.ndarray:
        """Softmax of the classification head at latent means (float64)."""
        out = []
        for start in range(0, Z.shape[0], _CLASSIFIER_BATCH_SIZE):
            z = tf.constant(np.asarray(Z[start : start + _CLASSIFIER_BATCH_SIZE], np.float32))
            out.append(tf.nn.softmax(self.model.class_logits(z), axis=1).numpy())
        if not out:
            return np.zeros((0, self.network.config.n_classes))
        return np.concatenate(out).astype(np.float64)

    def feature_embedding(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of ``v`` (n_features x K)."""
        m, s = self.network.encode_features()
        return m.numpy(), s.numpy()

    def embed_feature_inputs(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of ``v`` (n x K) for feature-encoder inputs (n x width).

        The same feature encoder as :meth:`feature_embedding`, on inputs the
        network does not hold (features that were not in training).
        """
        dtype = self.network.dtype
        means, stds = [], []
        for start in range(0, inputs.shape[0], _CLASSIFIER_BATCH_SIZE):
            m, s = self.network.feature_encoder(tf.constant(inputs[start : start + _CLASSIFIER_BATCH_SIZE], dtype))
            means.append(m.numpy())
            stds.append(s.numpy())
        k = self.network.config.n_components
        if not means:
            return np.zeros((0, k)), np.zeros((0, k))
        return np.concatenate(means), np.concatenate(stds)
