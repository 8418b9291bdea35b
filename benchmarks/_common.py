"""Shared pieces of the benchmark suite: data, peers, metrics, timers.

Nothing here is part of the package. The plain VAE is written with the
package's own building blocks (:class:`~sivae_sklearn._engine.network.GaussianEncoder`,
:class:`~sivae_sklearn._engine.network.DenseStack`, :class:`~sivae_sklearn._engine.training.Adam`
and the loss terms of :mod:`sivae_sklearn._engine.likelihoods` and :mod:`sivae_sklearn._engine.model`),
so that it differs from
SiVAE only by what makes siVAE siVAE: the feature-wise VAE producing the last
weight matrix, and the interpretability term.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import psutil
import tensorflow as tf
from sklearn.manifold import trustworthiness
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from sivae_sklearn._engine.likelihoods import gaussian_nll
from sivae_sklearn._engine.network import DenseStack, GaussianEncoder, _encoder_spec, _make_variables, _stack_spec
from sivae_sklearn._engine.objective import kl_standard_normal, l2_term
from sivae_sklearn._engine.training import Adam


# ------------------------------------------------------------------------ data
def load_digits_zscored():
    """scikit-learn's digits (1,797 x 64), every pixel z-scored (constant pixels left at 0)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    X = d.data.astype(np.float64)
    sd = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    return X.astype(np.float32), d.target


def load_pbmc():
    """scanpy's bundled ``pbmc68k_reduced`` (700 cells x 765 genes, already z-scored)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import scanpy as sc

        adata = sc.datasets.pbmc68k_reduced()
    X = np.asarray(adata.X, dtype=np.float32)
    y = adata.obs["bulk_labels"].astype("category").cat.codes.to_numpy()
    return X, y


# ---------------------------------------------------------------------- peers
class PlainVAE:
    """A Gaussian VAE with SiVAE's layer sizes, loss scale, KL warm-up, L2 and optimiser.

    Encoder ``G -> hidden -> (mean, softplus std)``; decoder
    ``K -> reversed(hidden) -> h`` (linear last, as SiVAE's ``y``) and a free
    linear output layer ``h -> G`` (the matrix siVAE's feature VAE produces).
    Gaussian likelihood with a learned per-feature scale; ``beta`` rises over
    ``kl_warmup_steps``; ``l2_penalty`` on the encoder and decoder kernels.
    No early stopping: exactly ``max_epochs`` passes; ``epoch_seconds_`` records
    each one's wall-clock time. One compiled call per step, nothing read back
    until the end.
    """

    def __init__(
        self,
        n_components=2,
        hidden_layer_sizes=(512, 128),
        max_epochs=200,
        batch_size=128,
        learning_rate=1e-3,
        kl_warmup_steps=1000,
        l2_penalty=1e-3,
        random_state=0,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.kl_warmup_steps = kl_warmup_steps
        self.l2_penalty = l2_penalty
        self.random_state = random_state

    def _build(self, g):
        hidden, k = self.hidden_layer_sizes, self.n_components
        h = hidden[0]
        # The package's own weight spec pieces, so the peer's layers are built as SiVAE's sample network is.
        spec = [
            *_encoder_spec(g, hidden, k, "vae_encoder", "hidden_layer_sizes"),
            *_stack_spec((k, *reversed(hidden), h), "vae_decoder"),
            *_stack_spec((h, g), "vae_output"),
        ]
        variables = _make_variables(spec, self.random_state, np.float32)
        self.encoder_ = GaussianEncoder(variables, name="vae_encoder")
        self.decoder_ = DenseStack(variables, linear_last=True, name="vae_decoder")
        self.output_ = DenseStack(variables, linear_last=True, name="vae_output")
        self.log_scale_ = tf.Variable(np.zeros(g, np.float32), name="vae_log_scale")
        self.variables_ = [
            *self.encoder_.trainable_variables,
            *self.decoder_.trainable_variables,
            *self.output_.trainable_variables,
            self.log_scale_,
        ]
        self.kernels_ = [v for v in self.variables_ if "kernel" in v.name]

    def _loss(self, x, beta, seed):
        mean, std = self.encoder_(x)
        z = mean + std * tf.random.stateless_normal(tf.shape(mean), seed=seed)
        x_hat = self.output_(self.decoder_(z))
        recon = tf.reduce_mean(gaussian_nll(x, x_hat, self.log_scale_))
        kl = tf.reduce_mean(kl_standard_normal(mean, std))
        return recon + beta * kl + self.l2_penalty * l2_term(self.kernels_)

    def fit(self, X, y=None):
        X = np.ascontiguousarray(X, dtype=np.float32)
        n, g = X.shape
        self._build(g)
        opt = Adam(self.variables_, self.learning_rate)
        variables = self.variables_
        sig = [tf.TensorSpec([None, g], tf.float32), tf.TensorSpec([], tf.float32), tf.TensorSpec([2], tf.int32)]

        @tf.function(input_signature=sig)
        def step(x, beta, seed):
            with tf.GradientTape() as tape:
                loss = self._loss(x, beta, seed)
            opt.apply(tape.gradient(loss, variables))
            return loss

        rng = np.random.RandomState(self.random_state)
        bs = min(self.batch_size, n)
        t = 0
        self.epoch_seconds_ = []
        for _ in range(self.max_epochs):
            t0 = time.perf_counter()
            order = rng.permutation(n)
            for start in range(0, n, bs):
                idx = np.sort(order[start : start + bs])
                beta = np.float32(min(1.0, t / self.kl_warmup_steps) if self.kl_warmup_steps else 1.0)
                loss = step(X[idx], beta, np.array([self.random_state, t], np.int32))
                t += 1
            self.epoch_seconds_.append(time.perf_counter() - t0)
        self.final_loss_ = float(loss)
        self.n_steps_ = t

        @tf.function(input_signature=[tf.TensorSpec([None, g], tf.float32)])
        def embed(x):
            return self.encoder_(x)[0]

        @tf.function(input_signature=[tf.TensorSpec([None, self.n_components], tf.float32)])
        def decode(z):
            return self.output_(self.decoder_(z))

        self._embed, self._decode = embed, decode
        return self

    def transform(self, X):
        X = np.asarray(X, np.float32)
        return np.concatenate([self._embed(X[s : s + 2048]).numpy() for s in range(0, X.shape[0], 2048)])

    def inverse_transform(self, Z):
        Z = np.asarray(Z, np.float32)
        return np.concatenate([self._decode(Z[s : s + 2048]).numpy() for s in range(0, Z.shape[0], 2048)])

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)


class KerasVAE:
    """The VAE a user would write in Keras: ``keras.Model`` with a custom ``train_step``, fitted with ``model.fit``.

    Same layers as :class:`PlainVAE` (encoder ``G -> hidden -> (mean, softplus
    std)``, decoder ``K -> reversed(hidden) -> G``, ReLU, linear output),
    Gaussian likelihood with a learned per-feature scale, KL to N(0, I), Keras'
    Adam at ``learning_rate``. ``model.fit`` compiles the train step with
    ``tf.function`` (Keras 3's TensorFlow backend) and reads a shuffled
    ``tf.data`` stream of ``batch_size`` rows; ``epoch_seconds_`` records each
    epoch's wall-clock time (a callback at every epoch's end). No KL warm-up,
    no L2 term, no validation: the plain recipe of the Keras VAE example, with
    a Gaussian likelihood. Seeded initialisers and noise, no global seed.
    """

    def __init__(
        self,
        n_components=10,
        hidden_layer_sizes=(512, 128),
        max_epochs=60,
        batch_size=128,
        learning_rate=1e-3,
        random_state=0,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state

    def _build(self, g):
        import keras

        seed, hidden, k = self.random_state, self.hidden_layer_sizes, self.n_components

        def dense(units, i, activation="relu"):
            init = keras.initializers.GlorotUniform(seed=seed * 1000 + i)
            return keras.layers.Dense(units, activation=activation, kernel_initializer=init)

        encoder = keras.Sequential(
            [keras.Input((g,)), *[dense(u, i) for i, u in enumerate(hidden)], dense(2 * k, 10, None)]
        )
        decoder = keras.Sequential(
            [keras.Input((k,)), *[dense(u, 20 + i) for i, u in enumerate(reversed(hidden))], dense(g, 30, None)]
        )

        class VAE(keras.Model):
            def __init__(self):
                super().__init__()
                self.encoder, self.decoder = encoder, decoder
                self.log_scale = self.add_weight(shape=(g,), initializer="zeros", name="log_scale")
                self.noise = keras.random.SeedGenerator(seed)
                self.loss_tracker = keras.metrics.Mean(name="loss")

            @property
            def metrics(self):
                return [self.loss_tracker]

            def call(self, x):
                return self.encoder(x)[:, :k]

            def train_step(self, x):
                with tf.GradientTape() as tape:
                    h = self.encoder(x)
                    mean, std = h[:, :k], tf.nn.softplus(h[:, k:]) + 1e-4
                    z = mean + std * keras.random.normal(tf.shape(mean), seed=self.noise)
                    x_hat = self.decoder(z)
                    recon = tf.reduce_mean(gaussian_nll(x, x_hat, self.log_scale))
                    kl = tf.reduce_mean(kl_standard_normal(mean, std))
                    loss = recon + kl
                grads = tape.gradient(loss, self.trainable_variables)
                self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
                self.loss_tracker.update_state(loss)
                return {"loss": self.loss_tracker.result()}

        self.model_ = VAE()
        self.model_.compile(optimizer=keras.optimizers.Adam(self.learning_rate))
        self.model_.build((None, g))

    def fit(self, X, y=None):
        import keras

        X = np.ascontiguousarray(X, dtype=np.float32)
        n, g = X.shape
        self._build(g)
        data = (
            tf.data.Dataset.from_tensor_slices(X)
            .shuffle(n, seed=self.random_state, reshuffle_each_iteration=True)
            .batch(min(self.batch_size, n))
            .prefetch(tf.data.AUTOTUNE)
        )
        self.epoch_seconds_ = []
        outer = self

        class Times(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t0 = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                outer.epoch_seconds_.append(time.perf_counter() - self.t0)

        history = self.model_.fit(data, epochs=self.max_epochs, verbose=0, callbacks=[Times()])
        self.final_loss_ = float(history.history["loss"][-1])
        return self

    def transform(self, X):
        return self.model_.predict(np.asarray(X, np.float32), batch_size=2048, verbose=0)


def amortisation_options(n_features: int) -> list[tuple[str, dict]]:
    """SiVAE settings that make a step cheaper, by name: the defaults, smaller feature networks, feature
    minibatches, larger batches.

    Feature networks of one layer of 128 or 64 units and a linear one
    (``feature_hidden_layer_sizes``; the default mirrors the sample network,
    512-128), a feature input of 10 instead of 50 principal coordinates
    (``feature_input_size``), feature minibatches of a half, a quarter and an eighth of the
    features (``feature_batch_size``), and minibatches of 256 and 512 rows
    (``batch_size``; the default is 128).
    """
    options = [("default", {})]
    for widths in ((512, 128), (128,), (64,), ()):
        options.append((f"feature_hidden_layer_sizes={widths}", {"feature_hidden_layer_sizes": widths}))
    options.append(("feature_input_size=10", {"feature_input_size": 10}))
    for share in (2, 4, 8):
        size = int(np.ceil(n_features / share))
        options.append((f"feature_batch_size={size} (G/{share})", {"feature_batch_size": size}))
    options += [("batch_size=256", {"batch_size": 256}), ("batch_size=512", {"batch_size": 512})]
    return options


# -------------------------------------------------------------------- metrics
def knn_accuracy(Z, y, seed=0) -> float:
    """5-fold stratified kNN accuracy on the embedding, k = 2 x number of classes."""
    k = 2 * len(np.unique(y))
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    return float(cross_val_score(KNeighborsClassifier(n_neighbors=k), Z, y, cv=cv).mean())


def trust(X, Z, n_neighbors=10) -> float:
    """Trustworthiness of the embedding (1: every embedded neighbour is a true neighbour)."""
    return float(trustworthiness(X, Z, n_neighbors=n_neighbors))


class EpochTimes:
    """Context manager recording the ``TrainingResult`` of every ``SiVAE.fit`` inside it (``results``).

    The estimator does not expose its per-epoch times; this wraps the training
    function it calls, for the benchmarks only.
    """

    def __enter__(self):
        from sivae_sklearn._estimator import sivae as _estimator

        self._module, self._train, self.results = _estimator, _estimator.train, []

        def train(*args, **kwargs):
            result = self._train(*args, **kwargs)
            self.results.append(result)
            return result

        _estimator.train = train
        return self

    def __exit__(self, *exc):
        self._module.train = self._train

    def median_epoch(self) -> float:
        """Median seconds per epoch of the last fit, its first epoch (tracing) left out."""
        seconds = self.results[-1].epoch_seconds
        return float(np.median(seconds[1:] if len(seconds) > 1 else seconds))


class PeakRSS:
    """Context manager sampling this process's resident memory; ``peak_mb`` is the rise above the start.

    TensorFlow allocates outside Python's allocator, so ``tracemalloc`` would
    miss it; resident memory sampled every few milliseconds does not.
    """

    def __init__(self, interval=0.005):
        self.interval = interval
        self.proc = psutil.Process(os.getpid())

    def __enter__(self):
        self.start = self.proc.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)
        self.peak_mb = (self.peak - self.start) / 2**20


def throughput(fn, X, min_time=0.3) -> float:
    """Samples per second of ``fn(X)`` (warm call excluded, repeated for at least ``min_time``)."""
    fn(X)
    n, t0 = 0, time.perf_counter()
    while True:
        fn(X)
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time:
            return X.shape[0] * n / elapsed


def matmul_rate(n=2048, repeats=10) -> float:
    """float32 matrix-multiply rate of this machine in FLOP/s (tf.matmul of n x n, best of runs)."""
    a = tf.random.stateless_normal([n, n], seed=[1, 2])
    b = tf.random.stateless_normal([n, n], seed=[3, 4])
    f = tf.function(lambda a, b: tf.matmul(a, b))
    f(a, b).numpy()
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        f(a, b).numpy()
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best


def loglog_slope(x, y) -> float:
    """Slope of log(y) against log(x): the growth exponent."""
    return float(np.polyfit(np.log(np.asarray(x, float)), np.log(np.asarray(y, float)), 1)[0])
