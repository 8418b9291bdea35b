"""The TensorFlow networks of siVAE: a sample-wise and a feature-wise VAE.

The weights and the sub-networks; how they combine into the forward pass and
the loss is :mod:`~sivae_sklearn._engine.model`'s business.
This module knows nothing of scikit-learn, AnnData or plotting. It builds plain
``tf.Module`` objects holding ``tf.Variable`` weights, so that no Keras global state
(name counters, sessions, global seeds) is touched and weights can be moved in and
out as NumPy arrays.

The model (Choi, Li & Quon, Genome Biology 2023):

* the **sample encoder** maps a row ``x_c`` (one sample over G features) to a
  Gaussian posterior over ``z_c`` (K dimensions);
* the **sample decoder** maps ``z_c`` through mirrored ReLU layers to a *linear*
  last hidden layer ``y_c`` of width ``h`` (the widest encoder layer);
* the **feature encoder** maps a reduced column ``X[:, f]`` (one feature seen
  over a fixed set of reference samples or principal components) to a Gaussian
  posterior over ``v_f`` (K dimensions): these are the loadings;
* the **feature decoder** maps ``v_f`` through ReLU layers mirroring the feature
  encoder's to ``w_f`` of width ``h``. The feature network's widths mirror the
  sample network's unless ``feature_hidden_layer_sizes`` says otherwise;
* the two meet in the output: ``x_hat[c, f] = y_c . w_f + b_f``. The feature
  decoder therefore *produces the last weight matrix* of the sample decoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .likelihoods import get_likelihood

_STD_FLOOR = 1e-5


@dataclass(frozen=True)
class NetworkConfig:
    """Shapes and sizes needed to rebuild a :class:`SiVAENetwork`.

    Parameters
    ----------
    n_features : int
        Number of input features G.
    n_feature_inputs : int
        Width P of the reduced feature-wise input (one row per feature).
    n_components : int
        Latent dimension K, shared by samples and features.
    hidden_layer_sizes : tuple of int
        Encoder widths; decoders mirror them (ReLU) and end in a linear layer of
        width ``h = hidden_layer_sizes[0]`` (``y_c`` and ``w_f``). Empty means a
        linear decoder (``x_hat = z V^T + b``).
    n_conditions : int
        Width of the one-hot condition appended to the decoder input
        (0: unconditional).
    n_classes : int
        Width of the classifier head on the sample latent (0: no head).
    classifier_layer_sizes : tuple of int
        Hidden widths of the classifier head.
    input_transform : {"none", "log1p"}
        Name of the likelihood's encoder input (see
        :mod:`~sivae_sklearn._engine.likelihoods`): the data as given, or
        ``log1p(1e4 * x / library_size)`` for raw counts. Kept in model files.
    feature_hidden_layer_sizes : tuple of int or None
        Widths of the feature encoder's layers; its decoder mirrors them and
        ends in a linear layer of width ``h``. None: ``hidden_layer_sizes``
        (the feature network mirrors the sample network).
    """

    n_features: int
    n_feature_inputs: int
    n_components: int
    hidden_layer_sizes: tuple[int, ...]
    n_conditions: int = 0
    n_classes: int = 0
    classifier_layer_sizes: tuple[int, ...] = ()
    input_transform: str = "none"
    feature_hidden_layer_sizes: tuple[int, ...] | None = None

    def __post_init__(self):
        if self.feature_hidden_layer_sizes is None:
            object.__setattr__(self, "feature_hidden_layer_sizes", tuple(self.hidden_layer_sizes))

    @classmethod
    def from_params(
        cls, params: dict, *, n_features: int, n_feature_inputs: int, n_conditions: int = 0, n_classes: int = 0
    ) -> NetworkConfig:
        """The configuration that the estimator parameters ``params`` give for data of these sizes.

        The one place the parameters become network sizes: ``fit`` builds its
        network from it, the memory check sizes the network with it and model
        files are checked against it. The classifier head's widths count only
        when there is a head (``n_classes > 0``).

        >>> params = {"n_components": 2, "hidden_layer_sizes": (8,), "classifier_layer_sizes": (4,),
        ...           "likelihood": "nb"}
        >>> NetworkConfig.from_params(params, n_features=5, n_feature_inputs=3).input_transform
        'log1p'
        """
        has_head = n_classes > 0
        feature_hidden = params.get("feature_hidden_layer_sizes")
        return cls(
            n_features=int(n_features),
            n_feature_inputs=int(n_feature_inputs),
            n_components=int(params["n_components"]),
            hidden_layer_sizes=tuple(int(h) for h in params["hidden_layer_sizes"]),
            n_conditions=int(n_conditions),
            n_classes=int(n_classes),
            classifier_layer_sizes=tuple(int(h) for h in params["classifier_layer_sizes"]) if has_head else (),
            input_transform=get_likelihood(params["likelihood"]).encoder_input.name,
            feature_hidden_layer_sizes=None if feature_hidden is None else tuple(int(h) for h in feature_hidden),
        )

    @property
    def feature_widths(self) -> tuple[int, ...]:
        """Widths of the feature encoder's layers (those of the sample encoder unless set)."""
        widths = self.feature_hidden_layer_sizes
        return tuple(self.hidden_layer_sizes if widths is None else widths)

    @property
    def mirrored(self) -> bool:
        """Whether the feature network has the sample network's widths (then every decoder layer pairs up)."""
        return self.feature_widths == tuple(self.hidden_layer_sizes)

    @property
    def n_levels(self) -> int:
        """Decoder levels with paired sample/feature activations (see feature awareness).

        The latent ``(z, v)`` and the last hidden layer ``(y, W)``, and between
        them every decoder layer when the feature network mirrors the sample
        network.

        >>> narrow = NetworkConfig(5, 3, 2, (8, 4), feature_hidden_layer_sizes=(6,))
        >>> NetworkConfig(5, 3, 2, (8, 4)).n_levels, narrow.n_levels
        (4, 2)
        """
        if not self.hidden_layer_sizes:
            return 1
        if not self.mirrored:
            return 2
        return 2 + len(self.hidden_layer_sizes)

    @property
    def output_width(self) -> int:
        """Width ``h`` of ``y_c`` and ``w_f``."""
        if self.hidden_layer_sizes:
            return int(self.hidden_layer_sizes[0])
        return int(self.n_components)


def _glorot(rng: np.random.Generator, n_in: int, n_out: int) -> np.ndarray:
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out)).astype(np.float32)


# ------------------------------------------------------------------ weight spec
@dataclass(frozen=True)
class Weight:
    """One variable of :class:`SiVAENetwork`: its name, shape, initial value and the parameter that sizes it.

    ``init`` is ``"glorot"`` (Glorot uniform of a ``(n_in, n_out)`` kernel),
    ``"glorot_transposed"`` (the transpose of a Glorot draw of the reversed
    shape) or ``"zeros"``. ``owner`` is the estimator parameter whose value
    decides the size (the memory check names it when the network is too
    large).
    """

    name: str
    shape: tuple[int, ...]
    init: str = "zeros"
    owner: str = "hidden_layer_sizes"
    trainable: bool = True


def _stack_spec(sizes, name: str, owner: str = "hidden_layer_sizes") -> list[Weight]:
    spec = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        spec.append(Weight(f"{name}_kernel{i}", (int(n_in), int(n_out)), "glorot", owner))
        spec.append(Weight(f"{name}_bias{i}", (int(n_out),), "zeros", owner))
    return spec


def _encoder_spec(n_in: int, hidden: tuple[int, ...], k: int, name: str, owner: str) -> list[Weight]:
    width = hidden[-1] if hidden else n_in
    return [
        *_stack_spec((n_in, *hidden), f"{name}_body", owner),
        *_stack_spec((width, k), f"{name}_mean", owner),
        *_stack_spec((width, k), f"{name}_std", owner),
    ]


def weight_spec(config: NetworkConfig) -> list[Weight]:
    """Every variable of ``SiVAENetwork(config)``, in the order their initial values are drawn.

    The network is built from this list, model files are checked against its
    shapes (:func:`weight_shapes`) and the memory a network needs is estimated
    from it before anything is allocated.

    >>> spec = weight_spec(NetworkConfig(n_features=5, n_feature_inputs=3, n_components=2, hidden_layer_sizes=(8,)))
    >>> spec[0].name, spec[0].shape, spec[-1].name, spec[-1].owner
    ('sample_encoder_body_kernel0', (5, 8), 'feature_inputs', 'feature_input_size')
    """
    hidden = tuple(int(h) for h in config.hidden_layer_sizes)
    feature_hidden = tuple(int(h) for h in config.feature_widths)
    feature_owner = "hidden_layer_sizes" if config.mirrored else "feature_hidden_layer_sizes"
    k, c, g, h = config.n_components, config.n_conditions, config.n_features, config.output_width
    spec = [
        *_encoder_spec(g, hidden, k, "sample_encoder", "hidden_layer_sizes"),
        *_encoder_spec(config.n_feature_inputs, feature_hidden, k, "feature_encoder", feature_owner),
    ]
    if hidden:
        spec += _stack_spec((k + c, *reversed(hidden), h), "sample_decoder")
        spec += _stack_spec((k, *reversed(feature_hidden), h), "feature_decoder", feature_owner)
    elif c:
        # Linear decoder: y = z (plus the condition through a linear map), w = v.
        spec += _stack_spec((k + c, k), "sample_decoder")
    spec += [Weight("output_bias", (g,)), Weight("linear_bias", (g,)), Weight("log_scale", (g,))]
    if c:
        # Conditional models: per-condition offset of the interpretability term's
        # linear map (x ~ z V^T + b + c B), so that z need not carry the condition.
        spec.append(Weight("condition_linear_bias", (c, g)))
    # Free last weight matrix of the sample decoder, used only while the
    # sample VAE is pretrained on its own (stepwise schedule).
    spec.append(Weight("free_output_weights", (g, h), "glorot_transposed"))
    if config.n_classes:
        spec += _stack_spec(
            (k, *config.classifier_layer_sizes, config.n_classes), "classifier", "classifier_layer_sizes"
        )
    # Reduced feature-wise input (G x P); filled by the trainer, not trainable.
    spec.append(Weight("feature_inputs", (g, config.n_feature_inputs), owner="feature_input_size", trainable=False))
    return spec


def weight_shapes(config: NetworkConfig) -> dict[str, tuple[int, ...]]:
    """The name and shape of every variable of ``SiVAENetwork(config)``, without building it, sorted by name.

    >>> shapes = weight_shapes(NetworkConfig(n_features=5, n_feature_inputs=3, n_components=2, hidden_layer_sizes=(8,)))
    >>> shapes["sample_encoder_body_kernel0"], shapes["free_output_weights"], len(shapes)
    ((5, 8), (5, 8), 25)
    """
    return dict(sorted((w.name, w.shape) for w in weight_spec(config)))


def _make_variables(spec: list[Weight], seed: int, dtype) -> dict[str, tf.Variable]:
    """The variables of ``spec``, initial values drawn in its order from one NumPy generator of ``seed``."""
    rng = np.random.default_rng(seed)
    variables = {}
    for w in spec:
        if w.init == "glorot":
            value = _glorot(rng, *w.shape).astype(dtype)
        elif w.init == "glorot_transposed":
            value = _glorot(rng, *reversed(w.shape)).T.astype(dtype)
        else:
            value = np.zeros(w.shape, dtype)
        variables[w.name] = tf.Variable(value, trainable=w.trainable, name=w.name)
    return variables


# ------------------------------------------------------------------ sub-networks
class DenseStack(tf.Module):
    """A stack of dense layers, ReLU between them, optionally linear at the end.

    Parameters
    ----------
    variables : dict of str to tf.Variable
        The network's variables; this stack takes ``{name}_kernel{i}`` and
        ``{name}_bias{i}`` for ``i = 0, 1, ...``.
    linear_last : bool
        If True the last layer has no activation.
    name : str
        Prefix of the variable names.
    """

    def __init__(self, variables: dict[str, tf.Variable], *, linear_last: bool, name: str):
        super().__init__(name=name)
        self.linear_last = linear_last
        n_layers = sum(1 for key in variables if key.startswith(f"{name}_kernel"))
        self.kernels = [variables[f"{name}_kernel{i}"] for i in range(n_layers)]
        self.biases = [variables[f"{name}_bias{i}"] for i in range(n_layers)]

    def activations(self, x: tf.Tensor) -> list[tf.Tensor]:
        """Return the output of every layer (the input not included)."""
        outs = []
        n = len(self.kernels)
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
            x = tf.matmul(x, kernel) + bias
            if not (self.linear_last and i == n - 1):
                x = tf.nn.relu(x)
            outs.append(x)
        return outs

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
            x = tf.matmul(x, kernel) + bias
            if not (self.linear_last and i == len(self.kernels) - 1):
                x = tf.nn.relu(x)
        return x


class GaussianEncoder(tf.Module):
    """ReLU layers followed by a linear mean and a softplus standard deviation."""

    def __init__(self, variables: dict[str, tf.Variable], *, name: str):
        super().__init__(name=name)
        self.body = DenseStack(variables, linear_last=False, name=f"{name}_body")
        self.mean_layer = DenseStack(variables, linear_last=True, name=f"{name}_mean")
        self.std_layer = DenseStack(variables, linear_last=True, name=f"{name}_std")

    def __call__(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        h = self.body(x)
        return self.mean_layer(h), tf.nn.softplus(self.std_layer(h)) + _STD_FLOOR


class SiVAENetwork(tf.Module):
    """Sample-wise and feature-wise VAEs joined at the output layer.

    Parameters
    ----------
    config : NetworkConfig
        Sizes of the networks.
    seed : int
        Seed for the initial weights (NumPy generator; no TensorFlow global seed).
    dtype : numpy dtype, default=float32
        Precision of every variable (float64 copies serve exact scoring).

    Notes
    -----
    Variables are float32 unless ``dtype`` says otherwise. ``output_bias`` is ``b_f`` of the decoder,
    ``linear_bias`` is the ``b_f`` of the interpretability term
    ``x ~ z V^T + b`` and ``log_scale`` is the per-feature log standard
    deviation (Gaussian) or log dispersion (negative binomial) of the likelihood.
    """

    def __init__(self, config: NetworkConfig, seed: int, dtype=np.float32):
        super().__init__(name="sivae")
        self.config = config
        self.dtype = np.dtype(dtype)
        variables = _make_variables(weight_spec(config), seed, self.dtype)

        def stack(name):
            return DenseStack(variables, linear_last=True, name=name) if f"{name}_kernel0" in variables else None

        self.sample_encoder = GaussianEncoder(variables, name="sample_encoder")
        self.feature_encoder = GaussianEncoder(variables, name="feature_encoder")
        self.sample_decoder = stack("sample_decoder")
        self.feature_decoder = stack("feature_decoder")
        self.classifier = stack("classifier")
        self.output_bias = variables["output_bias"]
        self.linear_bias = variables["linear_bias"]
        self.log_scale = variables["log_scale"]
        self.condition_linear_bias = variables.get("condition_linear_bias")
        self.free_output_weights = variables["free_output_weights"]
        self.feature_inputs = variables["feature_inputs"]

    # ------------------------------------------------------------------ pieces
    def encode_samples(self, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Posterior mean and standard deviation of ``z`` for a batch of rows."""
        return self.sample_encoder(x)

    def encode_features(self, features: tf.Tensor | None = None) -> tuple[tf.Tensor, tf.Tensor]:
        """Posterior mean and standard deviation of ``v`` for every feature (or only ``features``, indices)."""
        if features is None:
            return self.feature_encoder(self.feature_inputs)
        return self.feature_encoder(tf.gather(self.feature_inputs, features))

    def decode_samples(self, z: tf.Tensor, condition: tf.Tensor | None = None) -> tf.Tensor:
        """Last hidden layer ``y`` of the sample decoder (linear, width h)."""
        if condition is not None and self.config.n_conditions:
            z = tf.concat([z, condition], axis=1)
        if self.sample_decoder is None:
            return z
        return self.sample_decoder(z)

    def linear_offset(self, condition: tf.Tensor | None = None) -> tf.Tensor:
        """Bias ``b`` of the linear map ``z V^T + b``, plus ``c B`` for conditional models."""
        if condition is None or self.condition_linear_bias is None:
            return self.linear_bias
        return self.linear_bias + tf.matmul(condition, self.condition_linear_bias)

    def decode_features(self, v: tf.Tensor) -> tf.Tensor:
        """Rows ``w_f`` of the sample decoder's last weight matrix (G x h)."""
        if self.feature_decoder is None:
            return v
        return self.feature_decoder(v)

    def decoder_levels(
        self, z: tf.Tensor, v: tf.Tensor, condition: tf.Tensor | None = None
    ) -> list[tuple[tf.Tensor, tf.Tensor]]:
        """Pairs of sample-side and feature-side activations of equal width.

        Level 0 is ``(z, v)``; the last level is ``(y, W)``; the levels
        between are the decoders' hidden layers, paired only when the feature
        network mirrors the sample network. These are the quantities feature
        awareness is computed from.
        """
        pairs = [(z, v)]
        zc = z
        if condition is not None and self.config.n_conditions:
            zc = tf.concat([z, condition], axis=1)
        if self.feature_decoder is None:
            if self.sample_decoder is not None:
                pairs[-1] = (self.sample_decoder(zc), v)
            return pairs
        sample_acts = self.sample_decoder.activations(zc)
        feature_acts = self.feature_decoder.activations(v)
        if not self.config.mirrored:
            return [*pairs, (sample_acts[-1], feature_acts[-1])]
        pairs.extend(zip(sample_acts, feature_acts))
        return pairs

    # ----------------------------------------------------------------- weights
    def get_weights(self) -> dict[str, np.ndarray]:
        """All variables as NumPy arrays, keyed by a stable name."""
        return {_var_key(v): v.numpy() for v in self._ordered_variables()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Assign variables from :meth:`get_weights` output (shapes must match)."""
        variables = self._ordered_variables()
        expected = {_var_key(v) for v in variables}
        missing = expected - set(weights)
        if missing:
            raise ValueError(f"Saved weights are missing {sorted(missing)[:5]}.")
        for v in variables:
            value = np.asarray(weights[_var_key(v)], dtype=v.dtype.as_numpy_dtype)
            if tuple(value.shape) != tuple(v.shape):
                raise ValueError(f"Saved weight {_var_key(v)!r} has shape {value.shape}, expected {tuple(v.shape)}.")
            v.assign(value)

    def astype(self, dtype) -> SiVAENetwork:
        """A copy of this network with every variable cast to ``dtype``."""
        copy = SiVAENetwork(self.config, seed=0, dtype=dtype)
        copy.set_weights(self.get_weights())
        return copy

    def _ordered_variables(self) -> list[tf.Variable]:
        return sorted(self.variables, key=_var_key)

    def sample_network_kernels(self) -> list[tf.Variable]:
        """Kernels of the sample encoder and decoder (the L2 penalty acts on them)."""
        kernels = [v for v in self.sample_encoder.trainable_variables if "kernel" in v.name]
        if self.sample_decoder is not None:
            kernels += [v for v in self.sample_decoder.trainable_variables if "kernel" in v.name]
        return kernels


def _var_key(v: tf.Variable) -> str:
    return v.name.split(":")[0]
