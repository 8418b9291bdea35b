"""The scikit-learn estimator :class:`SiVAE` and :func:`load`.

``fit(X)`` in five steps, each in its own module:

1. validate ``X`` and the parameters (:mod:`.validation`);
2. split off a validation set and reduce every feature to a fixed-width input
   for the feature-wise encoder (:mod:`sivae_sklearn._arrays.rows`, :mod:`sivae_sklearn._arrays.feature_inputs`);
3. build the sample-wise and feature-wise VAEs (:mod:`sivae_sklearn._engine.network`);
4. train them with minibatches and a compiled step (:mod:`sivae_sklearn._engine.training`); the
   forward pass and the loss are :mod:`sivae_sklearn._engine.model`'s;
5. read the fitted attributes off the trained network: ``components_`` are the
   feature posterior means (the loadings); feature awareness and the variance
   explained come from :mod:`.interpretation`.

Interpretation (:class:`~sivae_sklearn._estimator.interpretation.InterpretationMixin`), supervision
(:class:`~sivae_sklearn._estimator.supervision.SupervisionMixin`) and persistence
(:class:`~sivae_sklearn._estimator.persistence.PersistenceMixin`) are mixins; the compiled inference
functions are :class:`~sivae_sklearn._engine.inference.CompiledModel`'s.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._arrays.feature_embeddings import (
    EMBEDDING_ATTRIBUTES,
    FeatureEmbeddingInput,
    align_embeddings,
    data_method,
    is_external,
)
from .._arrays.feature_inputs import MAX_ROWS, training_feature_inputs
from .._arrays.rows import split_training_rows
from .._engine.inference import CompiledModel
from .._engine.likelihoods import get_likelihood
from .._engine.network import NetworkConfig, SiVAENetwork
from .._engine.progress import log_line
from .._engine.training import TrainingConfig, TrainingData, check_workers_agree, train
from .._errors import TrainingDivergedError
from .._modelfile.format import read_model_file
from .interpretation import InterpretationMixin
from .parameters import parameter_constraints
from .persistence import PersistenceMixin
from .programs import dimension_names, program_support, resolve_programs
from .supervision import SupervisionMixin
from .validation import (
    check_finite_result,
    check_fitted_input,
    check_latent_points,
    check_library_size,
    check_network_memory,
    check_output_size,
    check_positive_int,
    check_training_input,
    check_validation_rows,
    unchanged_if_refused,
)


class SiVAE(
    InterpretationMixin,
    SupervisionMixin,
    PersistenceMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
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
    feature_hidden_layer_sizes : tuple of int or None, default=None
        Widths of the feature-wise encoder's layers (its decoder mirrors them
        and ends in a linear layer of width h); None mirrors
        ``hidden_layer_sizes``. The feature network runs on every feature at
        every training step, so on wide data it costs more than the sample
        network: with hundreds of features or more, ``(128,)`` halved the fit
        on ``pbmc68k_reduced`` at equal embedding quality, but on digits (64
        features) it cost 0.08 kNN accuracy at K = 2, which is why the default
        mirrors (``docs/benchmarks.md``). With widths other than
        ``hidden_layer_sizes`` the decoder has two levels for
        :meth:`feature_awareness` (``layer=0``, the latent, and ``layer=-1``,
        the last hidden layer): only mirrored networks pair the intermediate
        layers. ``()`` makes both sides of the feature network linear, which
        gives unseen features (:meth:`embed_features`) the most faithful
        loadings on noisy data and the embedding the least quality.
    likelihood : {"gaussian", "bernoulli", "poisson", "nb"}, default="gaussian"
        Observation model. ``"gaussian"`` (per-feature learned variance) for
        standardised data, ``"bernoulli"`` for data in [0, 1] such as images,
        ``"poisson"`` and ``"nb"`` (negative binomial) for raw counts.
    beta : float, default=1.0
        Weight of the KL terms of both latent spaces.
    feature_kl_weight : {"elbo", "mean"} or float, default="elbo"
        Weight of the feature-wise KL ``KL(q(v_f) || N(0, I))`` averaged over
        features, relative to the sample-wise KL (both scaled by ``beta``).
        ``"elbo"``: ``n_features / n_train``, which makes the objective the
        evidence lower bound of the whole matrix per sample (the sum of the
        feature KLs divided by the number of training samples; derived in
        ``docs/design.md``). ``"mean"``: weight 1, as the original siVAE,
        ``n_train / n_features`` times the ELBO's (25x on digits). A number
        is the weight itself.
    feature_noise : float in [0, 1], default=0.0
        Where the feature posterior ``q(v_f) = N(mean_f, std_f^2)`` is read to
        decode the sample decoder's last weight matrix ``W``: at
        ``v_f = mean_f + feature_noise * std_f * eps``. 0: the posterior mean
        (the feature KL then acts as a penalty on the loadings); 1: a sample of
        the posterior (the variational objective of the original siVAE); in
        between, a sample of a narrowed posterior.
    kl_warmup_epochs : float, default=100.0
        Epochs (passes over the training rows, fractions allowed) over which
        the KL weight rises linearly from 0 to ``beta``: ``round(kl_warmup_epochs
        * ceil(n_train / batch_size))`` training steps, counted over the whole
        run (pretraining phases included). Early stopping starts counting only
        once the warm-up is over. 0 switches the warm-up off.
    kl_warmup_steps : int or "deprecated", default="deprecated"
        Deprecated: use kl_warmup_epochs. An int sets the warm-up length in
        training steps instead (and takes precedence over ``kl_warmup_epochs``),
        with a ``FutureWarning`` in ``fit``; model files that name it still load.
    interpretability_weight : float, default=0.1
        Weight gamma of ``mean_c sum_f (x_cf - z_c . v_f - b_f)^2``, which ties
        the embedding linearly to the loadings. 0 switches it off.
    interpretability_moves_embedding : bool, default=False
        Whether the interpretability term's gradient reaches the embedding
        ``z``. False: it fits the loadings ``v`` and its bias to the embedding
        the VAE finds (a least-squares fit of ``X`` on ``z``) but cannot pull
        the embedding towards a linear, PCA-like one. True: as the original
        siVAE, it moves both.

        The original siVAE's objective is
        ``SiVAE(feature_kl_weight="mean", feature_noise=1.0,
        interpretability_weight=0.05, interpretability_moves_embedding=True)``;
        ``docs/design.md`` compares it with the defaults.
    l2_penalty : float, default=1e-3
        Weight of the squared L2 norm of the sample network's kernels.
    feature_input : {"pca", "subsample"}, array-like, DataFrame or list, default="pca"
        How each feature (column) is reduced before the feature-wise encoder,
        or external feature embeddings that replace that input. ``"pca"``: its
        coordinates on the leading principal axes of the training samples;
        ``"subsample"``: its values on a fixed random subset of training
        samples. An array of shape (n_features, d): what is known about each
        feature from elsewhere (for genes, a language-model or network
        embedding), one row per feature in the order of ``X``'s columns
        (only when ``X`` has no feature names); a DataFrame indexed by feature
        names is aligned by name to ``feature_names_in_`` (extra rows are
        ignored, a missing feature is refused). The feature encoder then reads
        the embedding alone, so :meth:`embed_features` can give loadings to a
        feature from its embedding alone (``embedding=``). A list of
        embeddings is fused: every column standardised over the features, each
        embedding scaled to the same total variance, then concatenated (see
        ``docs/interpretation.md``). A list may also name the data-derived
        input once, ``["pca", E]``: the encoder reads the features' reduced
        columns and the embeddings side by side, so an embedding that carries
        nothing costs little (``docs/benchmarks.md``); new features then need
        their values and their embedding.
    feature_input_size : int, default=50
        Width of that reduced input (capped by the data). Not used with
        external embeddings, whose width is their own.
    learning_rate : float, default=1e-3
        Adam step size.
    batch_size : int, default=128
        Samples per minibatch (capped by the training set size). Under a
        ``tf.distribute`` strategy this is the global batch, split over the
        replicas.
    feature_batch_size : int or None, default=None
        Features reconstructed per training step: each step draws this many
        features at random, runs only them through the feature-wise VAE and
        scales their reconstruction and interpretability terms by
        ``n_features / feature_batch_size`` (an unbiased estimate; for the
        count likelihoods the drawn features are fitted given their own total,
        an approximation). It makes a step cheaper when there are many
        features, at the price of noisier gradients; ``docs/benchmarks.md``
        measures both. None (or ``n_features`` or more): every feature, every
        step.
    max_epochs : int, default=300
        Maximum passes over the training data in the joint phase.
    schedule : {"joint", "stepwise"}, default="joint"
        Training schedule: joint from the start, or stepwise (as the original
        siVAE). ``"stepwise"``: pretrain the sample-wise VAE
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
        Condition the sample decoder on a categorical variable (a class label
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
    feature_programs : dict of str to list, default=None
        Feature programs (gene sets), {name: [features]}, each owning one latent
        dimension: the first ``len(feature_programs)`` dimensions, in the dict's
        order, are the programs'; the other ``n_components - len(feature_programs)``
        are free. Members are feature names (matched to ``feature_names_in_``)
        or column indices. Programs may overlap; names absent from ``X`` are
        left out with one warning; a program with fewer than 2 features
        present, or more programs than ``n_components``, is refused. The
        objective keeps non-members' loadings off a program's dimension (a
        soft mask, ``program_weight``) and makes the dimension follow its
        members (``program_embedding_weight``); members are free to load on
        it, and ``program_support_`` says whether the data back it. ``dimension_names_`` names
        the dimensions. See ``docs/interpretation.md`` and ``docs/design.md``.
    program_weight : float, default=0.1
        Strength of the programs' soft mask: the weight of the non-members' squared loadings on the
        program dimensions, ``program_weight * sum_f sum_k (1 - M_fk) v_fk^2`` beside the
        reconstruction summed over features (so 1 weighs a unit loading like a unit of a standardised
        feature's squared error). A gene set rarely lists every member of its
        module, and a strong mask keeps the unlisted ones off the dimension
        that carries it (``docs/benchmarks.md``). Unused without
        ``feature_programs``.
    program_embedding_weight : float, default=10.0
        Weight of the programs' embedding coupling: each program's dimension
        of the embedding follows its members' mean standardised value (0: off).
        Inside the programs term (so times ``program_weight``), it adds
        ``sum_k m_k var(s_k) (1 - corr(z_k, s_k))`` on every minibatch, where
        ``s_k`` is the mean of program ``k``'s ``m_k`` members standardised
        within the minibatch and ``z_k`` the embedding on the program's
        dimension. It makes a program's dimension follow its
        members (the soft mask alone shapes only the loadings); its pull is
        the variance the members share (about one feature's worth for
        independent features), and ``program_support_`` still reports a
        program the data do not back. Unused without ``feature_programs``.
        Measured in ``docs/benchmarks.md`` (3 seeds): at the defaults
        (``program_weight=0.1``, this 10) the named dimensions of two marker
        programs separate their cell types at AUROC 0.97 and 0.99 on PBMC,
        with the kNN accuracy within 0.01; on planted modules the unlisted
        half of each module loads on its program's dimension (AUROC 1.0) and
        the module ARI of all loadings stays as without programs.
    shuffle_buffer_bytes : int or None, default=134217728
        Data on disk or lazy only: the most bytes of rows that the shuffle
        pool of minibatches holds (None: 16 whole chunks, however large).
        For dask, zarr, h5py and backed h5ad input, minibatches are drawn from
        a pool of 16 chunks (or slices of chunks) visited in random order; the
        pool is counted as dense rows of the data's dtype (128 MiB by default,
        at least ``2**20``), and chunks too large for their share of it are
        read in equal contiguous slices. A larger budget mixes rows from
        farther apart, at the cost of memory. In-memory data is fully shuffled
        and ignores it. ``docs/scale.md`` measures the memory.
    n_init : int, default=1
        Initialisations trained (each from its own seed, on the same
        validation rows); the one with the best validation ELBO is kept, as
        :class:`~sklearn.cluster.KMeans` and
        :class:`~sklearn.mixture.GaussianMixture` keep their best run. Every
        initialisation shares the validation split and the feature-wise inputs;
        each draws its own weights, minibatch order and noise. The score is
        the mean ELBO of the validation rows (:meth:`score_samples`' estimate;
        the training rows' when there is no validation set). Fitting takes
        about ``n_init`` times as long; ``n_init=1`` is the model that a fit
        without this parameter gives, bit for bit. ``docs/benchmarks.md``
        measures what more initialisations do to the seed spread of the
        loadings.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the validation split, the minibatch order and the
        sampling noise. Two fits with the same integer give the same model,
        bit for bit on CPU; no global TensorFlow or NumPy seed is set.
    verbose : int, default=0
        0: silent. 1: a progress bar per training phase on stderr (``tqdm``;
        a widget in Jupyter; plain lines, about 20 per phase, when stderr is
        not a terminal), then a line saying why training ended and which
        epoch's weights were kept. 2: in plain-line mode, a line per epoch.
        The closing line also goes to the ``"sivae_sklearn"`` :mod:`logging`
        logger (at ``DEBUG`` when ``verbose=0``).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Loadings: the posterior means of the feature embeddings, transposed.
    components_std_ : ndarray of shape (n_components, n_features)
        Posterior standard deviations of the feature embeddings, transposed:
        the width of the variational posterior ``q(v_f)`` around each loading.
        It is the model's own uncertainty under its objective, not a
        calibrated error bar: it grows with the feature KL weight, and with
        ``feature_noise=0`` (the default) the reconstruction does not read it,
        only the KL shapes it, and it stays near the prior's 1: it then says
        nothing about the data. Set ``feature_noise=1`` for a posterior width
        that the data shape. See ``docs/design.md``.
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
    feature_reducer_ : FeatureReducer
        The fitted reduction of each feature (column) to the feature-wise
        encoder's input: the training rows it read (``rows_``), the PCA's
        left singular vectors (``axes_``) and the scale. Its ``transform``
        reduces columns that were not in training, given on the rows of the
        fit, as the training columns were (see ``docs/design.md``). Absent
        when ``feature_input`` is external embeddings alone, and on a model
        loaded from a format-1 model file.
        Absent with external embeddings (``feature_input`` an array).
    feature_input_widths_ : list of int
        Columns of each external embedding (external ``feature_input`` only;
        beside a data-derived input, the embeddings are the encoder input's
        last ``sum(feature_input_widths_)`` columns).
    feature_input_center_, feature_input_scale_ : ndarray of shape (n_inputs,)
        The fitted fusion of the external embeddings: each column is centred
        by ``feature_input_center_`` and divided by ``feature_input_scale_``
        (external ``feature_input`` only; applied unchanged by
        ``embed_features(embedding=...)``).
    n_components_ : int
        Number of latent dimensions.
    dimension_names_ : ndarray of str of shape (n_components,)
        Names of the latent dimensions: the programs' (``feature_programs``)
        first, then ``sivae<k>`` for the free ones (all ``sivae<k>`` without
        programs). :meth:`get_feature_names_out` returns them.
    program_support_ : ndarray of shape (n_programs,)
        Per program (``feature_programs`` only), the mean over its present
        members of ``corr(x_f, z_k)^2`` on the training data: the share of a
        member's variance that the program's dimension carries. A program the
        data support scores its members' shared variance; a program of
        unrelated features stays near ``1 / n_members`` or below, however the
        soft mask shaped its dimension.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string column names.
    history_ : dict of str to list of float
        Each loss term per epoch on the training set (``"loss"``,
        ``"reconstruction"``, ``"kl_sample"``, ``"kl_feature"``,
        ``"interpretability"``, ``"l2"``, ``"classification"``: every term of
        the objective, 0 in a phase without it; and ``"beta"``) and the
        validation set (the same names prefixed by ``"val_"``).
    n_iter_ : int
        Number of epochs run (by the kept initialisation).
    init_scores_ : ndarray of shape (n_init,)
        Validation ELBO (mean per sample, in nats; higher is better) of each
        initialisation, in the order they were trained; ``-inf`` for one whose
        training diverged.
    best_init_ : int
        Which initialisation was kept: ``argmax(init_scores_)`` (the first of
        equals).
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

    _parameter_constraints: dict = parameter_constraints()  # from the table of parameters, parameters.py

    def __init__(
        self,
        n_components: int = 2,
        *,
        hidden_layer_sizes: tuple[int, ...] = (512, 128),
        feature_hidden_layer_sizes: tuple[int, ...] | None = None,
        likelihood: str = "gaussian",
        beta: float = 1.0,
        feature_kl_weight: str | float = "elbo",
        feature_noise: float = 0.0,
        kl_warmup_epochs: float = 100.0,
        kl_warmup_steps: int | str = "deprecated",
        interpretability_weight: float = 0.1,
        interpretability_moves_embedding: bool = False,
        l2_penalty: float = 1e-3,
        feature_input="pca",
        feature_input_size: int = 50,
        learning_rate: float = 1e-3,
        batch_size: int = 128,
        feature_batch_size: int | None = None,
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
        feature_programs: dict | None = None,
        program_weight: float = 0.1,
        program_embedding_weight: float = 10.0,
        shuffle_buffer_bytes: int | None = 128 * 2**20,
        n_init: int = 1,
        random_state=None,
        verbose: int = 0,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.feature_hidden_layer_sizes = feature_hidden_layer_sizes
        self.likelihood = likelihood
        self.beta = beta
        self.feature_kl_weight = feature_kl_weight
        self.feature_noise = feature_noise
        self.kl_warmup_epochs = kl_warmup_epochs
        self.kl_warmup_steps = kl_warmup_steps
        self.interpretability_weight = interpretability_weight
        self.interpretability_moves_embedding = interpretability_moves_embedding
        self.l2_penalty = l2_penalty
        self.feature_input = feature_input
        self.feature_input_size = feature_input_size
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.feature_batch_size = feature_batch_size
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
        self.feature_programs = feature_programs
        self.program_weight = program_weight
        self.program_embedding_weight = program_embedding_weight
        self.shuffle_buffer_bytes = shuffle_buffer_bytes
        self.n_init = n_init
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, condition=None):
        """Fit the sample-wise and feature-wise VAEs to ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, on-disk array} of shape (n_samples, n_features)
            Training data. Sparse input is densified one minibatch at a time.
            Data on disk or computed lazily (a dask array, e.g. from anndata's
            lazy readers or ``dask.array.from_zarr``; a zarr or h5py array;
            ``anndata.read_h5ad(path, backed="r").X``) is read in chunks and
            never loaded whole: its rows are checked chunk by chunk before
            training, and minibatches come from shuffled chunks (see
            ``docs/scale.md``).
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
        if self.kl_warmup_steps != "deprecated":
            warnings.warn(
                "kl_warmup_steps is deprecated and will be removed in a future version: use kl_warmup_epochs, which "
                "scales with the data (kl_warmup_steps=S is about kl_warmup_epochs=S / ceil(n_train / batch_size)).",
                FutureWarning,
                stacklevel=3,  # the caller of scikit-learn's _fit_context wrapper
            )
        check_workers_agree(self.random_state)
        rng = check_random_state(self.random_state)
        validation_fraction = self.validation_fraction if self.early_stopping else 0.0
        # One transaction: any exception (a refusal, divergence, KeyboardInterrupt) puts every
        # attribute back as it was, so the previous fitted state (or an unfitted one) survives.
        with unchanged_if_refused(self):
            X = check_training_input(self, X)
            program_names, program_mask = resolve_programs(
                self.feature_programs, getattr(self, "feature_names_in_", None), X.shape[1], self.n_components
            )
            cond_onehot, labels = self._fit_supervision(X.shape[0], y, condition)
            seed = int(rng.randint(np.iinfo(np.int32).max))
            # Views, not copies: the training rows are read batch by batch (on disk, chunk by chunk,
            # every chunk checked in this one pass before training starts).
            split = split_training_rows(X, validation_fraction, rng, MAX_ROWS)
            check_validation_rows(0 if split.val is None else split.val.shape[0], X.shape[0], validation_fraction)
            encoder_input = get_likelihood(self.likelihood).encoder_input
            for name in ("feature_reducer_", *EMBEDDING_ATTRIBUTES):
                vars(self).pop(name, None)  # a previous fit's; put back if this one is refused
            # The feature encoder's input, one row per feature: the features' reduced columns, the fused
            # external embeddings, or both side by side (reduced columns first).
            fusion, feature_reducer, parts = None, None, []
            if data_method(self.feature_input) is not None:
                feature_reducer, reduced = training_feature_inputs(
                    split, data_method(self.feature_input), self.feature_input_size, rng, encoder_input.numpy
                )
                parts.append(reduced)
            if is_external(self.feature_input):
                fusion = FeatureEmbeddingInput()
                parts.append(
                    fusion.fit_transform(
                        align_embeddings(self.feature_input, X.shape[1], getattr(self, "feature_names_in_", None))
                    )
                )
            feature_inputs = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
            split.sample = None  # on disk: the rows read for the feature inputs, not needed again (memory)

            config = NetworkConfig.from_params(
                self.get_params(deep=False),
                n_features=X.shape[1],
                n_feature_inputs=feature_inputs.shape[1],
                n_conditions=0 if cond_onehot is None else cond_onehot.shape[1],
                n_classes=0 if labels is None else len(self.classes_),
            )
            check_network_memory(config, self.get_params(deep=False))

            def training_data(rows, idx):
                return TrainingData(
                    rows, None if cond_onehot is None else cond_onehot[idx], None if labels is None else labels[idx]
                )

            train_data = training_data(split.train, split.train_rows)
            val_data = training_data(split.val, split.val_rows) if split.val is not None else None
            training_config = TrainingConfig.from_params(
                self.get_params(deep=False), split.train.shape[0], n_features=X.shape[1], program_mask=program_mask
            )
            scored = val_data if val_data is not None else train_data
            scores, kept = [], None
            for i, init_seed in enumerate(init_seeds(seed, self.n_init)):
                network = SiVAENetwork(config, seed=init_seed)
                network.feature_inputs.assign(feature_inputs)
                label = f"init {i + 1}/{self.n_init} " if self.n_init > 1 else ""
                try:
                    result = train(network, train_data, val_data, training_config, init_seed, label=label)
                except TrainingDivergedError as exc:
                    if self.n_init == 1:
                        raise
                    scores.append(-np.inf)
                    log_line(f"{label}diverged and is not kept: {exc}", self.verbose)
                    if kept is None and i == self.n_init - 1:
                        raise TrainingDivergedError(
                            f"All {self.n_init} initialisations diverged; the last: {exc}"
                        ) from exc
                    continue
                compiled = CompiledModel(network, self.likelihood)
                scores.append(_init_score(compiled, scored))
                if kept is None or scores[-1] > scores[kept[0]]:
                    kept = (i, network, compiled, result)
                del network, compiled, result  # only the best initialisation is held
            best_init, network, compiled, result = kept
            scored_rows = "validation" if val_data is not None else "training"
            # The validation rows (up to MAX_VALIDATION_ROWS in memory for data on disk) are not needed again:
            # released before the fitted statistics run, so the two are never in memory together.
            split.val = val_data = scored = None
            if self.n_init > 1:
                others = ", ".join(f"{score:.4g}" for score in scores)
                rows = scored_rows
                log_line(
                    f"Kept init {best_init + 1} of {self.n_init}: {rows} ELBO {scores[best_init]:.4g} (all: {others}).",
                    self.verbose,
                )
            self._network_config = config
            self._network = network
            if feature_reducer is not None:
                self.feature_reducer_ = feature_reducer
            if fusion is not None:
                self.feature_input_widths_ = fusion.widths_
                self.feature_input_center_ = fusion.center_
                self.feature_input_scale_ = fusion.scale_
            self._compiled = compiled
            self.history_ = result.history
            self.n_iter_ = result.n_iter
            self.init_scores_ = np.asarray(scores, np.float64)
            self.best_init_ = int(best_init)
            self.n_components_ = self.n_components
            v_mean, v_std = self._compiled.feature_embedding()
            if not np.all(np.isfinite(v_mean)):
                raise FloatingPointError(
                    "The trained loadings are not finite; training diverged. "
                    "Lower learning_rate or standardise the data."
                )
            self.components_ = v_mean.T.astype(np.float64)
            self.components_std_ = v_std.T.astype(np.float64)
            self._fit_interpretation(split.train, None if cond_onehot is None else cond_onehot[split.train_rows])
            self.dimension_names_ = dimension_names(program_names, self.n_components_)
            if program_mask is not None:
                self.program_support_ = program_support(
                    split.train, encoder_input.numpy, self._compiled.embed_mean, program_mask
                )
            elif hasattr(self, "program_support_"):
                del self.program_support_
        return self

    def get_feature_names_out(self, input_features=None):
        """Names of the latent dimensions: ``dimension_names_`` (the programs', then ``sivae<k>``).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored (checked against ``feature_names_in_`` as scikit-learn does).

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``dimension_names_``.

        Examples
        --------
        >>> import numpy as np
        >>> from sivae_sklearn import SiVAE
        >>> X = np.random.RandomState(0).normal(size=(40, 4))
        >>> model = SiVAE(n_components=3, feature_programs={"ab": [0, 1]}, hidden_layer_sizes=(8,), max_epochs=2,
        ...               random_state=0).fit(X)
        >>> model.get_feature_names_out().tolist()
        ['ab', 'sivae1', 'sivae2']
        """
        names = super().get_feature_names_out(input_features)
        fitted = getattr(self, "dimension_names_", None)
        return names if fitted is None else np.asarray(fitted, dtype=object)

    # ------------------------------------------------------- data <-> latent
    def transform(self, X, return_std: bool = False):
        """Embed ``X``: the posterior mean of the sample latent.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, on-disk array} of shape (n_samples, n_features)
            Data with the features seen in ``fit`` (on-disk data is read chunk by chunk).
        return_std : bool, default=False
            Also return the posterior standard deviation: ``q(z | x) =
            N(mean, diag(std^2))``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            Embedding (the posterior mean), with the dtype of ``X`` (float32 or float64).
        X_std : ndarray of shape (n_samples, n_components)
            Posterior standard deviation, same dtype; only with ``return_std=True``.

        Examples
        --------
        >>> import numpy as np
        >>> from sivae_sklearn import SiVAE
        >>> X = np.random.RandomState(0).normal(size=(40, 5))
        >>> model = SiVAE(hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X)
        >>> mean, std = model.transform(X, return_std=True)
        >>> mean.shape, bool((std > 0).all())
        ((40, 2), True)
        """
        X = check_fitted_input(self, X)
        check_output_size(  # the posterior mean and std are both computed
            2 * X.shape[0] * self.n_components_,
            f"transform of X with {X.shape[0]:,} rows (x {self.n_components_} components, mean and std)",
            advice="Transform X in slices of rows.",
        )
        mean, std = self._compiled.embed(X)
        check_finite_result(mean, "transform")
        if return_std:
            return mean.astype(X.dtype, copy=False), std.astype(X.dtype, copy=False)
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
        Z = check_latent_points(self, X)
        check_output_size(
            Z.shape[0] * self.n_features_in_,
            f"inverse_transform of X with {Z.shape[0]:,} latent points (x {self.n_features_in_} features)",
            advice="Decode X in slices of rows.",
        )
        onehot = self._condition_onehot(condition, Z.shape[0], "inverse_transform")
        if library_size is not None:
            library_size = check_library_size(self.likelihood, library_size, Z.shape[0])
        decoded = self._compiled.decode(Z, onehot, library_size=library_size)
        return check_finite_result(decoded, "inverse_transform").astype(Z.dtype, copy=False)

    def score_samples(self, X, condition=None):
        """Evidence lower bound (ELBO) of each sample; higher is better.

        ``log p(x | z)`` is averaged over 4 posterior draws with a fixed seed
        (so repeated calls agree), minus ``KL(q(z | x) || N(0, I))``; the
        feature-side loadings enter at their posterior mean.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array, on-disk array} of shape (n_samples, n_features)
            Data (on-disk data is read chunk by chunk).
        condition : scalar or array-like of shape (n_samples,), default=None
            Conditional models only (and required there): the category of
            each row (or one for all rows).

        Returns
        -------
        elbo : ndarray of shape (n_samples,)
            Per-sample ELBO, in nats.
        """
        X = check_fitted_input(self, X)
        onehot = self._condition_onehot(condition, X.shape[0], "score_samples")
        return check_finite_result(self._compiled.elbo(X, onehot), "score_samples")

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
        n_samples = check_positive_int(n_samples, "n_samples")
        check_output_size(n_samples * self.n_features_in_, f"n_samples={n_samples} (x {self.n_features_in_} features)")
        Z = check_random_state(random_state).standard_normal((n_samples, self.n_components_))
        onehot = self._condition_onehot(condition, n_samples, "sample")
        return self._compiled.decode(Z, onehot).astype(np.float64)

    # ----------------------------------------------------------- sklearn glue
    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def init_seeds(seed: int, n_init: int) -> list[int]:
    """The network seeds of ``n_init`` initialisations: ``seed`` first (the single fit's), then seeds derived from it.

    >>> init_seeds(7, 1)
    [7]
    >>> seeds = init_seeds(7, 3)
    >>> seeds[0], len(set(seeds)), seeds == init_seeds(7, 3)
    (7, 3, True)
    """
    limit = np.iinfo(np.int32).max
    derived = [int(np.random.SeedSequence([seed, i]).generate_state(1)[0] % limit) for i in range(1, n_init)]
    return [int(seed), *derived]


def _init_score(compiled: CompiledModel, data: TrainingData) -> float:
    """Mean ELBO of ``data``'s rows under one trained initialisation (``score_samples``' estimate)."""
    condition = data.condition if data.condition.shape[1] else None
    score = float(np.mean(compiled.elbo(data.X, condition)))
    return score if np.isfinite(score) else -np.inf


def load(path) -> SiVAE:
    """Load a model written by :meth:`SiVAE.save`.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    SiVAE
        The fitted estimator, transforming exactly as the saved one did.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        (:class:`~sivae_sklearn.ModelFileError`, naming the file) if it is
        not a regular file (a folder, a named pipe, a device), is truncated,
        corrupt, not a model file, or written by a newer, incompatible format
        version. Nothing beyond what the file's headers declare is read.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> from sivae_sklearn import SiVAE, load
    >>> X = np.random.RandomState(0).normal(size=(40, 5))
    >>> model = SiVAE(max_epochs=2, hidden_layer_sizes=(8,), random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.sivae")
    >>> model.save(path)
    >>> np.allclose(load(path).transform(X), model.transform(X))
    True
    """
    return SiVAE._from_model_file(read_model_file(path, check=SiVAE._check_model_file), path)
