"""The siVAE model: the forward pass and the loss, in one place.

:class:`SiVAEModel` joins the sub-networks of a
:class:`~sivae_sklearn._engine.network.SiVAENetwork` with a likelihood from
:mod:`~sivae_sklearn._engine.likelihoods`:

* **encode**: a row ``x_c`` is read through the likelihood's encoder input and
  encoded to ``q(z_c) = N(z_mean, z_std^2)``; every feature's reduced column to
  ``q(v_f)``;
* **decode**: ``y_c`` from ``z_c`` (and the condition), ``w_f`` from ``v_f``, and
  the likelihood's natural parameter ``x_hat[c, f] = y_c . w_f + b_f``: the feature
  decoder produces the last weight matrix of the sample decoder;
* **loss**: :meth:`SiVAEModel.loss` returns :class:`LossTerms`, the named terms of
  the objective, per row where they are per row; :meth:`LossTerms.objective`
  weighs them with :class:`LossWeights`.

Training, ``score_samples`` (:meth:`SiVAEModel.elbo`), feature awareness
(:meth:`SiVAEModel.level_fits`), the attribution baseline
(:meth:`SiVAEModel.latent_jacobian`) and ``predict_proba``
(:meth:`SiVAEModel.class_logits`) all run through this class. To change the
objective, change :class:`LossWeights`, :meth:`SiVAEModel.loss` and
:meth:`LossTerms.objective`; nothing else computes it.

The objective of one minibatch of ``n`` rows::

    mean_c nll(x_c | z_c, W)                        reconstruction
    + beta * (mean_c KL(q(z_c))                     kl_sample
              + feature_kl_weight * mean_f KL(q(v_f)))  kl_feature
    + interpretability_weight * mean_c sum_f (x_in[c, f] - z_c . v_f - b_f)^2
    + l2_penalty * ||sample-network kernels||^2
    + classifier_weight * mean_c cross-entropy(y_c, head(z_c))

where ``W`` is decoded from ``v_f = mean_f + feature_noise * std_f * eps``
(``feature_noise`` 1: a posterior sample; 0: the posterior mean), the
interpretability term reads the posterior means ``z_c`` and ``v_f``, and with
``interpretability_moves_embedding=False`` its gradient stops at ``z_c`` (it
fits the loadings to the embedding without pulling the embedding). The
feature KL weight ``n_features / n_train`` (``feature_kl_weight="elbo"``)
makes the first three lines the negative ELBO of the whole matrix per sample;
``docs/design.md`` derives it.

With ``feature_batch_size=F`` (fewer than the G features), each step draws F
features at random and only they pass through the feature-wise VAE and are
reconstructed; the per-row sums over features (reconstruction,
interpretability) are scaled by ``G / F`` so that they estimate the full sums
without bias, and ``KL(q(v))`` is averaged over the drawn features. The count
likelihoods then fit the drawn features' counts given their own total (the
multinomial conditional of Poisson counts), an approximation of the full
objective.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import tensorflow as tf

from .likelihoods import _sum_features, get_likelihood

PHASES = ("joint", "sample", "feature")


# ---------------------------------------------------------------- loss terms
def kl_standard_normal(mean, std):
    """KL(N(mean, std^2) || N(0, I)) summed over the latent axis, one per row."""
    var = tf.square(std)
    return 0.5 * _sum_features(var + tf.square(mean) - 1.0 - tf.math.log(var))


def interpretability_term(x, z_mean, v_mean, linear_bias):
    """``sum_f (x_cf - z_c . v_f - b_f)^2`` per sample: the embedding must be
    linearly explained by the loadings."""
    linear = tf.matmul(z_mean, v_mean, transpose_b=True) + linear_bias
    return tf.reduce_sum(tf.square(x - linear), axis=1)


def l2_term(kernels):
    """Sum of squared kernel weights."""
    if not kernels:
        return tf.constant(0.0)
    return tf.add_n([tf.reduce_sum(tf.square(k)) for k in kernels])


ORIGINAL_OBJECTIVE = {
    "feature_kl_weight": "mean",
    "feature_noise": 1.0,
    "interpretability_weight": 0.05,
    "interpretability_moves_embedding": True,
}
"""The estimator parameters of the original siVAE's objective: ``SiVAE(**ORIGINAL_OBJECTIVE)`` fits it
(the feature KL averaged over features with weight 1, ``W`` from a posterior sample, the interpretability
term moving the embedding). Model files that do not name these parameters were trained with it."""

FEATURE_KL_WEIGHTS = ("mean", "elbo")
"""The named settings of ``feature_kl_weight`` (a number is the third kind)."""


def feature_kl_multiplier(feature_kl_weight, n_features: int, n_train: int) -> float:
    """The multiplier of the feature KL averaged over features.

    ``"mean"``: 1 (the original siVAE); ``"elbo"``: ``n_features / n_train``,
    which turns ``mean_f KL(q(v_f))`` into ``sum_f KL(q(v_f)) / n_train``, the
    feature KL's share of the whole matrix's ELBO per sample; a number is
    used as it is.
    """
    if feature_kl_weight == "mean":
        return 1.0
    if feature_kl_weight == "elbo":
        return n_features / n_train
    return float(feature_kl_weight)


@dataclass(frozen=True)
class LossWeights:
    """Weights and switches of the objective; each field is the estimator parameter of that name.

    ``beta`` may be a tensor: the training loop passes the warmed-up value of
    each step. ``feature_kl_weight`` is the resolved multiplier of the feature
    KL (see :func:`feature_kl_multiplier`), ``feature_noise`` the scale of the
    posterior noise on ``v`` where ``W`` is decoded, and
    ``interpretability_moves_embedding`` whether the interpretability term's
    gradient reaches ``z``.
    """

    beta: float
    interpretability_weight: float
    l2_penalty: float
    classifier_weight: float
    feature_kl_weight: float
    feature_noise: float
    interpretability_moves_embedding: bool

    @classmethod
    def from_params(cls, params, *, n_features: int, n_train: int) -> LossWeights:
        """The weights of ``SiVAE(**params)`` (e.g. ``SiVAE().get_params()``) fitted to ``n_train`` rows of
        ``n_features`` features."""
        numbers = ("beta", "interpretability_weight", "l2_penalty", "classifier_weight", "feature_noise")
        return cls(
            **{name: float(params[name]) for name in numbers},
            feature_kl_weight=feature_kl_multiplier(params["feature_kl_weight"], n_features, n_train),
            interpretability_moves_embedding=bool(params["interpretability_moves_embedding"]),
        )


@dataclass
class LossTerms:
    """The named terms of the objective for one minibatch.

    Per-row terms (shape ``[n_rows]``, one value per sample of the minibatch;
    in the ``"feature"`` pretraining phase the rows are the features):
    ``reconstruction``, ``kl_sample``, ``interpretability``, ``classification``.
    Model-level terms (scalars): ``kl_feature`` (mean over features) and ``l2``.
    """

    reconstruction: tf.Tensor
    kl_sample: tf.Tensor
    kl_feature: tf.Tensor
    interpretability: tf.Tensor
    l2: tf.Tensor
    classification: tf.Tensor

    @cached_property
    def means(self) -> dict[str, tf.Tensor]:
        """Every term as a scalar (per-row terms averaged over the rows), by name, for logging."""
        return {
            "reconstruction": tf.reduce_mean(self.reconstruction),
            "kl_sample": tf.reduce_mean(self.kl_sample),
            "kl_feature": self.kl_feature,
            "interpretability": tf.reduce_mean(self.interpretability),
            "l2": self.l2,
            "classification": tf.reduce_mean(self.classification),
        }

    def objective(self, weights: LossWeights, replica_share=None, n_replicas: int = 1) -> tf.Tensor:
        """The minimised total: the weighted sum of the term means.

        Under ``tf.distribute`` every replica minimises its part of the global
        batch's objective, and the parts sum to it: the per-row term means
        weighted by ``replica_share`` (this replica's rows over the global
        batch's rows; 0 for a replica without rows) and the model-level terms
        (``kl_feature``, ``l2``) divided by ``n_replicas``. Without a share this
        is the plain objective of one device.
        """
        m = self.means
        if replica_share is None:
            return (
                m["reconstruction"]
                + weights.beta * (m["kl_sample"] + weights.feature_kl_weight * m["kl_feature"])
                + weights.interpretability_weight * m["interpretability"]
                + weights.l2_penalty * m["l2"]
                + weights.classifier_weight * m["classification"]
            )

        def share(name):
            return tf.math.multiply_no_nan(m[name], replica_share)  # a replica without rows adds 0, not NaN

        return (
            share("reconstruction")
            + weights.beta * (share("kl_sample") + weights.feature_kl_weight * m["kl_feature"] / n_replicas)
            + weights.interpretability_weight * share("interpretability")
            + weights.l2_penalty * (m["l2"] / n_replicas)
            + weights.classifier_weight * share("classification")
        )


@dataclass
class Loss:
    """The objective of one minibatch (``total``) and the terms it was made of."""

    total: tf.Tensor
    terms: LossTerms

    def as_dict(self) -> dict[str, tf.Tensor]:
        """``{"loss": total, <term>: mean, ...}``: what the training history records."""
        return {"loss": self.total, **self.terms.means}


def _columns(t, features):
    """``t`` restricted to the columns (last axis) ``features``; all of ``t`` when None."""
    return t if features is None else tf.gather(t, features, axis=-1)


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
            ``"joint"``: the siVAE objective. The two pretraining phases of
            ``schedule="stepwise"`` train one VAE without the interpretability
            term: ``"sample"`` decodes with the free last weight matrix
            ``network.free_output_weights`` (no feature KL); ``"feature"`` fits
            the feature decoder's ``w_f`` to the rows of that matrix (its
            squared error is the reconstruction term, one row per feature).
        feature_batch_size : int, optional
            Features drawn per step in the ``"joint"`` and ``"feature"``
            phases (see the module docstring); None: all of them.

        Returns
        -------
        Loss
        """
        if phase not in PHASES:
            raise ValueError(f"phase={phase!r} is not a training phase; expected one of {PHASES}.")
        network = self.network
        if phase != "joint":
            weights = replace(weights, interpretability_weight=0.0)
        features = None if phase == "sample" else self.draw_features(seed, feature_batch_size)
        v_mean, v_std = network.encode_features(features)
        eps_v = tf.random.stateless_normal(tf.shape(v_mean), seed=tf.stack([seed[0], -seed[1] - 1]))
        v = v_mean + weights.feature_noise * v_std * eps_v  # where W is decoded: a posterior sample, or the mean
        kl_feature = tf.reduce_mean(kl_standard_normal(v_mean, v_std))
        if phase == "feature":
            target = tf.stop_gradient(_rows(network.free_output_weights, features))
            regression = tf.reduce_sum(tf.square(network.decode_features(v) - target), axis=1)
            zero = tf.zeros_like(regression)  # the sample network is not trained in this phase
            terms = LossTerms(
                reconstruction=regression,
                kl_sample=zero,
                kl_feature=kl_feature,
                interpretability=zero,
                l2=tf.constant(0.0),
                classification=zero,
            )
            return Loss(terms.objective(weights), terms)

        x_in, z_mean, z_std = self.encode(x)
        eps_z = tf.random.stateless_normal(tf.shape(z_mean), seed=seed)
        z = z_mean + z_std * eps_z
        if phase == "sample":
            w, kl_feature = network.free_output_weights, tf.constant(0.0)
        else:
            w = network.decode_features(v)
        kl_sample = kl_standard_normal(z_mean, z_std)
        if network.classifier is not None:
            classification = tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=self.class_logits(z_mean)
            )
        else:
            classification = tf.zeros_like(kl_sample)
        x_seen = _columns(x, features)
        reconstruction = self.reconstruction_nll(
            x_seen, z, w, condition, self.likelihood.library_size(x_seen), features
        )
        interpretability = interpretability_term(
            _columns(x_in, features),
            z_mean if weights.interpretability_moves_embedding else tf.stop_gradient(z_mean),
            v_mean,
            _columns(network.linear_offset(self._condition(condition)), features),
        )
        if features is not None:  # the drawn features' sums, scaled to estimate the sums over all features
            scale = network.config.n_features / feature_batch_size
            reconstruction, interpretability = scale * reconstruction, scale * interpretability
        terms = LossTerms(
            reconstruction=reconstruction,
            kl_sample=kl_sample,
            kl_feature=kl_feature,
            interpretability=interpretability,
            l2=l2_term(network.sample_network_kernels()),
            classification=classification,
        )
        return Loss(terms.objective(weights), terms)

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
