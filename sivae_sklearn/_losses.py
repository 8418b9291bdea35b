"""Loss terms of siVAE, each returned by name.

Pure TensorFlow functions on tensors: the likelihoods of the data given the
decoder output, the KL divergences of the two latent spaces, the
interpretability term that ties the embedding linearly to the loadings, and the
L2 weight penalty. :func:`sivae_loss` assembles them into a :class:`LossTerms`.

Every reconstruction term is a negative log-likelihood summed over features and
averaged over samples, so the numbers are on the scale of a per-sample ELBO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf

LIKELIHOODS = ("gaussian", "bernoulli", "poisson", "nb")
COUNT_LIKELIHOODS = ("poisson", "nb")
_LOG_2PI = math.log(2.0 * math.pi)


@dataclass
class LossTerms:
    """Named terms of the siVAE objective for one minibatch.

    ``total = reconstruction + beta * (kl_sample + kl_feature)
    + interpretability_weight * interpretability + l2_penalty * l2
    + classifier_weight * classification``
    """

    total: tf.Tensor
    reconstruction: tf.Tensor
    kl_sample: tf.Tensor
    kl_feature: tf.Tensor
    interpretability: tf.Tensor
    l2: tf.Tensor
    classification: tf.Tensor

    def as_dict(self) -> dict[str, tf.Tensor]:
        """Terms by name, for logging."""
        return {
            "loss": self.total,
            "reconstruction": self.reconstruction,
            "kl_sample": self.kl_sample,
            "kl_feature": self.kl_feature,
            "interpretability": self.interpretability,
            "l2": self.l2,
            "classification": self.classification,
        }


# ----------------------------------------------------------------- likelihoods
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


def reconstruction_nll(likelihood, x, params, log_scale, library_size=None):
    """Per-sample negative log-likelihood of ``x`` given the decoder output.

    Parameters
    ----------
    likelihood : {"gaussian", "bernoulli", "poisson", "nb"}
        Observation model.
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
    if likelihood == "gaussian":
        return gaussian_nll(x, params, log_scale)
    if likelihood == "bernoulli":
        return bernoulli_nll(x, params)
    if likelihood == "poisson":
        mean = count_mean(params, library_size)
        return poisson_nll(x, tf.math.log(mean + 1e-8))
    if likelihood == "nb":
        return negative_binomial_nll(x, count_mean(params, library_size), log_scale)
    raise ValueError(f"Unknown likelihood {likelihood!r}; expected one of {LIKELIHOODS}.")


def likelihood_mean(likelihood, params, library_size=None):
    """Expected value of the data under the likelihood given the decoder output."""
    if likelihood == "gaussian":
        return params
    if likelihood == "bernoulli":
        return tf.sigmoid(params)
    if likelihood in ("poisson", "nb"):
        return count_mean(params, library_size)
    raise ValueError(f"Unknown likelihood {likelihood!r}; expected one of {LIKELIHOODS}.")


# ------------------------------------------------------------------ other terms
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


def sivae_loss(
    *,
    likelihood: str,
    x_obs,
    x_in,
    params,
    log_scale,
    z_mean,
    z_std,
    v_mean,
    v_std,
    linear_bias,
    kernels,
    beta,
    interpretability_weight,
    l2_penalty,
    library_size=None,
    class_logits=None,
    labels=None,
    classifier_weight=0.0,
) -> LossTerms:
    """Assemble the siVAE objective for one minibatch.

    ``x_obs`` is what the likelihood scores (raw counts for count models),
    ``x_in`` is what the encoder and the interpretability term see (for counts,
    the log-normalised input). Sample terms are averaged over the minibatch,
    the feature KL over features.
    """
    recon = reconstruction_nll(likelihood, x_obs, params, log_scale, library_size)
    kl_z = kl_standard_normal(z_mean, z_std)
    interp = interpretability_term(x_in, z_mean, v_mean, linear_bias)
    recon_m, kl_z_m, interp_m = (tf.reduce_mean(t) for t in (recon, kl_z, interp))
    kl_v = tf.reduce_mean(kl_standard_normal(v_mean, v_std))
    l2 = l2_term(kernels)
    if class_logits is not None and labels is not None:
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=class_logits)
        classification = tf.reduce_mean(ce)
    else:
        classification = tf.constant(0.0)
    total = (
        recon_m
        + beta * (kl_z_m + kl_v)
        + interpretability_weight * interp_m
        + l2_penalty * l2
        + classifier_weight * classification
    )
    return LossTerms(
        total=total,
        reconstruction=recon_m,
        kl_sample=kl_z_m,
        kl_feature=kl_v,
        interpretability=interp_m,
        l2=l2,
        classification=classification,
    )
