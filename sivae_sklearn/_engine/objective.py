"""The objective of siVAE: its terms, the list of terms of each training phase, and their weighted sum.

Every term of the loss is one :class:`Term`: its name (the key of ``history_``), the
factors that weigh it (estimator parameters such as ``"beta"``, or fixed numbers),
whether it has one value per row, and the function that computes it from what the
forward pass produced (a :class:`Forward`). :data:`PHASES` lists the terms of each
training phase; :meth:`LossTerms.objective` sums them. Nothing else computes the loss:
to change it, or to add a term (a prior on the loadings, say), edit this module (and,
for a term weighed by a new estimator parameter, the estimator's parameters).

The objective of one minibatch of ``n`` rows in the ``"joint"`` phase::

    mean_c nll(x_c | z_c, W)                        reconstruction
    + beta * (mean_c KL(q(z_c))                     kl_sample
              + feature_kl_weight * mean_f KL(q(v_f)))  kl_feature
    + interpretability_weight * mean_c sum_f (x_in[c, f] - z_c . v_f - b_f)^2
    + l2_penalty * ||sample-network kernels||^2
    + classifier_weight * mean_c cross-entropy(y_c, head(z_c))
    + program_weight * (sum_f sum_k<P (1 - M_fk) v_fk^2    programs
        + program_embedding_weight * sum_k<P m_k var(s_k) (1 - corr(z_k, s_k)))

where ``W`` is decoded from ``v_f = mean_f + feature_noise * std_f * eps``
(``feature_noise`` 1: a posterior sample; 0: the posterior mean), the
interpretability term reads the posterior means ``z_c`` and ``v_f``, and with
``interpretability_moves_embedding=False`` its gradient stops at ``z_c`` (it
fits the loadings to the embedding without pulling the embedding). The
feature KL weight ``n_features / n_train`` (``feature_kl_weight="elbo"``)
makes the first three lines the negative ELBO of the whole matrix per sample;
``docs/design.md`` derives it. The pretraining phases of
``schedule="stepwise"`` have their own lists: ``"sample"`` decodes with the
free last weight matrix and leaves out the feature KL (it records the
interpretability term without minimising it); ``"feature"`` regresses that
matrix with the feature VAE. The programs term exists only with
``feature_programs``: ``M`` is the ``(G, P)`` membership mask of the ``P``
programs, which own the first ``P`` dimensions (``docs/design.md``); its
second line, the embedding coupling (:func:`program_coupling`), pulls each
program's dimension of ``z`` towards its ``m_k`` members' mean standardised
value ``s_k`` in the minibatch (the only part of the programs term whose
gradient reaches ``z``). ``program_mask`` and ``program_embedding_weight``
reach :class:`LossWeights` with ``feature_programs`` only.

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

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import tensorflow as tf

from .likelihoods import _sum_features


# ------------------------------------------------------- the terms' formulas
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


# ------------------------------------------------- the objective's parameters
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

FORWARD_PARAMETERS = ("feature_noise",)
"""Estimator parameters the forward pass reads (the scale of the noise on ``v`` where ``W`` is decoded)."""


def feature_kl_multiplier(feature_kl_weight, n_features: int, n_train: int) -> float:
    """The multiplier of the feature KL averaged over features.

    ``"mean"``: 1 (the original siVAE); ``"elbo"``: ``n_features / n_train``,
    which turns ``mean_f KL(q(v_f))`` into ``sum_f KL(q(v_f)) / n_train``, the
    feature KL's share of the whole matrix's ELBO per sample; a number is
    used as it is.

    Examples
    --------
    >>> feature_kl_multiplier("mean", 64, 1000), feature_kl_multiplier("elbo", 64, 1000)
    (1.0, 0.064)
    """
    if feature_kl_weight == "mean":
        return 1.0
    if feature_kl_weight == "elbo":
        return n_features / n_train
    return float(feature_kl_weight)


def _read_parameter(params, name: str, n_features: int, n_train: int):
    """The value the objective uses for the estimator parameter ``name``."""
    value = params[name]
    if name == "feature_kl_weight":
        return feature_kl_multiplier(value, n_features, n_train)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return float(value)


# ------------------------------------------------------------- what terms read
def _columns(t, features):
    """``t`` restricted to the columns (last axis) ``features``; all of ``t`` when None."""
    return t if features is None else tf.gather(t, features, axis=-1)


@dataclass(frozen=True)
class Forward:
    """What one stochastic forward pass produced: everything a term reads.

    Built by :meth:`SiVAEModel.forward <sivae_sklearn._engine.model.SiVAEModel.forward>`.
    The sample side (``x_in`` to ``params``) is None in the ``"feature"``
    phase, and ``target`` is set there only.

    Attributes
    ----------
    network : SiVAENetwork
        The weights (for the terms that read them directly, such as the L2 penalty).
    likelihood : Likelihood
        The observation model.
    x, labels : tf.Tensor
        The minibatch's rows (all features) and their integer classes.
    condition : tf.Tensor or None
        The one-hot condition the decoder reads; None for unconditional models.
    features : tf.Tensor or None
        Indices of the features drawn this step; None when every feature is used.
    feature_scale : float or None
        ``G / F``, the number of features over the number drawn (None when every feature is used).
    v_mean, v_std, v : tf.Tensor
        The drawn features' posterior ``q(v_f)`` and the point where ``W`` is decoded.
    w : tf.Tensor
        The last weight matrix of the sample decoder (decoded from ``v``, or the
        free matrix in the ``"sample"`` phase).
    x_in, z_mean, z_std, z : tf.Tensor or None
        The encoder's view of the rows, ``q(z_c)`` and a sample of it.
    params : tf.Tensor or None
        The likelihood's natural parameter of the drawn features' columns.
    target : tf.Tensor or None
        The free matrix's rows of the drawn features (``"feature"`` phase), without gradient.
    """

    network: Any
    likelihood: Any
    x: tf.Tensor
    condition: tf.Tensor | None
    labels: tf.Tensor
    features: tf.Tensor | None
    feature_scale: float | None
    v_mean: tf.Tensor
    v_std: tf.Tensor
    v: tf.Tensor
    w: tf.Tensor
    x_in: tf.Tensor | None = None
    z_mean: tf.Tensor | None = None
    z_std: tf.Tensor | None = None
    z: tf.Tensor | None = None
    params: tf.Tensor | None = None
    target: tf.Tensor | None = None

    def columns(self, t):
        """``t`` restricted to the drawn features' columns (all of ``t`` when every feature is used)."""
        return _columns(t, self.features)

    def full_sum(self, per_row_sum):
        """A per-row sum over the drawn features, scaled by ``G / F`` to estimate the sum over all ``G``."""
        return per_row_sum if self.features is None else self.feature_scale * per_row_sum


# ------------------------------------------------------------------- the terms
@dataclass(frozen=True)
class Term:
    """One term of the objective.

    Parameters
    ----------
    name : str
        The term's name: its key in :class:`LossTerms` and in ``history_``.
    compute : callable
        ``compute(forward, weights)`` returns the term's value from a
        :class:`Forward` and the :class:`LossWeights` (for switches such as
        ``interpretability_moves_embedding``), or None where the model has no
        such term (a classification term without a classifier head).
    weight : tuple of str or float, or None, default=()
        The factors that multiply the term, outermost first: estimator
        parameters (read from :class:`LossWeights`) or fixed numbers; ``()``
        for none. Consecutive terms of a phase that share their first factor
        are summed before it multiplies, so ``("beta",)`` then ``("beta",
        "feature_kl_weight")`` is ``beta * (a + feature_kl_weight * b)``.
        None: the term is computed and recorded but not minimised.
    per_row : bool, default=True
        One value per row of the minibatch (averaged over the rows, and
        weighted by a replica's share of the rows under ``tf.distribute``),
        or one value for the model (divided among the replicas).
    reads : tuple of str, default=()
        Other estimator parameters that ``compute`` reads from the weights.

    Examples
    --------
    A term on the loadings, weighed by a fixed number, added to the joint phase
    (for as long as ``PHASES`` holds it):

    >>> import tensorflow as tf
    >>> loadings_norm = Term(
    ...     "loadings_norm", lambda forward, weights: tf.reduce_sum(tf.square(forward.v_mean)),
    ...     weight=(1e-3,), per_row=False)
    >>> joint = (*PHASES["joint"], loadings_norm)
    >>> [term.name for term in joint]  # doctest: +NORMALIZE_WHITESPACE
    ['reconstruction', 'kl_sample', 'kl_feature', 'interpretability', 'l2', 'classification', 'programs',
     'loadings_norm']
    """

    name: str
    compute: Callable[[Forward, LossWeights], tf.Tensor | None] = field(repr=False)
    weight: tuple[str | float, ...] | None = ()
    per_row: bool = True
    reads: tuple[str, ...] = ()

    @property
    def parameters(self) -> tuple[str, ...]:
        """The estimator parameters the term reads: the weight's named factors and ``reads``."""
        named = tuple(f for f in self.weight or () if isinstance(f, str))
        return (*named, *self.reads)

    def recorded_only(self) -> Term:
        """The same term, computed and recorded but not minimised."""
        return replace(self, weight=None)


def _reconstruction(f: Forward, weights):
    x = f.columns(f.x)
    nll = f.likelihood.nll(x, f.params, f.columns(f.network.log_scale), f.likelihood.library_size(x))
    return f.full_sum(nll)


def _weight_regression(f: Forward, weights):
    return tf.reduce_sum(tf.square(f.w - f.target), axis=1)


def _kl_sample(f: Forward, weights):
    return kl_standard_normal(f.z_mean, f.z_std)


def _kl_feature(f: Forward, weights):
    return tf.reduce_mean(kl_standard_normal(f.v_mean, f.v_std))


def _interpretability(f: Forward, weights):
    x_in = f.columns(f.x_in)
    z_mean = f.z_mean if weights["interpretability_moves_embedding"] else tf.stop_gradient(f.z_mean)
    linear_offset = f.columns(f.network.linear_offset(f.condition))
    return f.full_sum(interpretability_term(x_in, z_mean, f.v_mean, linear_offset))


PROGRAM_FORMS = ("non_members", "two_sided")
"""The forms of the programs term that ``docs/design.md`` measured: ``"non_members"`` (the soft mask, the one
used) penalises non-members' loadings on program dimensions; ``"two_sided"`` also penalises members'
loadings on the dimensions of programs and free dimensions they do not belong to."""
PROGRAM_FORM = "non_members"


def program_coupling(x_in, z_mean, mask):
    """The embedding coupling of the programs on one minibatch: ``sum_k m_k var(s_k) (1 - corr(z_k, s_k))``.

    ``s_k`` is the mean of program ``k``'s ``m_k`` members, each standardised
    within the minibatch, and ``z_k`` the posterior means on the program's
    dimension; ``m_k var(s_k)`` is the members' summed correlation over
    ``m_k`` (``1 + (m_k - 1)`` times their mean pairwise correlation): the
    variance they share, in units of one feature, so that a program of
    independent features pulls with the weight of about one feature and a
    coherent one with up to ``m_k``. ``1 - corr`` orients the dimension (high
    where the members are high). The gradient reaches ``z_k`` only: the data
    side is a constant.

    Parameters
    ----------
    x_in : tf.Tensor of shape (n, G)
        The encoder's view of the rows.
    z_mean : tf.Tensor of shape (n, K)
        The posterior means; the first ``P`` columns are the programs'.
    mask : ndarray of shape (G, P)
        The membership mask.

    Returns
    -------
    tf.Tensor
        A scalar.

    Examples
    --------
    >>> import numpy as np
    >>> x = tf.constant(np.random.RandomState(0).normal(size=(64, 3)), tf.float32)
    >>> mask = np.array([[1.0], [1.0], [0.0]], np.float32)
    >>> z = tf.reduce_mean(x[:, :2], axis=1, keepdims=True)  # z follows the members' mean
    >>> round(float(program_coupling(x, z, mask)), 2)
    0.0
    >>> round(float(program_coupling(x, -z, mask)), 1)  # the opposite orientation: 2 m var(s), m var(s) ~ 1 here
    1.9
    """
    mask = np.asarray(mask, np.float32)
    members = np.flatnonzero(mask.any(axis=1))
    sub = mask[members]
    x = tf.gather(tf.cast(x_in, z_mean.dtype), members, axis=1)
    x = x - tf.reduce_mean(x, axis=0, keepdims=True)
    x = x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=0, keepdims=True) + 1e-8)
    sizes = sub.sum(axis=0)
    s = tf.matmul(x, tf.constant(sub / sizes, z_mean.dtype))  # (n, P): the members' mean
    z = z_mean[:, : sub.shape[1]]
    z = z - tf.reduce_mean(z, axis=0, keepdims=True)
    var_s = tf.reduce_mean(tf.square(s), axis=0)
    var_z = tf.reduce_mean(tf.square(z), axis=0)
    corr = tf.reduce_mean(s * z, axis=0) * tf.math.rsqrt(var_s * var_z + 1e-12)
    return tf.reduce_sum(tf.constant(sizes, z_mean.dtype) * tf.stop_gradient(var_s) * (1.0 - corr))


def _programs(f: Forward, weights):
    mask = weights.get("program_mask")
    if mask is None:
        return None
    coupling_weight = float(weights.get("program_embedding_weight", 0.0))
    full_mask = mask
    mask = tf.constant(mask, dtype=f.v_mean.dtype)
    if f.features is not None:
        mask = tf.gather(mask, f.features)
    n_programs = mask.shape[1]
    program_v = f.v_mean[:, :n_programs]
    penalty = tf.reduce_sum((1.0 - mask) * tf.square(program_v), axis=1)
    if PROGRAM_FORM == "two_sided":
        member = tf.reduce_max(mask, axis=1, keepdims=True)
        penalty += tf.reduce_sum(member * tf.square(f.v_mean[:, n_programs:]), axis=1)
    value = f.full_sum(tf.reduce_sum(penalty))
    if coupling_weight and f.z_mean is not None:
        value += coupling_weight * program_coupling(f.x_in, f.z_mean, full_mask)
    return value


def _l2(f: Forward, weights):
    return l2_term(f.network.sample_network_kernels())


def _classification(f: Forward, weights):
    if f.network.classifier is None:
        return None
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=f.labels, logits=f.network.classifier(f.z_mean))


RECONSTRUCTION = Term("reconstruction", _reconstruction)
"""``-log p(x_c | z_c, W)`` of each row (over the drawn features, scaled to all of them)."""
KL_SAMPLE = Term("kl_sample", _kl_sample, weight=("beta",))
"""``KL(q(z_c) || N(0, I))`` of each row."""
KL_FEATURE = Term("kl_feature", _kl_feature, weight=("beta", "feature_kl_weight"), per_row=False)
"""``KL(q(v_f) || N(0, I))`` averaged over the (drawn) features."""
INTERPRETABILITY = Term(
    "interpretability",
    _interpretability,
    weight=("interpretability_weight",),
    reads=("interpretability_moves_embedding",),
)
"""``sum_f (x_in[c, f] - z_c . v_f - b_f)^2`` of each row, at the posterior means."""
PROGRAMS = Term("programs", _programs, weight=("program_weight",), per_row=False)
"""``sum_f sum_k (1 - M_fk) v_fk^2`` over the program dimensions ``k`` (models with ``feature_programs`` only):
the soft mask that keeps non-members' loadings off a program's dimension; plus, with ``program_embedding_weight``,
that times :func:`program_coupling` (sample side: the program dimensions of ``z`` follow their members)."""
L2 = Term("l2", _l2, weight=("l2_penalty",), per_row=False)
"""The squared kernels of the sample encoder and decoder."""
CLASSIFICATION = Term("classification", _classification, weight=("classifier_weight",))
"""The classification head's cross-entropy of each row (models with a head only)."""
WEIGHT_REGRESSION = Term("reconstruction", _weight_regression)
"""``||w_f - free_output_weights_f||^2`` of each (drawn) feature: the ``"feature"`` phase's reconstruction."""

PHASES: dict[str, tuple[Term, ...]] = {
    "joint": (RECONSTRUCTION, KL_SAMPLE, KL_FEATURE, INTERPRETABILITY, L2, CLASSIFICATION, PROGRAMS),
    "sample": (RECONSTRUCTION, KL_SAMPLE, INTERPRETABILITY.recorded_only(), L2, CLASSIFICATION),
    "feature": (WEIGHT_REGRESSION, KL_FEATURE, PROGRAMS),
}
"""The terms of each training phase, in the order they are computed and summed.

``"joint"`` is the siVAE objective. The two pretraining phases of
``schedule="stepwise"`` train one VAE without the interpretability term:
``"sample"`` decodes with the free last weight matrix (no feature KL);
``"feature"`` fits the feature decoder's ``w_f`` to the rows of that matrix
(its squared error is the reconstruction term, one row per feature). A term
is added by adding it to the phases that minimise it."""


def term_names() -> tuple[str, ...]:
    """Every term name of :data:`PHASES`, in order: the per-epoch series of ``history_`` besides ``"loss"``.

    Examples
    --------
    >>> term_names()
    ('reconstruction', 'kl_sample', 'kl_feature', 'interpretability', 'l2', 'classification', 'programs')
    """
    return tuple(dict.fromkeys(term.name for terms in PHASES.values() for term in terms))


def objective_parameters() -> tuple[str, ...]:
    """The estimator parameters the objective reads: the forward pass's and those of every term of :data:`PHASES`.

    Examples
    --------
    >>> objective_parameters()  # doctest: +NORMALIZE_WHITESPACE
    ('feature_noise', 'beta', 'feature_kl_weight', 'interpretability_weight',
     'interpretability_moves_embedding', 'l2_penalty', 'classifier_weight', 'program_weight')
    """
    names = (name for terms in PHASES.values() for term in terms for name in term.parameters)
    return tuple(dict.fromkeys((*FORWARD_PARAMETERS, *names)))


# --------------------------------------------------------------- the weights
class LossWeights(Mapping):
    """The estimator parameters the objective reads, by name: the terms' weights and switches.

    ``beta`` may be a tensor: the training loop passes the warmed-up value of
    each step. ``feature_kl_weight`` is the resolved multiplier of the feature
    KL (see :func:`feature_kl_multiplier`), ``feature_noise`` the scale of the
    posterior noise on ``v`` where ``W`` is decoded, and
    ``interpretability_moves_embedding`` whether the interpretability term's
    gradient reaches ``z``.

    Examples
    --------
    >>> weights = LossWeights(beta=1.0, l2_penalty=0.0)
    >>> weights["beta"], weights.replace(beta=0.5)["beta"]
    (1.0, 0.5)
    """

    def __init__(self, values: Mapping[str, Any] = (), **named):
        self._values = {**dict(values), **named}

    def __getitem__(self, name: str):
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(f"The objective reads no parameter {name!r}; it reads {tuple(self._values)}.") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"LossWeights({self._values!r})"

    def replace(self, **changes) -> LossWeights:
        """A copy with ``changes``."""
        return LossWeights({**self._values, **changes})

    @classmethod
    def from_params(cls, params, *, n_features: int, n_train: int) -> LossWeights:
        """The weights of ``SiVAE(**params)`` (e.g. ``SiVAE().get_params()``) fitted to ``n_train`` rows of
        ``n_features`` features: every parameter of :func:`objective_parameters`."""
        return cls({name: _read_parameter(params, name, n_features, n_train) for name in objective_parameters()})


# ----------------------------------------------------------------- the terms' values
def _weighted_sum(parts, weights):
    """``parts`` (``(factors, value)`` pairs) summed in order, each times its factors, outermost first;
    consecutive parts that share their first factor are summed before it multiplies."""
    total, i = None, 0
    while i < len(parts):
        factors, value = parts[i]
        if factors:
            j = i + 1
            while j < len(parts) and parts[j][0][:1] == factors[:1]:
                j += 1
            inner = _weighted_sum([(f[1:], v) for f, v in parts[i:j]], weights)
            head = factors[0]
            part = (weights[head] if isinstance(head, str) else head) * inner
            i = j
        else:
            part, i = value, i + 1
        total = part if total is None else total + part
    return total


class LossTerms(Mapping):
    """The named terms of the objective for one minibatch: ``name -> value``.

    Per-row terms have shape ``[n_rows]``, one value per sample of the
    minibatch (in the ``"feature"`` pretraining phase the rows are the
    features); model-level terms are scalars. A term that the phase does not
    have, or the model does not have (no classifier head), is absent.

    Parameters
    ----------
    terms : sequence of Term
        The phase's terms that were computed, in order.
    values : mapping of str to tf.Tensor
        Each term's value, by name.
    """

    def __init__(self, terms: Sequence[Term], values: Mapping[str, tf.Tensor]):
        self.terms = tuple(terms)
        names = [term.name for term in self.terms]
        if len(set(names)) < len(names) or set(names) != set(values):
            raise ValueError(
                f"Each term needs one value and a name of its own; got terms {names}, values {list(values)}."
            )
        self._values = dict(values)

    def __getitem__(self, name: str) -> tf.Tensor:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(term.name for term in self.terms)

    def __len__(self) -> int:
        return len(self.terms)

    @cached_property
    def means(self) -> dict[str, tf.Tensor]:
        """Every term as a scalar (per-row terms averaged over the rows), by name, for logging."""
        return {t.name: tf.reduce_mean(self[t.name]) if t.per_row else self[t.name] for t in self.terms}

    def objective(self, weights: LossWeights, replica_share=None, n_replicas: int = 1) -> tf.Tensor:
        """The minimised total: the weighted sum of the term means (see :class:`Term` for the weights).

        Under ``tf.distribute`` every replica minimises its part of the global
        batch's objective, and the parts sum to it: the per-row term means
        weighted by ``replica_share`` (this replica's rows over the global
        batch's rows; 0 for a replica without rows) and the model-level terms
        divided by ``n_replicas``. Without a share this is the plain objective
        of one device.
        """
        m = self.means

        def part(term):
            if replica_share is None:
                return m[term.name]
            if term.per_row:
                return tf.math.multiply_no_nan(m[term.name], replica_share)  # a replica without rows adds 0, not NaN
            return m[term.name] / n_replicas

        total = _weighted_sum([(t.weight, part(t)) for t in self.terms if t.weight is not None], weights)
        return tf.constant(0.0) if total is None else total


@dataclass
class Loss:
    """The objective of one minibatch (``total``) and the terms it was made of."""

    total: tf.Tensor
    terms: LossTerms

    def as_dict(self) -> dict[str, tf.Tensor]:
        """``{"loss": total, <term>: mean, ...}``: what the training history records."""
        return {"loss": self.total, **self.terms.means}


def phase_loss(phase: str, forward: Forward, weights: LossWeights) -> Loss:
    """The terms of ``phase`` (a key of :data:`PHASES`) computed from ``forward``, and their objective."""
    computed = [(term, term.compute(forward, weights)) for term in PHASES[phase]]
    computed = [(term, value) for term, value in computed if value is not None]
    terms = LossTerms([term for term, _ in computed], {term.name: value for term, value in computed})
    return Loss(terms.objective(weights), terms)
