"""The training loop: a prefetching input pipeline, a compiled epoch, early stopping.

Knows nothing of scikit-learn. :func:`train` takes a built
:class:`~sivae_sklearn._engine.network.SiVAENetwork`, training (and optional
validation) data (dense, CSR, or on disk as :class:`~sivae_sklearn._arrays.rows.DiskRows`)
and a :class:`TrainingConfig`; it updates the network in place and returns a
:class:`TrainingResult`.

It trains with the ``tf.distribute`` strategy in scope, TensorFlow's
convention: ``fit`` called inside ``with strategy.scope():`` spreads every
minibatch over that strategy's replicas (``MirroredStrategy``: the devices of
one machine; ``MultiWorkerMirroredStrategy``: several machines), and outside
any scope it runs on the default device. It is one code path: the default
strategy is a strategy with one replica.

Follow one minibatch:

1. :func:`~sivae_sklearn._arrays.rows.epoch_batches` picks its rows (a full shuffle
   in memory; shuffled chunks on disk);
2. a ``tf.data`` generator densifies this worker's part of them (the rows are
   split evenly over the replicas) while the previous step runs (prefetch);
3. the compiled epoch loop (one ``tf.function`` call per epoch, no Python per
   step) runs ``strategy.run`` on every replica:
   :meth:`SiVAEModel.loss <sivae_sklearn._engine.model.SiVAEModel.loss>` (noise
   seeded by ``(seed, step)``, folded with the replica's id), the replica's
   part of the global batch's objective
   (:meth:`~sivae_sklearn._engine.objective.LossTerms.objective`), gradients summed over
   the replicas, and a small Adam owned by this run (no Keras state);
4. the loss terms are summed on the device and read once per epoch, when the
   divergence check, the validation loss and early stopping look at them.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from .._arrays.rows import SHUFFLE_BUFFER_BYTES, DiskRows, Rows, RowSubset, epoch_batches
from .._errors import TrainingDivergedError
from .model import SiVAEModel
from .objective import LossWeights, term_names
from .progress import TrainingProgress
from .tracing import model_function

SCHEDULES = ("joint", "stepwise")

PREFETCH = 2
"""Minibatches densified ahead of the running step."""

_EVAL_BATCH_SIZE = 1024


@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters of one training run, built from the estimator's parameters.

    Every field but ``loss_weights``, ``kl_warmup_steps`` (the warm-up in
    steps, :func:`warmup_steps`) and ``jit_compile`` is the
    :class:`~sivae_sklearn.SiVAE` parameter of that name (see its docstring);
    :meth:`from_params` is the only way the package builds one, so the defaults
    live in ``SiVAE.__init__`` alone.
    """

    likelihood: str
    loss_weights: LossWeights
    kl_warmup_steps: int
    learning_rate: float
    batch_size: int
    feature_batch_size: int | None
    max_epochs: int
    early_stopping: bool
    schedule: str
    pretrain_epochs: int
    n_iter_no_change: int
    tol: float
    verbose: int
    shuffle_buffer_bytes: int | None
    jit_compile: bool
    """Compile the loss and its gradients with XLA (measured in ``benchmarks/run.py``; off in ``fit``)."""

    @classmethod
    def from_params(
        cls, params, n_train: int, *, n_features: int, jit_compile: bool = False, program_mask=None
    ) -> TrainingConfig:
        """The configuration for ``SiVAE(**params)`` on ``n_train`` training rows of ``n_features`` features.

        The batch is capped by the rows; ``feature_kl_weight="elbo"`` becomes ``n_features / n_train``.
        ``program_mask`` (``(n_features, n_programs)``, from ``feature_programs``) is what the programs
        term reads, with ``program_embedding_weight``; None: no programs term.
        """
        feature_batch_size = params["feature_batch_size"]
        loss_weights = LossWeights.from_params(params, n_features=n_features, n_train=n_train)
        if program_mask is not None:
            loss_weights = loss_weights.replace(
                program_mask=program_mask,
                program_embedding_weight=float(params.get("program_embedding_weight", 0.0)),
            )
        return cls(
            likelihood=params["likelihood"],
            loss_weights=loss_weights,
            kl_warmup_steps=warmup_steps(params, n_train),
            learning_rate=float(params["learning_rate"]),
            batch_size=int(min(params["batch_size"], n_train)),
            feature_batch_size=None if feature_batch_size is None else int(feature_batch_size),
            max_epochs=int(params["max_epochs"]),
            early_stopping=bool(params["early_stopping"]),
            schedule=params["schedule"],
            pretrain_epochs=int(params["pretrain_epochs"]),
            n_iter_no_change=int(params["n_iter_no_change"]),
            tol=float(params["tol"]),
            verbose=int(params["verbose"]),
            shuffle_buffer_bytes=_optional_int(params.get("shuffle_buffer_bytes", SHUFFLE_BUFFER_BYTES)),
            jit_compile=bool(jit_compile),
        )

    @property
    def beta(self) -> float:
        """Target weight of the KL terms (reached after the warm-up)."""
        return self.loss_weights["beta"]


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


class TrainingData:
    """Training rows with their optional per-row condition and label.

    Parameters
    ----------
    X : ndarray, CSR matrix, RowSubset or DiskRows of shape (n_samples, n_features)
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

    def arrays(self, rows: Rows) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, condition, labels)`` of ``rows``, densified."""
        return rows.dense(), self.condition[rows.positions], self.labels[rows.positions]


class Adam:
    """Adam optimiser with its own slot variables (no Keras objects), replica-aware.

    Create it where the variables were created (inside the strategy's scope,
    if any) and call :meth:`apply` on every replica.
    """

    def __init__(self, variables, learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.variables = list(variables)
        self.learning_rate = float(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.m = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]
        self.v = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]
        self.iterations = tf.Variable(0.0, trainable=False)

    @tf.autograph.experimental.do_not_convert
    def apply(self, grads):
        """Sum ``grads`` over the replicas and take one step (in replica context; anywhere without a strategy)."""
        used = [i for i, g in enumerate(grads) if g is not None]
        grads = [tf.convert_to_tensor(grads[i]) for i in used]
        if not tf.distribute.has_strategy():
            # No strategy: the same updates, without the cross-replica machinery (which costs more to trace
            # than the whole step on small data).
            self._update(None, used, grads)
            return
        context = tf.distribute.get_replica_context()
        if context.num_replicas_in_sync > 1:
            grads = context.all_reduce(tf.distribute.ReduceOp.SUM, grads)
        context.merge_call(self._update, args=(used, grads))

    @tf.autograph.experimental.do_not_convert
    def _update(self, strategy, used, grads):
        if strategy is None:
            self.iterations.assign_add(1.0)
            corrections = self._corrections(self.iterations)  # once for every variable
            for i, g in zip(used, grads):
                self._first_moment(self.m[i], g)
                self._second_moment(self.v[i], g)
                self._step(self.variables[i], self.m[i], self.v[i], corrections=corrections)
            return
        update = strategy.extended.update
        update(self.iterations, lambda t: t.assign_add(1.0))
        for i, g in zip(used, grads):
            update(self.m[i], self._first_moment, args=(g,))
            update(self.v[i], self._second_moment, args=(g,))
            update(self.variables[i], self._step, args=(self.m[i], self.v[i], self.iterations))

    def _first_moment(self, m, g):
        return m.assign(self.beta_1 * m + (1.0 - self.beta_1) * g)

    def _second_moment(self, v, g):
        return v.assign(self.beta_2 * v + (1.0 - self.beta_2) * tf.square(g))

    def _corrections(self, t):
        return 1.0 - tf.pow(self.beta_1, t), 1.0 - tf.pow(self.beta_2, t)

    def _step(self, var, m, v, t=None, corrections=None):
        correction1, correction2 = self._corrections(t) if corrections is None else corrections
        var.assign_sub(self.learning_rate * ((m / correction1) / (tf.sqrt(v / correction2) + self.epsilon)))


def _element_signature(network):
    """One replica's minibatch: ``(x, condition, labels, beta, seed, rows of the global batch)``."""
    g = network.config.n_features
    c = network.config.n_conditions
    return (
        tf.TensorSpec([None, g], tf.float32),
        tf.TensorSpec([None, c], tf.float32),
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([], tf.float32),
        tf.TensorSpec([2], tf.int32),
        tf.TensorSpec([], tf.float32),
    )


def _replica_seed(seed, context):
    """The step's seed on replica 0 (so one replica is exactly one device); folded with the replica's id on others."""
    if context.num_replicas_in_sync == 1:
        return seed
    replica = tf.cast(context.replica_id_in_sync_group, tf.int32)
    return tf.where(tf.equal(replica, 0), seed, tf.random.experimental.stateless_fold_in(seed, replica))


class EpochSums:
    """The loss terms summed over an epoch, on the device; the compiled epoch resets them and returns them."""

    def __init__(self, names):
        self.names = tuple(names)
        self.sums = tf.Variable(tf.zeros(len(self.names) + 1, tf.float64), trainable=False)

    def means(self, sums) -> dict[str, float]:
        """Mean of every series over an epoch, from the sums the compiled epoch returns (one host sync)."""
        sums = np.asarray(sums)
        count = sums[-1] if sums[-1] > 0 else 1.0
        return {name: float(total / count) for name, total in zip(self.names, sums)}


class _Feed:
    """A prefetching ``tf.data`` pipeline of one data set's minibatches, split over the replicas.

    One distributed dataset and one iterator serve every epoch: building them
    costs more than a small epoch. :meth:`epoch` hands the generator the
    epoch's plan (``batches()``: the global batches as :class:`Rows`;
    ``beta_seed(i)``: the KL weight and noise seed of the ``i``-th) and
    yields the epoch's elements. The generator, which runs in ``tf.data``'s
    own thread a few batches ahead of the running step, densifies only this
    worker's replicas' parts and waits for the next plan between epochs, so no
    random order is drawn before its epoch starts.
    """

    def __init__(self, strategy, data: TrainingData, signature):
        self._plans: queue.Queue = queue.Queue()
        self._closed = threading.Event()
        # Read through the feed, not captured by the generator: tf.data may keep the generator (and what it
        # captures) after the feed is closed, and ``data`` holds rows (the validation rows, for one).
        self._data = data

        def dataset_fn(context: tf.distribute.InputContext):
            self.per_worker = context.num_replicas_in_sync // context.num_input_pipelines
            first = context.input_pipeline_id * self.per_worker

            def generate():
                while not self._closed.is_set():
                    try:
                        batches, beta_seed = self._plans.get(timeout=0.1)
                    except queue.Empty:
                        continue
                    # A counter, not enumerate: enumerate keeps its last (i, rows) tuple, which would keep the
                    # batch, and so its shuffle pool on disk, alive while the next pool is read (two pools at once).
                    i, arrays = -1, self._data.arrays
                    for rows in batches():
                        i += 1
                        beta, seed = beta_seed(i)
                        global_rows = np.float32(rows.index.size)
                        for part in rows.split(context.num_replicas_in_sync)[first : first + self.per_worker]:
                            yield (*arrays(part), beta, seed, global_rows)
                        rows = part = None  # let go of the batch (a view of the pool) before the next is read
                    batches = beta_seed = arrays = None

            return tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(PREFETCH)

        self.dataset = strategy.distribute_datasets_from_function(dataset_fn)
        self.element_spec = self.dataset.element_spec
        self._iterator = None

    def epoch(self, batches, beta_seed):
        """Plan one epoch; the feed's iterator, from which the epoch's elements are to be read (all of them)."""
        if self._iterator is None:
            self._iterator = iter(self.dataset)
        self._plans.put((batches, beta_seed))
        return self._iterator

    def close(self) -> None:
        """End the generator and release the pipeline."""
        self._closed.set()
        self._iterator = self.dataset = self._data = None


class PhaseSteps:
    """The compiled epoch loops of one training phase, with a fresh Adam.

    Parameters
    ----------
    network : SiVAENetwork
    config : TrainingConfig
    phase : {"joint", "sample", "feature"}
    strategy : tf.distribute.Strategy
        Where the network's variables live; the optimiser's and the sums' are
        created in its scope.
    """

    def __init__(self, network, config: TrainingConfig, phase: str, strategy):
        self.network, self.config, self.phase, self.strategy = network, config, phase, strategy
        self.model = SiVAEModel(network, config.likelihood)
        self.variables = network.trainable_variables
        # Every phase records every term of the objective (0 for those it does not have), so that the
        # history's series stay aligned by epoch.
        self.term_names = term_names()
        with strategy.scope():
            self.optimizer = Adam(self.variables, config.learning_rate)
            names = ("loss", *self.term_names)
            self.train_sums, self.eval_sums = EpochSums(names), EpochSums(names)
        self.element_signature = _element_signature(network)
        self._feeds: dict[int, _Feed] = {}
        gradients = tf.function(self._gradients, jit_compile=True) if config.jit_compile else self._gradients

        def train_replica(*element):
            sums, terms, grads = gradients(*element)
            self.optimizer.apply(grads)
            return sums, terms

        def eval_replica(*element):
            return self._objective(*element)[1:]

        self._train_epoch = self._compile(train_replica, self.train_sums)
        self._eval_epoch = self._compile(eval_replica, self.eval_sums)

    # ------------------------------------------------------------- one replica
    def _objective(self, x, condition, labels, beta, seed, global_rows):
        """``(this replica's objective, [objective, term sums, rows] for the history, the term means)``.

        The history vector is summed over the replicas: the objectives add up
        to the global batch's, each term's mean times the replica's rows to the
        term's sum over the global batch.
        """
        context = tf.distribute.get_replica_context()
        n_replicas = context.num_replicas_in_sync
        weights = self.config.loss_weights.replace(beta=beta)
        loss = self.model.loss(
            x, condition, labels, _replica_seed(seed, context), weights, self.phase, self.config.feature_batch_size
        )
        # Rows this replica adds to the history (a pretraining step on the features counts as one).
        n = tf.constant(1.0, tf.float64) if self.phase == "feature" else tf.cast(tf.shape(x)[0], tf.float64)
        means = loss.terms.means
        zero = tf.constant(0.0, tf.float64)
        means = tf.stack([tf.cast(means[name], tf.float64) if name in means else zero for name in self.term_names])
        if n_replicas == 1:
            total, sums = loss.total, means * n
        else:
            # Every replica fits all features in the feature phase; otherwise its share of the global batch's rows.
            share = 1.0 / n_replicas if self.phase == "feature" else tf.cast(tf.shape(x)[0], tf.float32) / global_rows
            total = loss.terms.objective(weights, share, n_replicas)
            sums = tf.math.multiply_no_nan(means, n)  # a replica without rows adds 0, not NaN
        return total, tf.concat([[tf.cast(total, tf.float64)], sums, [n]], axis=0), loss.as_dict()

    def _gradients(self, *element):
        with tf.GradientTape() as tape:
            total, sums, terms = self._objective(*element)
        return sums, terms, tape.gradient(total, self.variables)

    def _compile(self, replica_fn, sums: EpochSums):
        strategy = self.strategy

        def step(element):
            history, terms = strategy.run(replica_fn, args=element)
            history = strategy.reduce(tf.distribute.ReduceOp.SUM, history, axis=None)  # one all-reduce
            sums.sums.assign_add(tf.concat([history[:1] * history[-1:], history[1:]], axis=0))
            return history, strategy.experimental_local_results(terms)[0]

        def epoch(iterator, n_batches):
            # The whole epoch in one call: a loop in the graph pulls every minibatch from the feed and calls
            # the step, a function of its own whose outputs are carried through the loop. So the step's graph
            # is optimised as it would be alone (inlined into the loop, or without its outputs, it rounds
            # differently in the last bits); the sums are returned, the one read of the epoch.
            sums.sums.assign(tf.zeros_like(sums.sums))
            outputs = tf.nest.map_structure(lambda t: tf.zeros(t.shape, t.dtype), compiled["outputs"])
            for _ in tf.range(n_batches):
                outputs = compiled["step"](next(iterator))
            return sums.sums.read_value(), outputs

        compiled = {}

        def run_epoch(feed: _Feed, batches, beta_seed, n_batches: int):
            iterator = feed.epoch(batches, beta_seed)
            if "epoch" not in compiled:
                compiled["step"] = model_function(step).get_concrete_function(feed.element_spec)
                compiled["outputs"] = compiled["step"].structured_outputs
                compiled["epoch"] = model_function(epoch)
            return compiled["epoch"](iterator, tf.constant(n_batches, tf.int64))[0]

        return run_epoch

    # -------------------------------------------------------------- the feed
    def _feed(self, data: TrainingData) -> _Feed:
        """The feed of ``data``'s minibatches (one per data set and phase, serving every epoch)."""
        if id(data) not in self._feeds:
            self._feeds[id(data)] = _Feed(self.strategy, data, self.element_signature)
        return self._feeds[id(data)]

    def close(self) -> None:
        """Stop the feeds' generators."""
        for feed in self._feeds.values():
            feed.close()
        self._feeds.clear()

    def train_epoch(self, data: TrainingData, rng, state: RunState) -> dict[str, float]:
        """One epoch over ``data`` (shuffled with ``rng``); the mean of every term."""
        config, first_step = self.config, state.step
        n_batches = -(-data.n_samples // config.batch_size)
        if self.phase == "feature":  # no rows: every step fits the feature VAE to the free weights

            def batches():
                return (Rows(data.X, np.zeros(0, np.intp), np.zeros(0, np.intp)) for _ in range(n_batches))
        else:
            batches = epoch_batches(data.X, config.batch_size, rng, shuffle_buffer_bytes=config.shuffle_buffer_bytes)

        def beta_seed(i):
            step = first_step + i
            return np.float32(beta_at(step, config)), np.array([state.seed, step], np.int32)

        sums = self._train_epoch(self._feed(data), batches, beta_seed, n_batches)
        state.step += n_batches
        return self.train_sums.means(sums)

    def evaluate(self, data: TrainingData, seed: int) -> dict[str, float]:
        """Mean of every term over ``data`` at the full KL weight (fixed noise seeds, so repeatable)."""
        batch_size = max(self.config.batch_size, _EVAL_BATCH_SIZE)
        beta = np.float32(self.config.beta)
        batches = epoch_batches(data.X, batch_size, None)
        n_batches = -(-data.n_samples // batch_size)

        def beta_seed(i):
            return beta, np.array([seed, -(10**6) - i], np.int32)

        return self.eval_sums.means(self._eval_epoch(self._feed(data), batches, beta_seed, n_batches))


def _optional_int(value) -> int | None:
    return None if value is None else int(value)


def check_workers_agree(random_state) -> None:
    """Raise unless every worker of the strategy in scope will draw the same split, inputs and batches.

    Under a multi-worker strategy each worker runs ``fit`` on its own; they
    train one model only if they draw the same random numbers, so
    ``random_state`` must be an integer there.
    """
    resolver = getattr(tf.distribute.get_strategy(), "cluster_resolver", None)
    spec = resolver.cluster_spec().as_dict() if resolver is not None else {}
    n_tasks = sum(len(tasks) for tasks in spec.values())
    if n_tasks > 1 and (not isinstance(random_state, Integral) or isinstance(random_state, bool)):
        raise ValueError(
            f"Training on {n_tasks} workers needs an integer random_state (got {random_state!r}): every worker "
            f"must draw the same validation split, feature inputs and minibatches."
        )


def warmup_steps(params, n_train: int) -> int:
    """The KL warm-up of ``SiVAE(**params)`` on ``n_train`` training rows, in training steps.

    ``kl_warmup_epochs`` epochs of ``ceil(n_train / batch_size)`` steps each, unless
    the deprecated ``kl_warmup_steps`` is an int (then that).

    >>> warmup_steps({"kl_warmup_epochs": 100.0, "kl_warmup_steps": "deprecated", "batch_size": 128}, 630)
    500
    >>> warmup_steps({"kl_warmup_epochs": 100.0, "kl_warmup_steps": 7, "batch_size": 128}, 630)
    7
    """
    steps = params.get("kl_warmup_steps", "deprecated")
    if not isinstance(steps, str):
        return int(steps)
    batch = max(1, min(int(params["batch_size"]), n_train))
    return int(round(float(params["kl_warmup_epochs"]) * -(-n_train // batch)))


def beta_at(step: int, config: TrainingConfig) -> float:
    """The KL weight at training ``step``: linear from 0 to ``beta`` over ``kl_warmup_steps``."""
    if config.kl_warmup_steps <= 0:
        return config.beta
    return config.beta * min(1.0, step / config.kl_warmup_steps)


def _check_finite(terms: dict[str, float], epoch: int, step: int, config: TrainingConfig, x_scale: float):
    bad = [k for k, v in terms.items() if not np.isfinite(v)]
    if bad:
        raise TrainingDivergedError(
            f"Training diverged in epoch {epoch} (by step {step}): the {', '.join(bad)} term(s) "
            f"became NaN or infinite. Likely causes: the learning rate is too high "
            f"(learning_rate={config.learning_rate:g}; try 10x lower) or the data are not "
            f"scaled (largest absolute input value {x_scale:.3g}; standardise features, e.g. "
            f"with sklearn.preprocessing.StandardScaler, or use likelihood='bernoulli' for "
            f"data in [0, 1])."
        )


def _max_abs(X) -> float:
    """Largest absolute value, without a full-size temporary (on disk: as seen by the split's pass)."""
    if isinstance(X, DiskRows):
        return X.max_abs
    if isinstance(X, RowSubset):
        X = X.base  # the whole matrix: a bound for the training rows
    values = X.data if sp.issparse(X) else X
    if values.size == 0:
        return 0.0
    return float(max(values.max(), -values.min()))


@dataclass
class RunState:
    """What the phases of one run share: the noise seed, the data scale (for messages), the step count, the progress."""

    seed: int
    x_scale: float
    step: int = 0
    progress: TrainingProgress = field(default_factory=TrainingProgress)
    restored: bool = False


def train(
    network,
    train_data: TrainingData,
    val_data: TrainingData | None,
    config: TrainingConfig,
    seed: int,
    *,
    label: str = "",
) -> TrainingResult:
    """Fit ``network`` in place and return the per-epoch history.

    The objective is :meth:`SiVAEModel.loss <sivae_sklearn._engine.model.SiVAEModel.loss>`:
    the mean over samples of the negative ELBO plus the interpretability, L2
    and classification terms. ``beta`` rises linearly over the first
    ``config.kl_warmup_steps`` steps of the whole run (whatever the schedule, so it
    never stays at 0). With ``schedule="stepwise"`` the sample VAE (free last
    weight matrix) and then the feature VAE (regressing that matrix) are
    pretrained for ``pretrain_epochs`` each before the joint phase, each phase
    with a fresh optimiser, as in the original siVAE. Early stopping counts only
    once the warm-up is over, and the weights of the best monitored epoch of
    each phase are restored.

    Runs under ``tf.distribute.get_strategy()``: the network must have been
    built in the same strategy's scope. ``label`` is written before each
    phase's name on the progress bars and lines, and before the closing line.
    """
    strategy = tf.distribute.get_strategy()
    if tf.distribute.has_strategy() and not tf.distribute.in_cross_replica_context():
        raise RuntimeError("SiVAE.fit cannot run inside strategy.run; call it inside strategy.scope() instead.")
    rng = np.random.RandomState(seed)
    state = RunState(
        seed=int(seed % (2**31 - 1)),
        x_scale=_max_abs(train_data.X),
        progress=TrainingProgress(config.verbose, label=label),
    )
    result = TrainingResult()
    with state.progress:
        if config.schedule == "stepwise" and config.pretrain_epochs > 0:
            pretrain = config.pretrain_epochs
            run_phase("sample", network, train_data, val_data, config, pretrain, rng, state, result, strategy)
            run_phase("feature", network, train_data, None, config, pretrain, rng, state, result, strategy)
        run_phase("joint", network, train_data, val_data, config, config.max_epochs, rng, state, result, strategy)
        reason = "early_stopping" if result.stopped_early else "max_epochs"
        kept = result.best_epoch if state.restored else None
        betas = result.history.get("beta", [])
        kept_beta = betas[(kept or len(betas)) - 1] if betas else None
        state.progress.close(reason, kept, state.restored, kept_beta)
    return result


def run_phase(phase, network, train_data, val_data, config, n_epochs, rng, state, result, strategy=None) -> None:
    """Train ``network`` for up to ``n_epochs`` epochs of one phase, appending to ``result``.

    See :meth:`SiVAEModel.loss <sivae_sklearn._engine.model.SiVAEModel.loss>` for the
    phases. Early stopping restores the best monitored epoch's weights.
    """
    steps = PhaseSteps(network, config, phase, strategy or tf.distribute.get_strategy())
    try:
        _run_epochs(steps, phase, network, train_data, val_data, config, n_epochs, rng, state, result)
    finally:
        steps.close()


def _run_epochs(steps, phase, network, train_data, val_data, config, n_epochs, rng, state, result) -> None:
    history = result.history
    best, best_weights, since_best = np.inf, None, 0
    state.progress.start_phase(phase, n_epochs)
    for epoch in range(1, n_epochs + 1):
        epoch_start = time.perf_counter()
        epoch_terms = steps.train_epoch(train_data, rng, state)
        _check_finite(epoch_terms, result.n_iter + 1, state.step, config, state.x_scale)
        for k, v in epoch_terms.items():
            history.setdefault(k, []).append(v)
        history.setdefault("beta", []).append(float(beta_at(state.step, config)))
        history.setdefault("phase", []).append(phase)
        monitored, val_terms = epoch_terms["loss"], None
        if val_data is not None and val_data.n_samples > 0:
            val_terms = steps.evaluate(val_data, state.seed)
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
