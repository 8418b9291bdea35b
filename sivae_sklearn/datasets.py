"""Data for trying and testing siVAE: synthetic ground truth, bundled digits, standard file readers.

* :func:`make_feature_modules`: features that fall into known modules, each
  driven by its own latent factor through a non-linear map, plus pure-noise
  features. The ground truth for checking loadings and feature awareness.
* :func:`make_program_modules`: the same kind of ground truth made hard in
  the ways real programs are: correlated programs, modules of unequal size,
  mixed and non-monotone maps, heavy-tailed and sparse noise features; each
  difficulty is a knob that can be switched off.
* :func:`make_program_family`: many such problems whose settings vary, with
  a third of them hard, split into a tuning half and a held-out half.
* :func:`load_digits_images`: scikit-learn's bundled 8x8 digits, scaled, with
  their image shape (no download).
* :func:`make_colour_shapes`: small RGB images of coloured shapes with their
  class, a CIFAR-style colour data set made on the spot.
* :func:`read_mnist_idx` and :func:`read_cifar_batch`: readers for the file
  formats MNIST / Fashion-MNIST (IDX) and CIFAR-10 (python batches) ship in.
  Nothing is downloaded: pass the path of a file you already have.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state


def make_feature_modules(
    n_samples: int = 500,
    n_modules: int = 4,
    features_per_module: int = 10,
    n_noise_features: int = 10,
    *,
    noise: float = 0.3,
    nonlinearity: str = "tanh",
    shuffle: bool = True,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic data with known feature modules and pure-noise features.

    Each module ``m`` has its own standard-normal latent factor ``u_m``. A
    feature ``f`` of module ``m`` is ``g(a_f u_m + c_f) + noise * e_f`` with a
    positive random gain ``a_f`` in [1, 2], offset ``c_f`` in [-0.5, 0.5] and a
    non-linear ``g``; a noise feature is pure Gaussian noise. Every feature is
    then standardised (zero mean, unit variance), so noise features cannot be
    told apart by their scale.

    Parameters
    ----------
    n_samples : int, default=500
    n_modules : int, default=4
        Number of modules (and latent factors).
    features_per_module : int, default=10
    n_noise_features : int, default=10
    noise : float, default=0.3
        Standard deviation of the noise added to module features (before
        standardising).
    nonlinearity : {"tanh", "cubic", "exp"}, default="tanh"
        ``g``: ``tanh``, ``t + t^3 / 3`` or ``exp(t / 2)`` (all monotone).
    shuffle : bool, default=True
        Shuffle the feature order (the modules are not contiguous columns).
    random_state : int, RandomState instance or None

    Returns
    -------
    X : ndarray of shape (n_samples, n_modules * features_per_module + n_noise_features)
    modules : ndarray of shape (n_features,), int
        Module of each feature, ``-1`` for noise features.
    factors : ndarray of shape (n_samples, n_modules)
        The latent factors ``u``.

    Examples
    --------
    >>> X, modules, factors = make_feature_modules(100, n_modules=3, features_per_module=4,
    ...                                            n_noise_features=2, random_state=0)
    >>> X.shape, sorted(set(modules.tolist())), factors.shape
    ((100, 14), [-1, 0, 1, 2], (100, 3))
    """
    for name, value, low in (
        ("n_samples", n_samples, 2),
        ("n_modules", n_modules, 1),
        ("features_per_module", features_per_module, 1),
        ("n_noise_features", n_noise_features, 0),
    ):
        if not isinstance(value, Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    if not isinstance(noise, Real) or noise < 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}.")
    maps = {"tanh": np.tanh, "cubic": lambda t: t + t**3 / 3.0, "exp": lambda t: np.exp(t / 2.0)}
    if nonlinearity not in maps:
        raise ValueError(f"nonlinearity={nonlinearity!r} is not supported; expected one of {sorted(maps)}.")
    rng = check_random_state(random_state)
    factors = rng.standard_normal((n_samples, n_modules))
    modules = np.concatenate([np.repeat(np.arange(n_modules), features_per_module), -np.ones(n_noise_features, int)])
    n_signal = n_modules * features_per_module
    gain = rng.uniform(1.0, 2.0, n_signal)
    offset = rng.uniform(-0.5, 0.5, n_signal)
    signal = maps[nonlinearity](factors[:, modules[:n_signal]] * gain + offset)
    signal = signal + noise * rng.standard_normal(signal.shape)
    X = np.concatenate([signal, rng.standard_normal((n_samples, n_noise_features))], axis=1)
    if shuffle:
        order = rng.permutation(X.shape[1])
        X, modules = X[:, order], modules[order]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, modules.astype(int), factors


def _softplus2(t):
    return np.logaddexp(0.0, 2.0 * t)


# name -> (map g, half-width of the offsets c_f in g(a_f u + c_f)); the width of
# "tanh" and "softplus" is the ``threshold_spread`` argument.
_PROGRAM_MAPS = {
    "linear": (lambda t: t, 0.5),
    "tanh": (np.tanh, None),
    "softplus": (_softplus2, None),
    "quadratic": (lambda t: np.square(t + 1.0), 0.5),
    "sine": (lambda t: np.sin(t / 2.0), 0.5),
    "bump": (lambda t: np.exp(-np.square(t) / 2.0), 0.5),
    "exp": (lambda t: np.exp(t / 2.0), 0.5),
    "cubic": (lambda t: t**3, 0.5),
}
_NOISE_KINDS = ("mixed", "student_t", "sparse", "gaussian")


def make_program_modules(
    n_samples: int = 1000,
    n_programs: int = 4,
    module_size_range: int | tuple[int, int] = (5, 30),
    n_noise_features: int = 20,
    *,
    correlation: float = 0.6,
    maps=("tanh", "softplus", "quadratic"),
    noise_features: str = "mixed",
    noise: float = 0.5,
    threshold_spread: float = 2.0,
    shuffle: bool = True,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature modules driven by correlated latent programs: hard ground truth for loadings.

    Each of ``n_programs`` latent programs ``u_m`` is standard normal, and
    every pair is correlated with coefficient ``correlation``. Program ``m``
    drives a module of features; feature ``f`` of module ``m`` is
    ``g_m(a_f u_m + c_f)``, scaled to unit variance, plus Gaussian noise of
    standard deviation ``noise``, with a gain ``a_f`` in [1, 3] (positive, so a
    module is one direction in loading space) and an offset ``c_f``. The noise
    features carry no program. Every feature is finally standardised, so noise
    features cannot be told apart by their scale.

    Each argument below marked *hard* makes the modules harder to recover from
    loadings and has a setting that switches the difficulty off:

    * correlated programs (``correlation=0``: independent);
    * unequal module sizes (``module_size_range=15``: all equal);
    * mixed, thresholded and non-monotone maps (``maps=("linear",)``);
    * heavy-tailed and sparse noise features (``noise_features="gaussian"``).

    The modules stay in the data: average-linkage clustering of the features
    on ``1 - correlation`` recovers them exactly at the defaults, while the
    leading ``n_programs`` principal axes do not separate them (adjusted Rand
    index about 0.7), because a large thresholded module spreads over several
    principal axes and the correlated small modules share the others.

    Parameters
    ----------
    n_samples : int, default=1000
    n_programs : int, default=4
        Number of latent programs, one module each.
    module_size_range : int or (int, int), default=(5, 30)
        *Hard.* Module sizes spaced evenly from the first to the second
        number, smallest for module 0; one int gives modules of equal size.
    n_noise_features : int, default=20
    correlation : float, default=0.6
        *Hard.* Correlation coefficient of every pair of programs, in
        ``(-1 / (n_programs - 1), 1)``.
    maps : sequence of str, default=("tanh", "softplus", "quadratic")
        *Hard.* Map ``g_m`` of each module, cycled over the modules (module
        ``m`` gets ``maps[m % len(maps)]``). ``"tanh"`` (saturating) and
        ``"softplus"`` (``log(1 + exp(2 t))``, thresholded) switch on at
        offsets spread by ``threshold_spread``; the others have offsets in
        [-0.5, 0.5]: ``"quadratic"`` is ``(t + 1)^2``, so every feature turns
        around inside the data (non-monotone); ``"bump"`` is
        ``exp(-t^2 / 2)`` (non-monotone, near 0 away from its peak);
        ``"sine"`` is ``sin(t / 2)``, monotone near the centre, turning for
        the features of high gain; ``"exp"`` is ``exp(t / 2)`` (log-normal,
        a heavy right tail); ``"cubic"`` is ``t^3`` (heavy tails on both
        sides); ``"linear"`` is ``t``.
    noise_features : {"mixed", "student_t", "sparse", "gaussian"}, default="mixed"
        *Hard.* Distribution of the noise features: Student-t with 3 degrees
        of freedom (heavy tails), sparse (zero in 90% of samples, standard
        normal otherwise), half of each (``"mixed"``), or standard normal.
    noise : float, default=0.5
        Standard deviation of the Gaussian noise added to each module feature,
        relative to its signal.
    threshold_spread : float, default=2.0
        *Hard.* Offsets ``c_f`` of the ``"tanh"`` and ``"softplus"`` features
        are uniform in ``[-threshold_spread, threshold_spread]``: features of
        one module switch on at different levels of their program. 0 makes
        the features of such a module nearly copies of one another.
    shuffle : bool, default=True
        Shuffle the feature order (modules are not contiguous columns).
    random_state : int, RandomState instance or None

    Returns
    -------
    X : ndarray of shape (n_samples, n_module_features + n_noise_features)
        Standardised data.
    modules : ndarray of shape (n_features,), int
        Module (= program) of each feature, ``-1`` for noise features.
    programs : ndarray of shape (n_samples, n_programs)
        The latent programs ``u``.

    See Also
    --------
    make_feature_modules : Independent programs, equal modules, one monotone map.

    Examples
    --------
    >>> X, modules, programs = make_program_modules(500, random_state=0)
    >>> X.shape, programs.shape
    ((500, 90), (500, 4))
    >>> np.bincount(modules + 1).tolist()  # noise features, then modules 0 to 3
    [20, 5, 13, 22, 30]
    >>> round(float(np.corrcoef(programs.T)[0, 1]), 1)
    0.6
    """
    for name, value, low in (
        ("n_samples", n_samples, 2),
        ("n_programs", n_programs, 1),
        ("n_noise_features", n_noise_features, 0),
    ):
        if not isinstance(value, Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    sizes_arg = (module_size_range, module_size_range) if isinstance(module_size_range, Integral) else module_size_range
    if (
        len(tuple(sizes_arg)) != 2
        or not all(isinstance(s, Integral) and s >= 1 for s in sizes_arg)
        or sizes_arg[0] > sizes_arg[1]
    ):
        raise ValueError(
            f"module_size_range must be a positive int or a pair (low, high) of positive ints with "
            f"low <= high, got {module_size_range!r}."
        )
    low_rho = -1.0 / (n_programs - 1) if n_programs > 1 else -1.0
    if not isinstance(correlation, Real) or not low_rho < correlation < 1:
        raise ValueError(
            f"correlation must be in ({low_rho:.3g}, 1) for n_programs={n_programs} (a valid "
            f"correlation matrix), got {correlation!r}."
        )
    maps = (maps,) if isinstance(maps, str) else tuple(maps)
    unknown = [m for m in maps if m not in _PROGRAM_MAPS]
    if not maps or unknown:
        raise ValueError(f"maps must name one or more of {sorted(_PROGRAM_MAPS)}, got {maps!r}.")
    if noise_features not in _NOISE_KINDS:
        raise ValueError(f"noise_features={noise_features!r} is not supported; expected one of {_NOISE_KINDS}.")
    for name, value in (("noise", noise), ("threshold_spread", threshold_spread)):
        if not isinstance(value, Real) or value < 0:
            raise ValueError(f"{name} must be a non-negative number, got {value!r}.")
    rng = check_random_state(random_state)
    cov = np.full((n_programs, n_programs), float(correlation)) + (1.0 - correlation) * np.eye(n_programs)
    programs = rng.standard_normal((n_samples, n_programs)) @ np.linalg.cholesky(cov).T
    sizes = np.rint(np.linspace(sizes_arg[0], sizes_arg[1], n_programs)).astype(int)
    modules = np.concatenate([np.repeat(np.arange(n_programs), sizes), -np.ones(n_noise_features, int)])
    signal = []
    for m, size in enumerate(sizes):
        g, spread = _PROGRAM_MAPS[maps[m % len(maps)]]
        spread = threshold_spread if spread is None else spread
        gain = rng.uniform(1.0, 3.0, size)
        offset = rng.uniform(-spread, spread, size)
        signal.append(g(programs[:, [m]] * gain + offset))
    signal = np.concatenate(signal, axis=1)
    signal = signal / np.where(signal.std(axis=0) > 0, signal.std(axis=0), 1.0)
    signal = signal + noise * rng.standard_normal(signal.shape)
    half = n_noise_features // 2
    n_t, n_sparse, n_gauss = {
        "mixed": (n_noise_features - half, half, 0),
        "student_t": (n_noise_features, 0, 0),
        "sparse": (0, n_noise_features, 0),
        "gaussian": (0, 0, n_noise_features),
    }[noise_features]
    spikes = rng.standard_normal((n_samples, n_sparse)) * (rng.uniform(size=(n_samples, n_sparse)) < 0.1)
    X = np.concatenate(
        [signal, rng.standard_t(3, size=(n_samples, n_t)), spikes, rng.standard_normal((n_samples, n_gauss))],
        axis=1,
    )
    if shuffle:
        order = rng.permutation(X.shape[1])
        X, modules = X[:, order], modules[order]
    std = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return X, modules.astype(int), programs


FAMILY_HALVES = ("tuning", "heldout")
"""The halves of :func:`make_program_family`: one to choose settings on, one to confirm them on."""

_FAMILY_HARD_SHARE = 1.0 / 3.0
_FAMILY_HARD_REFERENCE = 0.8
_FAMILY_HARD_NOISE_START = 2.0
_FAMILY_NOISE_STEP = 1.25


def _correlation_row_recovery(X, modules) -> float:
    """Module recovery of the features' correlation rows (the reference of the hard configurations)."""
    from .metrics import module_recovery

    return module_recovery(np.corrcoef(X.T), modules)


def _family_design(n_configs: int, random_state) -> list[dict]:
    """The settings of :func:`make_program_family` before any data are drawn: split, hardness, parameters."""
    rng = check_random_state(random_state)
    hard = np.zeros(n_configs, bool)
    hard[rng.permutation(n_configs)[: int(np.ceil(n_configs * _FAMILY_HARD_SHARE - 1e-9))]] = True
    halves = np.empty(n_configs, object)
    dealt = 0
    for group in (np.flatnonzero(hard), np.flatnonzero(~hard)):
        for i in rng.permutation(group):
            halves[i] = FAMILY_HALVES[dealt % 2]
            dealt += 1
    extra = rng.permutation(np.arange(n_configs) % 2)
    maps, kinds = sorted(_PROGRAM_MAPS), list(_NOISE_KINDS)
    designs = []
    for i in range(n_configs):
        n_programs = int(rng.randint(3, 9))
        low = int(rng.randint(3, 11))
        high = int(rng.randint(max(low + 8, 15), 41))
        n_signal = int(np.sum(np.rint(np.linspace(low, high, n_programs))))
        share = rng.uniform(0.0, 0.5)
        params = {
            "n_samples": int(np.rint(np.exp(rng.uniform(np.log(500), np.log(5000))))),
            "n_programs": n_programs,
            "module_size_range": (low, high),
            "n_noise_features": int(np.rint(share / (1.0 - share) * n_signal)),
            "correlation": float(rng.uniform(0.0, 0.7)),
            "maps": tuple(str(m) for m in rng.choice(maps, n_programs)),
            "noise_features": str(kinds[rng.randint(len(kinds))]),
            "noise": float(rng.uniform(0.2, 0.8)),
            "threshold_spread": float(rng.uniform(1.0, 2.5)),
            "random_state": int(rng.randint(np.iinfo(np.int32).max)),
        }
        designs.append(
            {
                "index": i,
                "half": str(halves[i]),
                "hard": bool(hard[i]),
                "n_components": int(n_programs + extra[i]),
                "params": params,
            }
        )
    return designs


def make_program_family(
    n_configs: int = 48,
    *,
    half: str = "all",
    random_state=None,
) -> list[tuple[np.ndarray, np.ndarray, dict]]:
    """A family of planted-module problems whose settings vary: data nobody tuned a method on.

    Each configuration is one :func:`make_program_modules` problem with its
    own settings, drawn as follows:

    * ``n_programs`` uniform in 3 to 8, and the latent dimension to fit,
      ``n_components``, either ``n_programs`` or ``n_programs + 1`` (half of
      the configurations each);
    * ``correlation`` between programs uniform in [0, 0.7];
    * module sizes spaced evenly between a smallest size in 3 to 10 and a
      largest in 15 to 40, at least 8 apart (so always unequal);
    * the map of each module drawn from all eight maps of
      :func:`make_program_modules` (monotone, non-monotone, saturating,
      thresholded, heavy-tailed), with replacement;
    * ``threshold_spread`` uniform in [1, 2.5];
    * noise features: a share of the features uniform in [0, 0.5], of one
      kind drawn from ``"gaussian"``, ``"student_t"``, ``"sparse"`` and
      ``"mixed"``;
    * ``n_samples`` log-uniform in 500 to 5,000.

    A third of the configurations (rounded up) are *hard*: their per-feature
    noise starts at 2 and grows by a factor 1.25 until the features' own
    correlation rows, clustered as :func:`sivae_sklearn.metrics.module_recovery`
    clusters loadings, recover the modules at an adjusted Rand index below 0.8
    (so the noise is the smallest that makes the reference fail).
    The others draw their noise uniformly from [0.2, 0.8].

    **The split.** The configurations are split into a tuning half and a
    held-out half once, from ``random_state``, before any data are drawn:
    the hard and the other configurations are each shuffled and dealt
    alternately to the tuning and the held-out half, so each half has
    ``n_configs // 2`` or more configurations and the same share of hard
    ones (within one). The data of a configuration come from a seed of its
    own, so they do not depend on ``half``.

    Parameters
    ----------
    n_configs : int, default=48
        Number of configurations, at least 2.
    half : {"all", "tuning", "heldout"}, default="all"
        Return every configuration, or only those of one half.
    random_state : int, RandomState instance or None
        Decides the settings, the split and every configuration's data seed.

    Returns
    -------
    problems : list of (X, modules, settings)
        In the order of ``settings["index"]``. ``X`` (standardised) and
        ``modules`` (``-1`` for noise features) are as
        :func:`make_program_modules` returns them, so ``modules`` is what
        :func:`sivae_sklearn.metrics.module_recovery` takes. ``settings`` is
        a dict: ``index``, ``half``, ``hard``, ``n_components``,
        ``n_features``, ``noise_share`` (share of noise features), ``reference_ari`` (the
        correlation-row recovery above), and ``params``, the keyword
        arguments (``random_state`` included) with which
        ``make_program_modules(**params)`` makes ``X`` and ``modules`` again.

    See Also
    --------
    make_program_modules : One problem of the family.

    Examples
    --------
    >>> problems = make_program_family(4, random_state=0)
    >>> [s["half"] for _, _, s in problems]
    ['tuning', 'heldout', 'tuning', 'heldout']
    >>> X, modules, settings = problems[0]
    >>> X.shape == (settings["params"]["n_samples"], modules.size)
    True
    >>> settings["n_components"] - settings["params"]["n_programs"] in (0, 1)
    True
    >>> [s["hard"] for _, _, s in problems]  # a third, rounded up: 2 of 4
    [False, False, True, True]
    """
    if not isinstance(n_configs, Integral) or isinstance(n_configs, bool) or n_configs < 2:
        raise ValueError(f"n_configs must be an integer >= 2, got {n_configs!r}.")
    if half not in ("all", *FAMILY_HALVES):
        raise ValueError(f"half={half!r} is not supported; expected 'all', 'tuning' or 'heldout'.")
    problems = []
    for design in _family_design(n_configs, random_state):
        if half != "all" and design["half"] != half:
            continue
        params = design["params"]
        if design["hard"]:
            params["noise"] = _FAMILY_HARD_NOISE_START
        X, modules, _ = make_program_modules(**params)
        reference = _correlation_row_recovery(X, modules)
        while design["hard"] and reference >= _FAMILY_HARD_REFERENCE:
            params["noise"] *= _FAMILY_NOISE_STEP
            X, modules, _ = make_program_modules(**params)
            reference = _correlation_row_recovery(X, modules)
        settings = {
            "index": design["index"],
            "half": design["half"],
            "hard": design["hard"],
            "n_components": design["n_components"],
            "n_features": int(X.shape[1]),
            "noise_share": float(np.mean(modules < 0)),
            "reference_ari": float(reference),
            "params": params,
        }
        problems.append((X, modules, settings))
    return problems


def load_digits_images(n_samples: int | None = None, *, scale: str = "standard"):
    """scikit-learn's bundled 8x8 digits with their image shape.

    Parameters
    ----------
    n_samples : int, optional
        Keep only the first ``n_samples`` images.
    scale : {"standard", "unit"}, default="standard"
        ``"standard"``: every pixel z-scored (constant pixels set to 0), for
        ``likelihood="gaussian"``; ``"unit"``: intensities divided by 16, in
        [0, 1], for ``likelihood="bernoulli"``.

    Returns
    -------
    X : ndarray of shape (n_samples, 64), float64
    y : ndarray of shape (n_samples,), int
    image_shape : tuple
        ``(8, 8)``.

    Examples
    --------
    >>> X, y, shape = load_digits_images(100)
    >>> X.shape, shape
    ((100, 64), (8, 8))
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = digits.data.astype(np.float64), digits.target.astype(int)
    if n_samples is not None:
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        X, y = X[:n_samples], y[:n_samples]
    if scale == "standard":
        std = X.std(axis=0)
        X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    elif scale == "unit":
        X = X / 16.0
    else:
        raise ValueError(f"scale={scale!r} is not supported; expected 'standard' or 'unit'.")
    return X, y, (8, 8)


SHAPES = ("square", "disc", "triangle", "cross")
"""The classes of :func:`make_colour_shapes`, in label order."""

_PALETTE = np.array(
    [[0.9, 0.2, 0.2], [0.2, 0.8, 0.3], [0.25, 0.4, 0.95], [0.95, 0.85, 0.2], [0.9, 0.3, 0.9], [0.2, 0.85, 0.9]]
)


def make_colour_shapes(
    n_samples: int = 1000,
    size: int = 16,
    *,
    noise: float = 0.05,
    random_state=None,
) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    """Small RGB images of coloured shapes on a dark background, labelled by shape: a CIFAR-style set.

    Each image holds one shape (:data:`SHAPES`: square, disc, triangle,
    cross) of random position and size, in one of six colours (red, green,
    blue, yellow, magenta, cyan, each slightly jittered), on a dark, slightly
    tinted background, plus Gaussian pixel noise. The class is the shape, so colour
    and position are nuisance factors an embedding has to see past, as in
    CIFAR-10, at a size that trains in seconds.

    Parameters
    ----------
    n_samples : int, default=1000
    size : int, default=16
        Height and width of each image (at least 8).
    noise : float, default=0.05
        Standard deviation of the pixel noise (before clipping to [0, 1]).
    random_state : int, RandomState instance or None

    Returns
    -------
    X : ndarray of shape (n_samples, size * size * 3), float64
        Intensities in [0, 1], channels last (``X.reshape(-1, size, size, 3)``
        gives the images); suits ``likelihood="bernoulli"``.
    y : ndarray of shape (n_samples,), int
        Index into :data:`SHAPES`.
    image_shape : tuple
        ``(size, size, 3)``.

    Examples
    --------
    >>> X, y, shape = make_colour_shapes(20, random_state=0)
    >>> X.shape, shape, sorted(set(y.tolist())) == [0, 1, 2, 3], bool(X.min() >= 0 and X.max() <= 1)
    ((20, 768), (16, 16, 3), True, True)
    """
    for name, value, low in (("n_samples", n_samples, 1), ("size", size, 8)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    if not isinstance(noise, Real) or noise < 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}.")
    rng = check_random_state(random_state)
    y = np.arange(n_samples) % len(SHAPES)
    rng.shuffle(y)
    rows, cols = np.mgrid[0:size, 0:size] + 0.5
    images = np.empty((n_samples, size, size, 3))
    for i, kind in enumerate(y):
        radius = rng.uniform(0.2, 0.35) * size
        cy, cx = rng.uniform(radius, size - radius, 2)
        dy, dx = (rows - cy) / radius, (cols - cx) / radius
        mask = {
            0: np.maximum(np.abs(dy), np.abs(dx)) <= 0.8,
            1: dy**2 + dx**2 <= 1.0,
            2: (dy <= 0.8) & (np.abs(dx) <= (dy + 1.0) / 2.0),
            3: (np.minimum(np.abs(dy), np.abs(dx)) <= 0.3) & (np.maximum(np.abs(dy), np.abs(dx)) <= 1.0),
        }[int(kind)]
        colour = np.clip(_PALETTE[rng.randint(len(_PALETTE))] + rng.uniform(-0.1, 0.1, 3), 0.0, 1.0)
        background = rng.uniform(0.0, 0.2, 3)
        images[i] = np.where(mask[..., None], colour, background)
    images += noise * rng.standard_normal(images.shape)
    return np.clip(images, 0.0, 1.0).reshape(n_samples, -1), y.astype(int), (size, size, 3)


# ----------------------------------------------------------------- file readers
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_maybe_gzip(path) -> bytes:
    path = os.fspath(path)
    with open(path, "rb") as fh:
        head = fh.read(2)
        fh.seek(0)
        if head == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=fh) as gz:
                return gz.read()
        return fh.read()


def read_mnist_idx(path) -> np.ndarray:
    """Read an IDX file (the format of MNIST and Fashion-MNIST), gzipped or not.

    Parameters
    ----------
    path : str or path-like
        E.g. ``train-images-idx3-ubyte.gz`` (images, shape (n, 28, 28)) or
        ``train-labels-idx1-ubyte`` (labels, shape (n,)).

    Returns
    -------
    array : ndarray
        The stored array with the stored shape and dtype (uint8 for MNIST).
        Flatten and scale images yourself, e.g. ``X.reshape(len(X), -1) / 255``.

    Raises
    ------
    ValueError
        If the file is not an IDX file or its size does not match its header.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> with open(path, "wb") as fh:
    ...     _ = fh.write(bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + bytes([7, 2, 1]))
    >>> read_mnist_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    data = _read_maybe_gzip(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(
            f"{os.fspath(path)!r} is not an IDX file: expected the magic bytes 0x00 0x00 <type> <ndim> "
            f"with type one of {[hex(t) for t in _IDX_TYPES]}."
        )
    dtype = np.dtype(_IDX_TYPES[data[2]])
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{os.fspath(path)!r} is truncated: its IDX header declares {ndim} dimensions.")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(
            f"{os.fspath(path)!r} holds {len(data) - header} data bytes but its header {shape} "
            f"declares {expected}: truncated or not an IDX file."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild NumPy arrays, lists, dicts, bytes and numbers, nothing else."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"Refusing to load {module}.{name}: a CIFAR batch holds only arrays, lists and bytes."
        )


def read_cifar_batch(path, *, channels_last: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10/100 "python version" batch file (e.g. ``data_batch_1``).

    The format is a Python pickle. It is parsed with a restricted unpickler
    that rebuilds only NumPy arrays, lists, dicts, strings and numbers and
    refuses any other class, so a tampered file cannot run code. Still,
    prefer files from a source you trust.

    Parameters
    ----------
    path : str or path-like
    channels_last : bool, default=True
        CIFAR stores each image as three planes (1024 red, then 1024 green,
        then 1024 blue values). ``True`` reorders every row to channels last,
        so that ``X.reshape(-1, 32, 32, 3)`` gives the images and
        ``image_shape=(32, 32, 3)`` is what the plots and the explorer take.
        ``False`` keeps the stored order (``X.reshape(-1, 3, 32, 32)``).

    Returns
    -------
    X : ndarray of shape (n_images, 3072), uint8
        One image per row; divide by 255 for ``likelihood="bernoulli"``.
    y : ndarray of shape (n_images,), int
        ``labels`` (CIFAR-10) or ``fine_labels`` (CIFAR-100).

    Raises
    ------
    ValueError
        If the file is not such a batch.

    Examples
    --------
    >>> import os, pickle, tempfile
    >>> planes = np.arange(3 * 1024).reshape(1, 3072) % 256  # red, green, blue planes
    >>> path = os.path.join(tempfile.mkdtemp(), "data_batch_1")
    >>> with open(path, "wb") as fh:
    ...     pickle.dump({b"data": planes.astype(np.uint8), b"labels": [3]}, fh, protocol=2)
    >>> X, y = read_cifar_batch(path)
    >>> X.reshape(-1, 32, 32, 3)[0, 0, 1].tolist()  # row 0, column 1: its red, green, blue
    [1, 1, 1]
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        batch = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as exc:
        raise ValueError(f"{path!r} is not a readable CIFAR python batch: {exc}") from exc
    if not isinstance(batch, dict):
        raise ValueError(f"{path!r} is not a CIFAR python batch: expected a dict with 'data' and 'labels'.")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    label_key = next((k for k in ("labels", "fine_labels") if k in batch), None)
    if "data" not in batch or label_key is None:
        raise ValueError(
            f"{path!r} is not a CIFAR python batch: expected keys 'data' and 'labels' (or 'fine_labels'), "
            f"got {sorted(map(str, batch))}."
        )
    X = np.asarray(batch["data"])
    y = np.asarray(batch[label_key], dtype=int)
    if X.ndim != 2 or X.shape[0] != y.shape[0] or X.shape[1] % 3:
        raise ValueError(f"{path!r}: 'data' has shape {X.shape} and the labels {y.shape}; expected (n, 3072) and (n,).")
    if channels_last:
        X = np.ascontiguousarray(X.reshape(X.shape[0], 3, -1).transpose(0, 2, 1)).reshape(X.shape[0], -1)
    return X, y
