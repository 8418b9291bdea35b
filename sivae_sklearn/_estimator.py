"""The scikit-learn estimator :class:`SiVAE`.

``fit(X)`` in five steps, each in its own module:

1. validate ``X`` and the parameters (here);
2. split off a validation set and reduce every feature to a fixed-width input
   for the feature-wise encoder (:mod:`._feature_inputs`);
3. build the sample-wise and feature-wise VAEs (:mod:`._network`);
4. train them jointly with minibatches and a compiled step (:mod:`._training`,
   loss terms in :mod:`._losses`);
5. read the fitted attributes off the trained network: ``components_`` are the
   feature posterior means (the loadings), ``feature_awareness_`` comes from
   :mod:`._interpret`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _interpret, _supervision
from ._feature_inputs import FEATURE_INPUT_METHODS, make_feature_inputs
from ._inference import CompiledModel, RowSubset, iter_row_batches
from ._losses import LIKELIHOODS
from ._network import NetworkConfig, SiVAENetwork
from ._training import TrainingConfig, TrainingData, train

_FLOAT32_MAX = float(np.finfo(np.float32).max)
_FEATURE_INPUT_MAX_ROWS = 20_000


def check_count_values(values, likelihood: str, source: str, *, stacklevel: int = 3) -> None:
    """Raise on negative values and warn on non-integers under a count likelihood.

    Parameters
    ----------
    values : ndarray
        The data values (``.data`` of a sparse matrix).
    likelihood : str
        ``"poisson"`` or ``"nb"``, for the message.
    source : str
        Where the data came from (``"X"``, ``"adata.layers['counts']"``), for the message.
    stacklevel : int, default=3
        Passed to :func:`warnings.warn`.
    """
    if values.size == 0:
        return
    lo = float(np.nanmin(values))
    if lo < 0:
        raise ValueError(
            f"likelihood={likelihood!r} models raw counts and needs non-negative data, but {source} holds "
            f"negative values (minimum {lo:.3g}); it looks normalised or scaled. Pass raw counts "
            f"(e.g. layer='counts') or use likelihood='gaussian'."
        )
    if not np.all(np.equal(np.mod(values, 1), 0)):
        warnings.warn(
            f"likelihood={likelihood!r} expects integer counts but {source} holds non-integer values; "
            f"is it normalised data rather than raw counts? Pass raw counts (e.g. layer='counts').",
            UserWarning,
            stacklevel=stacklevel,
        )


class SiVAE(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Scalable, interpretable variational autoencoder (siVAE).

    A non-linear dimensionality reduction with PCA's interface. Two VAEs are
    trained together: a sample-wise VAE embeds each row of ``X`` into
    ``n_components`` latent dimensions, and a feature-wise VAE embeds each
    column into the same latent space. The feature-wise decoder produces the
    last weight matrix of the sample-wise decoder, so the feature embeddings
    are *loadings*: ``components_[k, f]`` says how feature ``f`` defines latent
    dimension ``k``, as in PCA.

    Parameters
    ----------
    n_components : int, default=2
        Latent dimensions K of samples and features.
    hidden_layer_sizes : tuple of int, default=(512, 128)
        Widths of the encoder layers; decoders mirror them and end in a linear
        layer of width ``h = hidden_layer_sizes[0]``. ``()`` gives a linear decoder
        (``x_hat = z V^T + b``).
    likelihood : {"gaussian", "bernoulli", "poisson", "nb"}, default="gaussian"
        Observation model. ``"gaussian"`` (per-feature learned variance) for
        standardised data, ``"bernoulli"`` for data in [0, 1] such as images,
        ``"poisson"`` and ``"nb"`` (negative binomial) for raw counts.
    beta : float, default=1.0
        Weight of the KL terms of both latent spaces.
    kl_warmup_steps : int, default=1000
        Training steps over which the KL weight rises linearly from 0 to ``beta``.
    interpretability_weight : float, default=0.05
        Weight gamma of ``mean_c sum_f (x_cf - z_c . v_f - b_f)^2``, which ties
        the embedding linearly to the loadings. 0 switches it off.
    l2_penalty : float, default=1e-3
        Weight of the squared L2 norm of the sample network's kernels.
    feature_input : {"pca", "subsample"}, default="pca"
        How each feature (column) is reduced before the feature-wise encoder:
        its coordinates on the leading principal axes of the training samples,
        or its values on a fixed random subset of training samples.
    feature_input_size : int, default=50
        Width of that reduced input (capped by the data).
    learning_rate : float, default=1e-3
        Adam step size.
    batch_size : int, default=128
        Samples per minibatch (capped by the training set size).
    max_epochs : int, default=300
        Maximum passes over the training data in the joint phase.
    schedule : {"joint", "stepwise"}, default="joint"
        ``"stepwise"`` (as the original siVAE): pretrain the sample-wise VAE
        with a free last weight matrix, then the feature-wise VAE to regress
        that matrix, then train both jointly. ``"joint"``: joint from the start.
        See ``docs/design.md`` for the measurements behind the default.
    pretrain_epochs : int, default=100
        Maximum epochs of each pretraining phase (``schedule="stepwise"``).
    early_stopping : bool, default=True
        Stop when the monitored loss (validation loss if there is a validation
        set, else training loss) has not improved by ``tol`` (relative) for
        ``n_iter_no_change`` epochs after the KL warm-up, and restore the best
        weights.
    validation_fraction : float, default=0.1
        Share of samples held out to monitor the loss. 0 uses no validation set.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Relative improvement that resets the patience.
    conditional : bool, default=False
        Condition the sample *decoder* on a categorical variable (a class label
        for images, the batch for genomics): ``fit(X, y)`` then uses ``y`` (or
        the ``condition`` argument of ``fit``) as the condition, appended one-hot
        to the decoder input. The encoder reads only ``X``, so ``transform(X)``
        needs no label; :meth:`inverse_transform`, :meth:`sample` and
        :meth:`score_samples` take ``condition=`` to choose it. Off by default
        because a :class:`~sklearn.pipeline.Pipeline` passes ``y`` to every step.
    classifier_weight : float, default=0.0
        Weight of a softmax classification head on the latent means, trained
        on ``y`` (cross-entropy). 0 switches the head off; above 0 the labels
        shape the embedding and :meth:`predict` / :meth:`predict_proba` exist.
    classifier_layer_sizes : tuple of int, default=(64,)
        Hidden widths of the classification head (``()``: a linear head).
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the validation split, the minibatch order and the
        sampling noise. Two fits with the same integer give the same model,
        bit for bit on CPU; no global TensorFlow or NumPy seed is set.
    verbose : int, default=0
        Print a progress bar to stderr when positive.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Loadings: the posterior means of the feature embeddings, transposed.
    feature_awareness_ : ndarray of shape (n_features,)
        Feature awareness of the last decoder level over the training data
        (``var_f - mse_f`` of the reconstruction): how much of each feature the
        embedding carries. The last level is summarised because it is the
        model's actual reconstruction; other levels need the data again, see
        :meth:`feature_awareness`.
    explained_variance_ : ndarray of shape (n_components,)
        Variance of each dimension's rank-1 reconstruction ``z_d v_d^T`` over
        the training data, ``var(z_d) * ||v_d||^2`` (PCA's quantity; rank the
        dimensions by it).
    explained_variance_ratio_ : ndarray of shape (n_components,)
        ``explained_variance_`` over the total variance of the training data.
        The dimensions are not orthogonal, so unlike PCA the ratios can
        overlap and their sum is not bounded by 1.
    feature_variance_ : ndarray of shape (n_features,)
        Per-feature variance of the training data (as the encoder sees it).
    mean_ : ndarray of shape (n_features,)
        Per-feature mean of the training data (as the encoder sees it).
    n_components_ : int
        Number of latent dimensions.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.
    history_ : dict of str to list of float
        Each loss term per epoch on the training set (``"loss"``,
        ``"reconstruction"``, ``"kl_sample"``, ``"kl_feature"``,
        ``"interpretability"``, ``"l2"``, ``"classification"``, ``"beta"``) and
        the validation set (the same names prefixed by ``"val_"``).
    n_iter_ : int
        Number of epochs run.
    condition_categories_ : ndarray of shape (n_conditions,)
        Categories of the condition, in one-hot order (``conditional=True`` only).
    classes_ : ndarray of shape (n_classes,)
        Class labels of the classification head (``classifier_weight > 0`` only).

    See Also
    --------
    sklearn.decomposition.PCA : Linear counterpart with the same interface.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sivae_sklearn import SiVAE
    >>> X = StandardScaler().fit_transform(load_digits().data[:300])
    >>> model = SiVAE(n_components=2, max_epochs=3, random_state=0)
    >>> Z = model.fit_transform(X)
    >>> Z.shape, model.components_.shape
    ((300, 2), (2, 64))
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [tuple, list],
        "likelihood": [StrOptions(set(LIKELIHOODS))],
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup_steps": [Interval(Integral, 0, None, closed="left")],
        "interpretability_weight": [Interval(Real, 0, None, closed="left")],
        "l2_penalty": [Interval(Real, 0, None, closed="left")],
        "feature_input": [StrOptions(set(FEATURE_INPUT_METHODS))],
        "feature_input_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "schedule": [StrOptions({"joint", "stepwise"})],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "conditional": ["boolean"],
        "classifier_weight": [Interval(Real, 0, None, closed="left")],
        "classifier_layer_sizes": [tuple, list],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components: int = 2,
        *,
        hidden_layer_sizes: tuple[int, ...] = (512, 128),
        likelihood: str = "gaussian",
        beta: float = 1.0,
        kl_warmup_steps: int = 1000,
        interpretability_weight: float = 0.05,
        l2_penalty: float = 1e-3,
        feature_input: str = "pca",
        feature_input_size: int = 50,
        learning_rate: float = 1e-3,
        batch_size: int = 128,
        max_epochs: int = 300,
        schedule: str = "joint",
        pretrain_epochs: int = 100,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        conditional: bool = False,
        classifier_weight: float = 0.0,
        classifier_layer_sizes: tuple[int, ...] = (64,),
        random_state=None,
        verbose: int = 0,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.likelihood = likelihood
        self.beta = beta
        self.kl_warmup_steps = kl_warmup_steps
        self.interpretability_weight = interpretability_weight
        self.l2_penalty = l2_penalty
        self.feature_input = feature_input
        self.feature_input_size = feature_input_size
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.schedule = schedule
        self.pretrain_epochs = pretrain_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.conditional = conditional
        self.classifier_weight = classifier_weight
        self.classifier_layer_sizes = classifier_layer_sizes
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, condition=None):
        """Fit the sample-wise and feature-wise VAEs to ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Sparse input is densified one minibatch at a time.
        y : array-like of shape (n_samples,), default=None
            Ignored by the default estimator. With ``classifier_weight > 0``:
            the class labels of the classification head. With
            ``conditional=True`` and no ``condition``: the condition.
        condition : array-like of shape (n_samples,), default=None
            Categorical condition of the decoder (e.g. the batch of each cell)
            when ``conditional=True``; takes precedence over ``y``, so that
            ``fit(X, cell_types, condition=batches)`` conditions on the batch
            while the classification head learns the cell types.

        Returns
        -------
        self : SiVAE
            The fitted estimator.
        """
        X = self._validate_training_data(X)
        # ---- supervision (conditional decoder, classifier head) -------------
        cond_onehot, labels = self._fit_supervision(X.shape[0], y, condition)
        # ----------------------------------------------------------------------
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        train_idx, val_idx = self._split(X.shape[0], rng)
        # Views, not copies: the training rows are read batch by batch.
        X_train = X if train_idx.size == X.shape[0] else RowSubset(X, train_idx)
        X_val = X[val_idx] if val_idx.size else None

        # The feature-wise input is computed from at most _FEATURE_INPUT_MAX_ROWS
        # training rows, so its cost (and memory) does not grow with n_samples.
        sub = train_idx
        if sub.size > _FEATURE_INPUT_MAX_ROWS:
            sub = np.sort(rng.choice(train_idx, _FEATURE_INPUT_MAX_ROWS, replace=False))
        feature_inputs = make_feature_inputs(
            self._encoder_view(X[sub]), self.feature_input, self.feature_input_size, rng
        )
        config = NetworkConfig(
            n_features=X.shape[1],
            n_feature_inputs=feature_inputs.shape[1],
            n_components=self.n_components,
            hidden_layer_sizes=tuple(int(h) for h in self.hidden_layer_sizes),
            n_conditions=0 if cond_onehot is None else cond_onehot.shape[1],
            n_classes=0 if labels is None else len(self.classes_),
            classifier_layer_sizes=tuple(int(h) for h in self.classifier_layer_sizes) if labels is not None else (),
            input_transform="log1p" if self.likelihood in ("poisson", "nb") else "none",
        )
        network = SiVAENetwork(config, seed=seed)
        network.feature_inputs.assign(feature_inputs)

        def rows(idx):
            return (
                None if cond_onehot is None else cond_onehot[idx],
                None if labels is None else labels[idx],
            )

        result = train(
            network,
            TrainingData(X_train, *rows(train_idx)),
            TrainingData(X_val, *rows(val_idx)) if X_val is not None else None,
            self._training_config(X_train.shape[0]),
            seed,
        )
        self._network_config = config
        self._network = network
        self._model = CompiledModel(network, self.likelihood)
        self.history_ = result.history
        self.n_iter_ = result.n_iter
        self.n_components_ = self.n_components
        self._set_interpretation(X_train, None if cond_onehot is None else cond_onehot[train_idx])
        return self

    # ------------------------------------------- supervision (issue 5 block)
    def _fit_supervision(self, n_samples: int, y, condition):
        """Validate ``y`` / ``condition``; set ``condition_categories_`` and ``classes_``.

        Returns the one-hot condition (or None) and the integer labels (or None).
        """
        for attr in ("condition_categories_", "classes_"):
            if hasattr(self, attr):
                delattr(self, attr)
        if condition is not None and not self.conditional:
            raise ValueError("fit got condition=..., but conditional=False; set conditional=True to use it.")
        cond_onehot = labels = None
        if self.conditional:
            source, name = (condition, "condition") if condition is not None else (y, "y")
            if source is None:
                raise ValueError(
                    "conditional=True needs the condition of every sample: call fit(X, y) with y the "
                    "category of each row (e.g. class label or batch), or fit(X, condition=...)."
                )
            categories, codes = _supervision.encode_categories(source, n_samples, name)
            self.condition_categories_ = categories
            cond_onehot = _supervision.one_hot(codes, len(categories))
        if self.classifier_weight > 0:
            if y is None:
                raise ValueError(
                    f"classifier_weight={self.classifier_weight} > 0 trains a classification head "
                    f"and needs class labels: call fit(X, y)."
                )
            self.classes_, labels = _supervision.encode_categories(y, n_samples, "y")
        return cond_onehot, labels

    def _condition_onehot(self, condition, n_rows: int, caller: str):
        """One-hot condition for ``n_rows`` rows of a conditional model (None otherwise)."""
        if not getattr(self, "conditional", False) or not hasattr(self, "condition_categories_"):
            if condition is not None:
                raise ValueError(f"{caller} got condition=..., but the model was fitted with conditional=False.")
            return None
        if condition is None:
            raise ValueError(
                f"{caller} needs condition=...: this model was fitted with conditional=True on the "
                f"categories {list(self.condition_categories_)}; pass one category for all rows or one per row."
            )
        codes = _supervision.codes_for(condition, self.condition_categories_, n_rows, "condition")
        return _supervision.one_hot(codes, len(self.condition_categories_))

    def _has_classifier(self):
        return self.classifier_weight > 0

    @available_if(_has_classifier)
    def predict_proba(self, X):
        """Class probabilities of the classification head at the embedding.

        Only available with ``classifier_weight > 0``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        X = self._check_X(X)
        mean, _ = self._model.embed(_as_rows(X))
        return _supervision.class_probabilities(self._network, mean)

    @available_if(_has_classifier)
    def predict(self, X):
        """Most probable class of each sample under the classification head.

        Only available with ``classifier_weight > 0``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # ---------------------------------------- end of supervision (issue 5 block)

    def _validate_training_data(self, X):
        X = validate_data(
            self,
            X,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
            ensure_min_samples=2,
            reset=True,
        )
        n_samples, n_features = X.shape
        if self.n_components > n_features:
            raise ValueError(
                f"n_components={self.n_components} must be <= n_features={n_features}: "
                f"the latent space cannot have more dimensions than the data."
            )
        for name in ("hidden_layer_sizes",):
            sizes = getattr(self, name)
            if not all(isinstance(h, Integral) and h >= 1 for h in sizes):
                raise ValueError(f"{name} must be a tuple of positive integers, got {sizes!r}.")
        if sp.issparse(X):
            X = X.tocsr().astype(np.float32, copy=False)
            values = X.data
        else:
            values = X
        biggest = float(max(values.max(), -values.min())) if values.size else 0.0
        if biggest > _FLOAT32_MAX:
            raise ValueError(
                f"X holds values up to {biggest:.3g}, beyond float32 range; SiVAE trains in "
                f"float32. Rescale the data (e.g. StandardScaler)."
            )
        self._check_likelihood_support(X)
        if not sp.issparse(X):
            X = np.ascontiguousarray(X, dtype=np.float32)
        return X

    def _check_likelihood_support(self, X):
        values = X.data if sp.issparse(X) else X
        if values.size == 0:
            return
        lo, hi = float(values.min()), float(values.max())
        if sp.issparse(X) and X.nnz < X.shape[0] * X.shape[1]:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        if self.likelihood == "bernoulli" and (lo < 0 or hi > 1):
            raise ValueError(
                f"likelihood='bernoulli' needs data in [0, 1], got values in [{lo:.3g}, {hi:.3g}]. "
                f"Scale the data (e.g. divide pixel intensities by their maximum) or use "
                f"likelihood='gaussian'."
            )
        if self.likelihood in ("poisson", "nb"):
            check_count_values(values, self.likelihood, "X", stacklevel=4)

    def _split(self, n_samples: int, rng: np.random.RandomState):
        order = rng.permutation(n_samples)
        n_val = int(math.floor(n_samples * self.validation_fraction)) if self.early_stopping else 0
        if n_samples - n_val < 2:
            n_val = 0
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def _training_config(self, n_train: int) -> TrainingConfig:
        return TrainingConfig(
            likelihood=self.likelihood,
            beta=float(self.beta),
            kl_warmup_steps=int(self.kl_warmup_steps),
            interpretability_weight=float(self.interpretability_weight),
            l2_penalty=float(self.l2_penalty),
            classifier_weight=float(self.classifier_weight),
            learning_rate=float(self.learning_rate),
            batch_size=int(min(self.batch_size, n_train)),
            max_epochs=int(self.max_epochs),
            schedule=self.schedule,
            pretrain_epochs=int(self.pretrain_epochs),
            early_stopping=bool(self.early_stopping),
            n_iter_no_change=int(self.n_iter_no_change),
            tol=float(self.tol),
            verbose=int(self.verbose),
        )

    def _encoder_view(self, X):
        """``X`` as the sample encoder sees it (log-normalised for count models)."""
        if self.likelihood not in ("poisson", "nb"):
            return X
        library = np.asarray(X.sum(axis=1), dtype=np.float64).reshape(-1, 1)
        scale = (1e4 / np.maximum(library, 1.0)).astype(np.float32)  # float32: no float64 copy of X
        if sp.issparse(X):
            out = sp.csr_matrix(X.multiply(scale), dtype=np.float32)
            out.data = np.log1p(out.data)
            return out
        return np.log1p(X * scale)

    def _set_interpretation(self, X_train, condition=None):
        v_mean, _ = self._model.feature_embedding()
        if not np.all(np.isfinite(v_mean)):
            raise FloatingPointError(
                "The trained loadings are not finite; training diverged. Lower learning_rate or standardise the data."
            )
        self.components_ = v_mean.T.astype(np.float64)
        self.mean_, mean_square = self._encoder_moments(X_train)
        self.feature_awareness_ = _interpret.feature_awareness(self._model, X_train, self.mean_, condition=condition)
        self._set_variance_explained(X_train, mean_square)  # issue 3

    def _encoder_moments(self, X):
        """Per-feature mean and mean square of the encoder's view of ``X``, in row chunks (no full copy)."""
        total = np.zeros(X.shape[1], np.float64)
        total_sq = np.zeros(X.shape[1], np.float64)
        for _, rows in iter_row_batches(X, 4096):
            view = self._encoder_view(rows)
            total += view.sum(axis=0, dtype=np.float64)
            total_sq += np.einsum("ij,ij->j", view, view, dtype=np.float64)
        n = max(X.shape[0], 1)
        return total / n, total_sq / n

    # ----------------------------------------------------------- transform
    def _check_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, accept_sparse=("csr", "csc"), dtype=(np.float64, np.float32), reset=False)

    def transform(self, X):
        """Embed ``X``: the posterior mean of the sample latent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data with the features seen in ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            Embedding, with the dtype of ``X`` (float32 or float64).
        """
        X = self._check_X(X)
        mean, _ = self._model.embed(_as_rows(X))
        return mean.astype(X.dtype, copy=False)

    def inverse_transform(self, X, condition=None, library_size=None):
        """Decode latent points back to the data space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent coordinates, e.g. the output of :meth:`transform`.
        condition : scalar or array-like of shape (n_samples,), default=None
            Conditional models only (and required there): the category to
            decode under, one for all rows or one per row, from
            ``condition_categories_``.
        library_size : float or array-like of shape (n_samples,), default=None
            Count likelihoods only: total counts of each decoded sample (one
            number for all rows, or one per row), so that the output is expected
            counts rather than frequencies. ``None`` keeps frequencies.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            The likelihood's mean: the reconstruction for ``"gaussian"``,
            probabilities for ``"bernoulli"``; for the count likelihoods, expected
            frequencies (rows sum to 1) or, with ``library_size``, expected
            counts (rows sum to ``library_size``).
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=(np.float64, np.float32))
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {Z.shape[1]} features, but inverse_transform expects "
                f"n_components={self.n_components_} latent coordinates per row."
            )
        onehot = self._condition_onehot(condition, Z.shape[0], "inverse_transform")
        # --- issue 4 (genomics): library_size for count likelihoods ---------
        if library_size is not None:
            library_size = self._check_library_size(library_size, Z.shape[0])
        return self._model.decode(Z, onehot, library_size=library_size).astype(Z.dtype, copy=False)

    def _check_library_size(self, library_size, n_samples: int) -> np.ndarray:
        if self.likelihood not in ("poisson", "nb"):
            raise ValueError(
                f"library_size only applies to the count likelihoods ('poisson', 'nb'); "
                f"this model uses likelihood={self.likelihood!r}."
            )
        library = np.asarray(library_size, dtype=np.float64)
        if library.ndim == 0:
            library = np.full(n_samples, float(library))
        library = library.reshape(-1)
        if library.shape[0] != n_samples:
            raise ValueError(
                f"library_size must be a number or have one entry per row of X ({n_samples}), "
                f"got {library.shape[0]} entries."
            )
        if not np.all(np.isfinite(library)) or np.any(library < 0):
            raise ValueError("library_size must be finite and non-negative (total counts per sample).")
        return library

    # --- end issue 4 ---------------------------------------------------------

    def score_samples(self, X, condition=None):
        """Evidence lower bound (ELBO) of each sample; higher is better.

        ``log p(x | z)`` is averaged over 4 posterior draws with a fixed seed
        (so repeated calls agree), minus ``KL(q(z | x) || N(0, I))``; the
        feature-side loadings enter at their posterior mean.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.
        condition : scalar or array-like of shape (n_samples,), default=None
            Conditional models only (and required there): the category of
            each row (or one for all rows).

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            Per-sample ELBO, in nats.
        """
        X = self._check_X(X)
        onehot = self._condition_onehot(condition, X.shape[0], "score_samples")
        return self._model.elbo(_as_rows(X), onehot)

    def score(self, X, y=None):
        """Mean ELBO of the samples in ``X`` (higher is better).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.
        y : array-like of shape (n_samples,), default=None
            Ignored, except by conditional models, which read it as the
            condition of each row (as ``fit`` does).

        Returns
        -------
        score : float
        """
        condition = y if getattr(self, "conditional", False) else None
        return float(np.mean(self.score_samples(X, condition=condition)))

    def sample(self, n_samples: int = 1, random_state=None, condition=None) -> np.ndarray:
        """Generate new data: decode draws from the prior ``N(0, I)``.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None
            Seeds the latent draws.
        condition : scalar or array-like of shape (n_samples,), default=None
            Conditional models only (and required there): the category to
            generate, e.g. ``condition=3`` for digits of class 3.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The likelihood mean at each drawn latent point.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")
        rng = check_random_state(random_state)
        Z = rng.standard_normal((n_samples, self.n_components_))
        onehot = self._condition_onehot(condition, n_samples, "sample")
        return self._model.decode(Z, onehot).astype(np.float64)

    # ---- interpretation (issue 3)
    # Labelled views of the loadings, feature awareness at any decoder level,
    # variance explained per latent dimension, feature neighbourhoods, hub
    # features and the gradient-attribution baseline. The math lives in
    # :mod:`._interpret` as pure array functions; these methods validate,
    # label and delegate.

    def _set_variance_explained(self, X_train, sq):
        """Fill ``explained_variance_(ratio_)`` and ``feature_variance_`` (called from fit).

        ``sq`` is the per-feature mean square of the encoder's view of ``X_train``.
        """
        n = X_train.shape[0]
        self.feature_variance_ = np.maximum(sq - np.square(self.mean_), 0.0)
        Z, _ = self._model.embed(X_train)
        self.explained_variance_ = _interpret.explained_variance(Z, self.components_.T)
        total = float(self.feature_variance_.sum()) * (n / (n - 1) if n > 1 else 1.0)
        self.explained_variance_ratio_ = (
            self.explained_variance_ / total if total > 0 else np.zeros_like(self.explained_variance_)
        )

    def _feature_labels(self) -> np.ndarray:
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            return np.asarray(names, dtype=object)
        return np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)

    def _feature_index(self, feature) -> int:
        check_is_fitted(self)
        labels = self._feature_labels()
        if isinstance(feature, Integral) and not isinstance(feature, bool):
            if -len(labels) <= feature < len(labels):
                return int(feature) % len(labels)
            raise ValueError(
                f"feature={feature} is out of range: expected an index in [0, {len(labels) - 1}] "
                f"or one of the feature names (e.g. {labels[0]!r})."
            )
        if isinstance(feature, str):
            hits = np.flatnonzero(labels == feature)
            if hits.size:
                return int(hits[0])
            shown = ", ".join(repr(x) for x in labels[:5])
            raise ValueError(
                f"Unknown feature {feature!r}: expected one of the {len(labels)} feature names seen in fit "
                f"({shown}{', ...' if len(labels) > 5 else ''}) or an integer index."
            )
        raise ValueError(f"feature must be a feature name (str) or an integer index, got {feature!r}.")

    def _dim_index(self, dim) -> int:
        check_is_fitted(self)
        k = self.n_components_
        if isinstance(dim, Integral) and not isinstance(dim, bool):
            if -k <= dim < k:
                return int(dim) % k
            raise ValueError(f"dim={dim} is out of range: the model has n_components={k}, expected 0 to {k - 1}.")
        if isinstance(dim, str):
            names = list(self.get_feature_names_out())
            if dim in names:
                return names.index(dim)
            raise ValueError(f"Unknown dimension {dim!r}: expected an integer in [0, {k - 1}] or one of {names}.")
        raise ValueError(f"dim must be an integer or a dimension name, got {dim!r}.")

    def get_feature_loadings(self):
        """Loadings as a labelled table: features x latent dimensions.

        Returns
        -------
        loadings : pandas.DataFrame of shape (n_features, n_components)
            ``components_.T``, indexed by ``feature_names_in_`` (or ``"x0"``,
            ``"x1"``, ... when ``X`` had no column names), with columns
            :meth:`get_feature_names_out`.

        Examples
        --------
        >>> import numpy as np
        >>> from sivae_sklearn import SiVAE
        >>> X = np.random.default_rng(0).normal(size=(60, 6))
        >>> model = SiVAE(2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X)
        >>> model.get_feature_loadings().shape
        (6, 2)
        """
        import pandas as pd

        check_is_fitted(self)
        return pd.DataFrame(
            self.components_.T,
            index=pd.Index(self._feature_labels(), name="feature"),
            columns=self.get_feature_names_out(),
        )

    def top_features(self, dim, n: int = 10):
        """Features with the largest positive and the largest negative loadings on one dimension.

        Parameters
        ----------
        dim : int or str
            Latent dimension: an index or a name from :meth:`get_feature_names_out`.
        n : int, default=10
            How many of each sign.

        Returns
        -------
        table : pandas.DataFrame with n rows
            Columns ``positive`` and ``positive_loading`` (largest loadings,
            descending) and ``negative`` and ``negative_loading`` (most
            negative, ascending).
        """
        import pandas as pd

        d = self._dim_index(dim)
        if not isinstance(n, Integral) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}.")
        loadings = self.components_[d]
        labels = self._feature_labels()
        n = min(int(n), loadings.size)
        pos = np.argsort(-loadings, kind="stable")[:n]
        neg = np.argsort(loadings, kind="stable")[:n]
        return pd.DataFrame(
            {
                "positive": labels[pos],
                "positive_loading": loadings[pos],
                "negative": labels[neg],
                "negative_loading": loadings[neg],
            }
        )

    def feature_awareness(self, X=None, *, layer: int = -1, per_sample: bool = False) -> np.ndarray:
        """Feature awareness of one decoder level on the samples ``X``.

        ``FA(l)[c, f] = (x_cf - mean_f)^2 - (x_cf - X_hat(l)[c, f])^2`` with
        ``X_hat(l) = S(l) F(l)^T`` built from the paired sample-side and
        feature-side activations of level ``l`` (0: ``(z, v)`` plus the
        interpretability bias; last: ``(y, W)``, the model's reconstruction).
        ``mean_f`` is the training mean :attr:`mean_`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), default=None
            Samples to evaluate on. The training data is not kept by the
            model, so ``None`` is only allowed for the stored summary
            (``layer=-1``, ``per_sample=False``), i.e. :attr:`feature_awareness_`.
        layer : int, default=-1
            Decoder level, ``0`` to ``n_levels - 1``; negative counts from the last.
        per_sample : bool, default=False
            Return the full (n_samples, n_features) matrix instead of its mean
            over samples.

        Returns
        -------
        awareness : ndarray of shape (n_features,) or (n_samples, n_features)
        """
        check_is_fitted(self)
        if X is None:
            n_levels = self._network_config.n_levels
            if _interpret.resolve_level(layer, n_levels) == n_levels - 1 and not per_sample:
                return self.feature_awareness_.copy()
            raise ValueError(
                "The training data is not stored in the model: pass X to compute feature awareness "
                f"at layer={layer} or per sample (only layer=-1 with per_sample=False is stored, "
                "as feature_awareness_)."
            )
        X = self._check_X(X)
        return _interpret.feature_awareness(self._model, _as_rows(X), self.mean_, level=layer, per_sample=per_sample)

    def feature_neighbors(self, feature, n: int = 20):
        """The features whose embeddings (loadings) lie closest to ``feature``.

        Parameters
        ----------
        feature : str or int
            A name from ``feature_names_in_`` (or ``"x<i>"``) or an index.
        n : int, default=20
            Number of neighbours (the feature itself excluded).

        Returns
        -------
        neighbours : pandas.Series
            Euclidean distance between loadings, indexed by feature name,
            nearest first.
        """
        import pandas as pd

        i = self._feature_index(feature)
        if not isinstance(n, Integral) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}.")
        idx, dist = _interpret.feature_neighbors(self.components_.T, i, n)
        return pd.Series(dist, index=pd.Index(self._feature_labels()[idx], name="feature"), name="distance")

    def hub_scores(self, method: str = "reconstruction"):
        """Degree-centrality score of every feature, as in the original siVAE.

        Parameters
        ----------
        method : {"reconstruction", "norm"}, default="reconstruction"
            ``"reconstruction"``: ``1 - mse_f / var_f`` on the training data,
            from :attr:`feature_awareness_`; ``"norm"``: ``-||v_f||``.

        Returns
        -------
        scores : pandas.Series indexed by feature name (higher: more central)
        """
        import pandas as pd

        check_is_fitted(self)
        scores = _interpret.hub_scores(
            self.components_.T, method=method, awareness=self.feature_awareness_, variance=self.feature_variance_
        )
        return pd.Series(scores, index=pd.Index(self._feature_labels(), name="feature"), name=f"hub_{method}")

    def feature_hubs(self, n: int = 10, method: str = "reconstruction"):
        """The ``n`` features with the highest :meth:`hub_scores`, best first."""
        if not isinstance(n, Integral) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}.")
        scores = self.hub_scores(method)
        return scores.iloc[np.argsort(-scores.to_numpy(), kind="stable")[: int(n)]]

    def attribution_loadings(self, X, method: str = "saliency") -> np.ndarray:
        """Loadings from gradient attributions, the baseline siVAE's loadings replace.

        For every sample of ``X`` and latent dimension ``d``, the attribution
        of each decoder output to ``z_d`` (its gradient, or gradient times
        ``z_d``) forms a samples x features matrix; its first principal axis
        is that dimension's loading vector. Compare with :attr:`components_`
        (e.g. by correlation); this costs one backward pass per feature and
        sample, against one forward pass for the loadings.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples at whose embeddings the attributions are taken.
        method : {"saliency", "gradient_x_input"}, default="saliency"

        Returns
        -------
        loadings : ndarray of shape (n_components, n_features), rows of unit norm
        """
        X = self._check_X(X)
        if method not in _interpret.ATTRIBUTION_METHODS:
            raise ValueError(
                f"method={method!r} is not an attribution method; expected one of {_interpret.ATTRIBUTION_METHODS}."
            )
        Z, _ = self._model.embed(_as_rows(X))
        return _interpret.attribution_loadings(_interpret.latent_attributions(self._model, Z, method))

    # ----------------------------------------------------------- sklearn glue
    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # ------------------------------------------------------------ persistence
    def __getstate__(self):
        # A copy: on Python >= 3.11 object.__getstate__ returns the live __dict__,
        # and popping from it would strip the network off the pickled estimator.
        state = dict(super().__getstate__())
        network = state.pop("_network", None)
        state.pop("_model", None)
        if network is not None:
            state["_network_weights"] = network.get_weights()
        return state

    def __setstate__(self, state):
        weights = state.pop("_network_weights", None)
        super().__setstate__(state)
        if weights is not None:
            self._restore_network(weights)

    def _restore_network(self, weights):
        network = SiVAENetwork(self._network_config, seed=0)
        network.set_weights(weights)
        self._network = network
        self._model = CompiledModel(network, self.likelihood)

    def save(self, path) -> None:
        """Save the fitted model to one file (no pickle inside).

        Parameters
        ----------
        path : str or path-like
            Destination, conventionally ending in ``.sivae``.

        See Also
        --------
        sivae_sklearn.load : Read it back.
        """
        from ._serialization import save

        save(self, path)

    def _network_config_dict(self) -> dict:
        return asdict(self._network_config)


def _as_rows(X):
    """CSR for fast row slicing; dense stays as is."""
    if sp.issparse(X):
        return X.tocsr()
    return X
