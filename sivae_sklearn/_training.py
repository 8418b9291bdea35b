"""The training loop: minibatches, a compiled train step, early stopping.

Knows nothing of scikit-learn. :func:`train` takes a built
:class:`~sivae_sklearn._network.SiVAENetwork`, training (and optional
validation) data as dense arrays or CSR matrices, and a :class:`TrainingConfig`;
it updates the network in place and returns a :class:`TrainingResult`.

Follow one minibatch: :func:`iter_minibatches` slices rows (densifying only
those rows if the input is sparse) -> the compiled ``train_step`` seeds the
reparameterisation noise with ``(seed, step)`` -> :meth:`SiVAEModel.loss
<sivae_sklearn._model.SiVAEModel.loss>` runs the forward pass and returns the
objective with its named terms -> gradients go to a small Adam optimiser owned
by this run (no Keras global state is touched).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from ._data import RowSubset
from ._errors import TrainingDivergedError
from ._model import LossWeights, SiVAEModel
from ._progress import TrainingProgress

SCHEDULES = ("joint", "stepwise")


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters of one training run, built from the estimator's parameters.

    Every field but ``loss_weights`` and ``jit_compile`` is the
    :class:`~sivae_sklearn.SiVAE` parameter of that name (see its docstring);
    :meth:`from_params` is the only way the package builds one, so the defaults
    live in ``SiVAE.__init__`` alone.
    """

    likelihood: str
    loss_weights: LossWeights
    kl_warmup_steps: int
    learning_rate: float
    batch_size: int
    max_epochs: int
    early_stopping: bool
    schedule: str
    pretrain_epochs: int
    n_iter_no_change: int
    tol: float
    verbose: int
    jit_compile: bool
    """Compile the train step with XLA (measured in ``benchmarks/run.py --only efficiency``; off in ``fit``)."""

    @classmethod
    def from_params(cls, params, n_train: int, *, jit_compile: bool = False) -> TrainingConfig:
        """The configuration for ``SiVAE(**params)`` on ``n_train`` training rows (the batch is capped by them)."""
        return cls(
            likelihood=params["likelihood"],
            loss_weights=LossWeights.from_params(params),
            kl_warmup_steps=int(params["kl_warmup_steps"]),
            learning_rate=float(params["learning_rate"]),
            batch_size=int(min(params["batch_size"], n_train)),
            max_epochs=int(params["max_epochs"]),
            early_stopping=bool(params["early_stopping"]),
            schedule=params["schedule"],
            pretrain_epochs=int(params["pretrain_epochs"]),
            n_iter_no_change=int(params["n_iter_no_change"]),
            tol=float(params["tol"]),
            verbose=int(params["verbose"]),
            jit_compile=bool(jit_compile),
        )

    @property
    def beta(self) -> float:
        """Target weight of the KL terms (reached after the warm-up)."""
        return self.loss_weights.beta


@dataclass
class TrainingResult:
    """What a run produced besides the updated weights."""

    history: dict[str, list[float]] = field(default_factory=dict)
    n_iter: int = 0
    n_steps: int = 0
    best_epoch: int = 0
    stopped_early: bool = False
    epoch_seconds: list[float] = field(default_factory=list)
    """Wall-clock seconds of each epoch (the benchmarks' per-epoch cost)."""


@dataclass
class Batch:
    """Rows of one minibatch, as float32 / int32 arrays."""

    x: np.ndarray
    condition: np.ndarray
    labels: np.ndarray


class TrainingData:
    """Training rows with their optional per-row condition and label.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        Data as the likelihood scores it (float32 or sparse).
    condition : ndarray of shape (n_samples, n_conditions), optional
        One-hot condition per row.
    labels : ndarray of shape (n_samples,), optional
        Integer class per row, for the classifier head.
    """

    def __init__(self, X, condition=None, labels=None):
        self.X = X
        n = X.shape[0]
        self.condition = np.zeros((n, 0), np.float32) if condition is None else np.asarray(condition, np.float32)
        self.labels = np.zeros(n, np.int32) if labels is None else np.asarray(labels, np.int32)

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    def rows(self, idx: np.ndarray) -> Batch:
        """Densify just these rows."""
        xb = self.X[idx]
        xb = xb.toarray() if sp.issparse(xb) else xb
        return Batch(np.asarray(xb, np.float32), self.condition[idx], self.labels[idx])


def iter_minibatches(data: TrainingData, batch_size: int, rng: np.random.RandomState | None):
    """Yield :class:`Batch` objects covering every row once.

    Rows are shuffled with ``rng`` (or kept in order if ``rng`` is None). A final
    batch smaller than ``batch_size`` is kept.
    """
    n = data.n_samples
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        if rng is not None:
            idx = np.sort(idx)  # cheaper row slicing of CSR; order inside a batch is irrelevant
        yield data.rows(idx)


class Adam:
    """Adam optimiser with its own slot variables (no Keras objects)."""

    def __init__(self, variables, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.variables = list(variables)
        self.learning_rate = float(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.m = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]
        self.v = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]
        self.iterations = tf.Variable(0.0, trainable=False)

    def apply(self, grads):
        self.iterations.assign_add(1.0)
        t = self.iterations
        correction1 = 1.0 - tf.pow(self.beta_1, t)
        correction2 = 1.0 - tf.pow(self.beta_2, t)
        for g, var, m, v in zip(grads, self.variables, self.m, self.v):
            if g is None:
                continue
            m.assign(self.beta_1 * m + (1.0 - self.beta_1) * g)
            v.assign(self.beta_2 * v + (1.0 - self.beta_2) * tf.square(g))
            update = (m / correction1) / (tf.sqrt(v / correction2) + self.epsilon)
            var.assign_sub(self.learning_rate * update)


def _signature(network):
    g = network.config.n_features
    c = network.config.n_conditions
    return [
        tf.TensorSpec([None, g], tf.float32),
        tf.TensorSpec([None, c], tf.float32),
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([], tf.float32),
        tf.TensorSpec([2], tf.int32),
    ]


def make_steps(network, config: TrainingConfig, phase: str = "joint"):
    """Build the compiled train and evaluation steps of one phase, with a fresh Adam.

    Both take ``(x, condition, labels, beta, seed)`` and return the terms of
    :meth:`Loss.as_dict <sivae_sklearn._model.Loss.as_dict>`; ``beta`` is the
    KL weight of this step.
    """
    model = SiVAEModel(network, config.likelihood)
    variables = network.trainable_variables
    optimizer = Adam(variables, config.learning_rate)

    def loss(x, condition, labels, beta, seed):
        weights = replace(config.loss_weights, beta=beta)
        return model.loss(x, condition, labels, seed, weights, phase)

    @tf.function(input_signature=_signature(network), reduce_retracing=True, jit_compile=config.jit_compile)
    def train_step(x, condition, labels, beta, seed):
        with tf.GradientTape() as tape:
            result = loss(x, condition, labels, beta, seed)
        optimizer.apply(tape.gradient(result.total, variables))
        return result.as_dict()

    @tf.function(input_signature=_signature(network), reduce_retracing=True)
    def eval_step(x, condition, labels, beta, seed):
        return loss(x, condition, labels, beta, seed).as_dict()

    return train_step, eval_step


def beta_at(step: int, config: TrainingConfig) -> float:
    """The KL weight at training ``step``: linear from 0 to ``beta`` over ``kl_warmup_steps``."""
    if config.kl_warmup_steps <= 0:
        return config.beta
    return config.beta * min(1.0, step / config.kl_warmup_steps)


def evaluate(eval_step, data: TrainingData, config: TrainingConfig, seed: int) -> dict[str, float]:
    """Mean of every term over ``data`` at the full KL weight (fixed noise seeds, so repeatable)."""
    sums: dict[str, float] = {}
    for i, batch in enumerate(iter_minibatches(data, max(config.batch_size, 1024), None)):
        out = eval_step(
            batch.x,
            batch.condition,
            batch.labels,
            np.float32(config.beta),
            np.array([seed, -(10**6) - i], np.int32),
        )
        n = batch.x.shape[0]
        for k, val in out.items():
            sums[k] = sums.get(k, 0.0) + float(val) * n
    return {k: v / data.n_samples for k, v in sums.items()}


def _check_finite(terms: dict[str, float], epoch: int, step: int, config: TrainingConfig, x_scale: float):
    bad = [k for k, v in terms.items() if not np.isfinite(v)]
    if bad:
        raise TrainingDivergedError(
            f"Training diverged at epoch {epoch}, step {step}: the {', '.join(bad)} term(s) "
            f"became NaN or infinite. Likely causes: the learning rate is too high "
            f"(learning_rate={config.learning_rate:g}; try 10x lower) or the data are not "
            f"scaled (largest absolute input value {x_scale:.3g}; standardise features, e.g. "
            f"with sklearn.preprocessing.StandardScaler, or use likelihood='bernoulli' for "
            f"data in [0, 1])."
        )


def _max_abs(X) -> float:
    """Largest absolute value, without a full-size temporary."""
    if isinstance(X, RowSubset):
        X = X.base  # the whole matrix: a bound for the training rows
    values = X.data if sp.issparse(X) else X
    if values.size == 0:
        return 0.0
    return float(max(values.max(), -values.min()))


def train(
    network,
    train_data: TrainingData,
    val_data: TrainingData | None,
    config: TrainingConfig,
    seed: int,
) -> TrainingResult:
    """Fit ``network`` in place and return the per-epoch history.

    The objective is :meth:`SiVAEModel.loss <sivae_sklearn._model.SiVAEModel.loss>`:
    the mean over samples of the negative ELBO plus the interpretability, L2
    and classification terms. ``beta`` rises linearly over the first
    ``kl_warmup_steps`` steps of the whole run (whatever the schedule, so it
    never stays at 0). With ``schedule="stepwise"`` the sample VAE (free last
    weight matrix) and then the feature VAE (regressing that matrix) are
    pretrained for ``pretrain_epochs`` each before the joint phase, each phase
    with a fresh optimiser, as in the original siVAE. Early stopping counts only
    once the warm-up is over, and the weights of the best monitored epoch of
    each phase are restored.
    """
    rng = np.random.RandomState(seed)
    state = RunState(
        seed=int(seed % (2**31 - 1)), x_scale=_max_abs(train_data.X), progress=TrainingProgress(config.verbose)
    )
    result = TrainingResult()
    with state.progress:
        if config.schedule == "stepwise" and config.pretrain_epochs > 0:
            run_phase("sample", network, train_data, val_data, config, config.pretrain_epochs, rng, state, result)
            run_phase("feature", network, train_data, None, config, config.pretrain_epochs, rng, state, result)
        run_phase("joint", network, train_data, val_data, config, config.max_epochs, rng, state, result)
        reason = "early_stopping" if result.stopped_early else "max_epochs"
        state.progress.close(reason, result.best_epoch if state.restored else None, state.restored)
    return result


@dataclass
class RunState:
    """What the phases of one run share: the noise seed, the data scale (for messages) and the step count."""

    seed: int
    x_scale: float
    progress: TrainingProgress
    step: int = 0
    restored: bool = False


def run_phase(phase, network, train_data, val_data, config, n_epochs, rng, state, result) -> None:
    """Train ``network`` for up to ``n_epochs`` epochs of one phase, appending to ``result``.

    See :meth:`SiVAEModel.loss <sivae_sklearn._model.SiVAEModel.loss>` for the
    phases. Early stopping restores the best monitored epoch's weights.
    """
    train_step, eval_step = make_steps(network, config, phase)
    history = result.history
    best, best_weights, since_best = np.inf, None, 0
    n_batches = int(np.ceil(train_data.n_samples / config.batch_size))
    state.progress.start_phase(phase, n_epochs)
    for epoch in range(1, n_epochs + 1):
        epoch_start = time.perf_counter()
        sums: dict[str, float] = {}
        if phase == "feature":
            batches = (train_data.rows(np.arange(0)) for _ in range(n_batches))
        else:
            batches = iter_minibatches(train_data, config.batch_size, rng)
        n_seen = 0
        for batch in batches:
            beta = np.float32(beta_at(state.step, config))
            out = train_step(batch.x, batch.condition, batch.labels, beta, np.array([state.seed, state.step], np.int32))
            state.step += 1
            n = max(batch.x.shape[0], 1)
            n_seen += n
            for k, val in out.items():
                sums[k] = sums.get(k, 0.0) + float(val) * n
        epoch_terms = {k: v / n_seen for k, v in sums.items()}
        _check_finite(epoch_terms, result.n_iter + 1, state.step, config, state.x_scale)
        for k, v in epoch_terms.items():
            history.setdefault(k, []).append(v)
        history.setdefault("beta", []).append(float(beta_at(state.step, config)))
        history.setdefault("phase", []).append(phase)
        monitored, val_terms = epoch_terms["loss"], None
        if val_data is not None and val_data.n_samples > 0:
            val_terms = evaluate(eval_step, val_data, config, state.seed)
            _check_finite(val_terms, result.n_iter + 1, state.step, config, state.x_scale)
            for k, v in val_terms.items():
                history.setdefault(f"val_{k}", []).append(v)
            monitored = val_terms["loss"]
        elif any(key.startswith("val_") for key in history):
            for key in [k for k in history if k.startswith("val_")]:
                history[key].append(float("nan"))
        result.n_iter += 1
        result.n_steps = state.step
        result.epoch_seconds.append(time.perf_counter() - epoch_start)
        state.progress.end_epoch(epoch, epoch_terms, val_terms)
        if not config.early_stopping:
            continue
        if state.step < config.kl_warmup_steps:
            # The objective still changes with beta: nothing to compare yet.
            best, best_weights, since_best = np.inf, None, 0
            continue
        if best_weights is None or monitored < best - config.tol * abs(best):
            best, best_weights, since_best = monitored, network.get_weights(), 0
            result.best_epoch = result.n_iter
        else:
            since_best += 1
        if since_best >= config.n_iter_no_change:
            result.stopped_early = True
            break
    state.progress.end_phase()
    state.restored = config.early_stopping and best_weights is not None
    if state.restored:
        network.set_weights(best_weights)
