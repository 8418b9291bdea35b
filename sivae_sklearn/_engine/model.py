"""The siVAE model: the forward pass, and the loss through the objective's terms.

:class:`SiVAEModel` joins the sub-networks of a
:class:`~sivae_sklearn._engine.network.SiVAENetwork` with a likelihood from
:mod:`~sivae_sklearn._engine.likelihoods`:

* **encode**: a row ``x_c`` is read through the likelihood's encoder input and
  encoded to ``q(z_c) = N(z_mean, z_std^2)``; every feature's reduced column to
  ``q(v_f)``;
* **decode**: ``y_c`` from ``z_c`` (and the condition), ``w_f`` from ``v_f``, and
  the likelihood's natural parameter ``x_hat[c, f] = y_c . w_f + b_f``: the feature
  decoder produces the last weight matrix of the sample decoder;
* **loss**: :meth:`SiVAEModel.forward` runs one stochastic forward pass and
  returns a :class:`~sivae_sklearn._engine.objective.Forward`;
  :meth:`SiVAEModel.loss` computes the training phase's terms from it and sums
  them (:mod:`~sivae_sklearn._engine.objective`, which holds the terms, the phases'
  lists of terms and the objective's formula).

Training, ``score_samples`` (:meth:`SiVAEModel.elbo`), feature awareness
(:meth:`SiVAEModel.level_fits`), the attribution baseline
(:meth:`SiVAEModel.latent_jacobian`) and ``predict_proba``
(:meth:`SiVAEModel.class_logits`) all run through this class. To change the
objective, change :mod:`~sivae_sklearn._engine.objective`; nothing else computes it.
"""

from __future__ import annotations

import tensorflow as tf

from .likelihoods import get_likelihood
from .objective import PHASES, Forward, Loss, LossWeights, _columns, kl_standard_normal, phase_loss


def _rows(t, features):
    """``t`` restricted to the rows ``features``; all of ``t`` when None."""
    return t if features is None else tf.gather(t, features)


# --------------------------------------------------------------------- model
class SiVAEModel:
    """The forward pass and the loss of siVAE on one network.

    Parameters
    ----------
    network : SiVAENetwork
        The weights (float32, or a float64 copy for exact scoring).
    likelihood : str
        Name of the observation model (a key of ``_likelihoods.LIKELIHOODS``).
    """

    def __init__(self, network, likelihood: str):
        self.network = network
        self.likelihood = get_likelihood(likelihood)

    # -------------------------------------------------------------- pieces
    def _condition(self, condition):
        """The one-hot condition the decoder reads; None for unconditional models."""
        return condition if self.network.config.n_conditions else None

    def encode(self, x):
        """``(x_in, z_mean, z_std)``: the encoder's view of the rows and the posterior of ``z``."""
        x_in = self.likelihood.encoder_input.tensorflow(x)
        z_mean, z_std = self.network.encode_samples(x_in)
        return x_in, z_mean, z_std

    def output_params(self, z, w, condition, features=None):
        """Natural parameter of the likelihood: ``y(z, condition) W^T + b`` (rows x G, or x ``features``)."""
        y = self.network.decode_samples(z, self._condition(condition))
        return tf.matmul(y, w, transpose_b=True) + _columns(self.network.output_bias, features)

    def reconstruction_nll(self, x, z, w, condition, library_size, features=None):
        """``-log p(x | z, W)`` of each row (``x``, ``w`` and the result restricted to ``features`` if given)."""
        params = self.output_params(z, w, condition, features)
        return self.likelihood.nll(x, params, _columns(self.network.log_scale, features), library_size)

    def draw_features(self, seed, feature_batch_size: int | None):
        """Sorted indices of ``feature_batch_size`` distinct features drawn with ``seed``; None for all of them."""
        n_features = self.network.config.n_features
        if feature_batch_size is None or feature_batch_size >= n_features:
            return None
        keys = tf.random.stateless_uniform([n_features], seed=tf.random.experimental.stateless_fold_in(seed, 1))
        return tf.sort(tf.math.top_k(keys, k=feature_batch_size).indices)

    def expected_output(self, z, condition, library_size):
        """The likelihood's mean at latent points ``z``, the loadings at their posterior mean."""
        v_mean, _ = self.network.encode_features()
        params = self.output_params(z, self.network.decode_features(v_mean), condition)
        return self.likelihood.mean(params, library_size)

    def class_logits(self, z_mean):
        """Logits of the classification head at latent means."""
        return self.network.classifier(z_mean)

    # ---------------------------------------------------------------- loss
    def forward(
        self, x, condition, labels, seed, weights: LossWeights, phase: str = "joint", feature_batch_size=None
    ) -> Forward:
        """One stochastic forward pass of the training ``phase``: what the phase's terms read.

        Takes the arguments of :meth:`loss`. The feature-wise VAE encodes the
        drawn features (all of them in the ``"sample"`` phase) and ``W`` is
        decoded at ``v = v_mean + feature_noise * v_std * eps``. In the
        ``"feature"`` phase that is all (the target is the free last weight
        matrix); otherwise the rows are encoded, ``z`` drawn and decoded with
        ``W`` (the free matrix in the ``"sample"`` phase).
        """
        network = self.network
        features = None if phase == "sample" else self.draw_features(seed, feature_batch_size)
        feature_scale = None if features is None else network.config.n_features / feature_batch_size
        v_mean, v_std = network.encode_features(features)
        eps_v = tf.random.stateless_normal(tf.shape(v_mean), seed=tf.stack([seed[0], -seed[1] - 1]))
        v = v_mean + weights["feature_noise"] * v_std * eps_v  # where W is decoded: a posterior sample, or the mean
        common = dict(
            network=network,
            likelihood=self.likelihood,
            x=x,
            condition=self._condition(condition),
            labels=labels,
            features=features,
            feature_scale=feature_scale,
            v_mean=v_mean,
            v_std=v_std,
            v=v,
        )
        if phase == "feature":
            target = tf.stop_gradient(_rows(network.free_output_weights, features))
            return Forward(**common, w=network.decode_features(v), target=target)
        x_in, z_mean, z_std = self.encode(x)
        eps_z = tf.random.stateless_normal(tf.shape(z_mean), seed=seed)
        z = z_mean + z_std * eps_z
        w = network.free_output_weights if phase == "sample" else network.decode_features(v)
        params = self.output_params(z, w, condition, features)
        return Forward(**common, w=w, x_in=x_in, z_mean=z_mean, z_std=z_std, z=z, params=params)

    def loss(
        self, x, condition, labels, seed, weights: LossWeights, phase: str = "joint", feature_batch_size=None
    ) -> Loss:
        """One stochastic forward pass and the objective of the training ``phase``.

        Parameters
        ----------
        x : tf.Tensor of shape (n, G)
            Rows as the likelihood scores them (raw counts for count models).
        condition : tf.Tensor of shape (n, n_conditions)
            One-hot condition (width 0 for unconditional models).
        labels : tf.Tensor of shape (n,)
            Integer class of each row (read only with a classification head).
        seed : tf.Tensor of shape (2,)
            Seed of ``tf.random.stateless_normal``: the same seed gives the same
            noise, which makes a run reproducible without a global seed.
        weights : LossWeights
            Weights of the terms (``beta`` at its warmed-up value).
        phase : {"joint", "sample", "feature"}
            A key of :data:`~sivae_sklearn._engine.objective.PHASES`, which lists the
            phase's terms. ``"joint"``: the siVAE objective. The two pretraining
            phases of ``schedule="stepwise"`` train one VAE without the
            interpretability term: ``"sample"`` decodes with the free last weight
            matrix ``network.free_output_weights`` (no feature KL); ``"feature"``
            fits the feature decoder's ``w_f`` to the rows of that matrix (its
            squared error is the reconstruction term, one row per feature).
        feature_batch_size : int, optional
            Features drawn per step in the ``"joint"`` and ``"feature"``
            phases (see :mod:`~sivae_sklearn._engine.objective`); None: all of them.

        Returns
        -------
        Loss
        """
        if phase not in PHASES:
            raise ValueError(f"phase={phase!r} is not a training phase; expected one of {tuple(PHASES)}.")
        forward = self.forward(x, condition, labels, seed, weights, phase, feature_batch_size)
        return phase_loss(phase, forward, weights)

    # --------------------------------------------------- what the fit offers
    def elbo(self, x, condition, seed, n_draws):
        """Per-row evidence lower bound, in the network's precision.

        ``log p(x | z)`` is averaged over ``n_draws`` draws of ``z``; the noise of
        draw ``i`` is one vector shared by every row (seeded by ``seed + (0, i)``),
        so a row's score does not depend on the other rows. The loadings enter at
        their posterior mean.
        """
        dtype = self.network.dtype
        x = tf.cast(x, dtype)
        condition = tf.cast(condition, dtype)
        _, z_mean, z_std = self.encode(x)
        v_mean, _ = self.network.encode_features()
        w = self.network.decode_features(v_mean)
        library_size = self.likelihood.library_size(x)
        total = tf.zeros(tf.shape(x)[:1], dtype)
        for i in tf.range(n_draws):
            eps = tf.random.stateless_normal(tf.shape(z_mean)[1:], seed=seed + tf.stack([0, i]), dtype=dtype)
            total += self.reconstruction_nll(x, z_mean + z_std * eps, w, condition, library_size)
        nll = total / tf.cast(n_draws, dtype)
        return -(nll + kl_standard_normal(z_mean, z_std))

    def level_fits(self, x, condition):
        """``(x_in, [X_hat(0), ..., X_hat(L)])``: each decoder level's fit of the encoder's view.

        ``X_hat(l) = S(l) F(l)^T`` from the paired sample-side and feature-side
        activations at the posterior means; level 0 adds the interpretability
        term's bias (it is the linear map ``z V^T + b``), the last level the
        output bias and the likelihood's mean, read through the encoder input (so
        counts are compared as ``log1p(1e4 * frequency)``, not as raw logits).
        """
        network = self.network
        cond = self._condition(condition)
        x_in, z_mean, _ = self.encode(x)
        v_mean, _ = network.encode_features()
        pairs = network.decoder_levels(z_mean, v_mean, cond)
        fits = []
        last = len(pairs) - 1
        for level, (s, f) in enumerate(pairs):
            fit = tf.matmul(s, f, transpose_b=True)
            if level == 0:
                fit += network.linear_offset(cond)
            if level == last and last > 0:
                fit = self.likelihood.encoder_input.tensorflow(self.likelihood.mean(fit + network.output_bias, 1.0))
            fits.append(fit)
        return x_in, fits

    def latent_jacobian(self, z):
        """``d x_hat[c, f] / d z[c, d]`` for every row: shape (rows, G, K).

        ``x_hat`` is the likelihood's mean, or its natural parameter for the
        count likelihoods (whose mean also needs a library size); conditional
        models are differentiated at the all-zero condition.
        """
        network = self.network
        v_mean, _ = network.encode_features()
        w = network.decode_features(v_mean)
        condition = tf.zeros([tf.shape(z)[0], network.config.n_conditions])
        with tf.GradientTape() as tape:
            tape.watch(z)
            params = self.output_params(z, w, condition)
            out = params if self.likelihood.needs_library_size else self.likelihood.mean(params)
        return tape.batch_jacobian(out, z)
