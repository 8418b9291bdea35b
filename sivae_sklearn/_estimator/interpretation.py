"""What a fitted :class:`~sivae_sklearn.SiVAE` says about its features: the interpretation API.

:class:`InterpretationMixin` gives the estimator labelled views of the loadings,
feature awareness at any decoder level, variance explained per latent
dimension, feature neighbourhoods, hub features and the gradient-attribution
baseline, plus the public resolvers :meth:`~InterpretationMixin.resolve_dimension`
and :meth:`~InterpretationMixin.resolve_feature` that every other module (plots,
generation, explorer) uses to turn a user's ``dim`` or ``feature`` into an index.
The methods validate, label and delegate; the math is in
:mod:`~sivae_sklearn._arrays.feature_scores`.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from .._arrays import feature_scores as _interpret
from .._arrays.feature_embeddings import data_method
from .._arrays.rows import column_moments
from .._engine.likelihoods import get_likelihood
from .validation import check_finite_result, check_fitted_input, check_output_size, check_positive_int


class InterpretationMixin:
    """Interpretation of a fitted siVAE (loadings ``components_`` and the decoder)."""

    # --------------------------------------------------------------- fitting
    def _fit_interpretation(self, X_train, condition=None) -> None:
        """Fill ``mean_``, ``feature_variance_``, ``feature_awareness_`` and the variance explained.

        Called at the end of ``fit`` with the training rows (a view) and their
        one-hot condition; ``components_`` must already be set.
        """
        n = X_train.shape[0]
        self.mean_, mean_square = column_moments(X_train, get_likelihood(self.likelihood).encoder_input.numpy)
        self.feature_awareness_ = _interpret.feature_awareness(self._compiled, X_train, self.mean_, condition=condition)
        self.feature_variance_ = np.maximum(mean_square - np.square(self.mean_), 0.0)
        # the variance of the embedding from running moments: no n_samples x n_components array is held
        z_mean, z_mean_square = column_moments(X_train, self._compiled.embed_mean, width=self.n_components_)
        z_variance = np.maximum(z_mean_square - np.square(z_mean), 0.0) * (n / (n - 1) if n > 1 else 1.0)
        self.explained_variance_ = _interpret.explained_variance_from(z_variance, self.components_.T)
        total = float(self.feature_variance_.sum()) * (n / (n - 1) if n > 1 else 1.0)
        self.explained_variance_ratio_ = (
            self.explained_variance_ / total if total > 0 else np.zeros_like(self.explained_variance_)
        )

    # ------------------------------------------------------------- resolvers
    def get_feature_labels(self) -> np.ndarray:
        """Names of the input features: ``feature_names_in_``, or ``"x0"``, ``"x1"``, ... without names.

        Returns
        -------
        labels : ndarray of object, shape (`n_features_in_`,)
        """
        check_is_fitted(self)
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            return np.asarray(names, dtype=object)
        return np.asarray([f"x{i}" for i in range(self.n_features_in_)], dtype=object)

    def resolve_feature(self, feature) -> int:
        """Index of an input feature given by name or by (possibly negative) index.

        Parameters
        ----------
        feature : str or int
            A name from :meth:`get_feature_labels` or an index.

        Returns
        -------
        int
            In ``[0, n_features_in_ - 1]``.
        """
        labels = self.get_feature_labels()
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

    def resolve_dimension(self, dim) -> int:
        """Index of a latent dimension given by (possibly negative) index or by output name.

        Parameters
        ----------
        dim : int or str
            An index, or a name from :meth:`get_feature_names_out` (``"sivae0"``, ...).

        Returns
        -------
        int
            In ``[0, n_components_ - 1]``.

        Examples
        --------
        >>> import numpy as np
        >>> from sivae_sklearn import SiVAE
        >>> model = SiVAE(3, hidden_layer_sizes=(8,), max_epochs=1, random_state=0)
        >>> model = model.fit(np.random.RandomState(0).normal(size=(30, 5)))
        >>> model.resolve_dimension(-1), model.resolve_dimension("sivae1")
        (2, 1)
        """
        check_is_fitted(self)
        k = self.n_components_
        names = list(self.get_feature_names_out())
        if isinstance(dim, Integral) and not isinstance(dim, bool):
            if -k <= dim < k:
                return int(dim) % k
            raise ValueError(
                f"Latent dimension {dim} does not exist (out of range): the model has n_components={k}; "
                f"use an integer in [0, {k - 1}] (negative counts from the end) or one of {names}."
            )
        if isinstance(dim, str):
            if dim in names:
                return names.index(dim)
            raise ValueError(f"Unknown dimension {dim!r}: expected an integer in [0, {k - 1}] or one of {names}.")
        raise ValueError(f"A latent dimension must be an integer or a dimension name, got {dim!r}.")

    # --------------------------------------------------------------- outputs
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
            index=pd.Index(self.get_feature_labels(), name="feature"),
            columns=self.get_feature_names_out(),
        )

    def embed_features(self, X_columns=None, *, embedding=None, return_std: bool = False):
        """Loadings for features that were not in training, from their values on the training rows or their embedding.

        Each column of ``X_columns`` is reduced by the fitted
        :attr:`feature_reducer_` exactly as the training features were (the
        same rows, PCA axes or subsample, and scale), then passed through the
        trained feature encoder: the cost is one forward pass, and a training
        feature's own column gives back its :attr:`components_` column to
        float round-off.

        A model whose ``feature_input`` was external embeddings reads the new
        features' ``embedding`` instead, fused with the fitted centre and
        scale (:attr:`feature_input_center_`, :attr:`feature_input_scale_`):
        a feature never measured at all gets loadings from its embedding
        alone, and a training feature's own embedding row gives back its
        :attr:`components_` column. A model that read both (``feature_input=
        ["pca", E]``) needs both: the new features' values and their
        embedding rows.

        On noisy data held-out features land with their modules less often
        than trained ones: on the hard configurations of the planted-module
        family, 0.44 in the median at the defaults against 0.84 to 0.94 for
        trained features. A model fitted with ``feature_input_size=10`` did
        better (0.64) at no measured cost to the embedding
        (``docs/benchmarks.md``); check an embedded feature against its
        trained neighbours before reading biology into it.

        Parameters
        ----------
        X_columns : {array-like, sparse matrix} of shape (n_samples_fit, n_new), default=None
            Values of the new features on the rows ``fit`` was given (all of
            them, validation rows included, in the same order), on the scale
            of the training data. Dense or scipy.sparse (never densified
            whole); a DataFrame is read by position, its column names are not
            used. Required unless the model reads external embeddings alone,
            where it is refused.
        embedding : array-like, DataFrame or list of them, default=None
            Models fitted with external embeddings only (and required there):
            the new features' embeddings, one row per new feature, with the
            columns of the ``feature_input`` of the fit (a list of as many
            blocks, each with its own columns, for a fused input). A
            DataFrame's rows are read in order.
        return_std : bool, default=False
            Also return the posterior standard deviations, like
            :attr:`components_std_`.

        Returns
        -------
        loadings : ndarray of shape (n_components, n_new)
            Posterior means of the new features' loadings, laid out like
            :attr:`components_`.
        std : ndarray of shape (n_components, n_new)
            Only with ``return_std=True``.

        Raises
        ------
        ValueError
            ``X_columns`` is not 2-D, has a number of rows other than the
            fitted data's, has no column, holds NaN or infinite values; or the
            likelihood is a count likelihood (``"nb"``, ``"poisson"``), whose
            encoder input divides each row by its total over the training
            features, which the fitted model does not keep. For a model fitted
            on external embeddings: ``X_columns`` is given (embeddings alone),
            or ``embedding`` is missing, not finite, or has other blocks or
            columns than the fit's ``feature_input`` (any likelihood works
            there); beside the data-derived input, ``X_columns`` and
            ``embedding`` describe different numbers of features.
        AttributeError
            The model was loaded from a model file written before models kept
            their feature reducer.

        Notes
        -----
        Scores that need only loadings are defined for embedded features as
        for trained ones (distances and cosines to :attr:`components_`,
        ``hub_scores(method="norm")``'s ``-||v_f||``). Feature awareness is
        not: it compares the decoder's reconstruction of a feature at each
        decoder level, and the decoder never reconstructs a feature it was not
        trained on, so no honest value exists for an embedded feature.

        Examples
        --------
        >>> import numpy as np
        >>> from sivae_sklearn import SiVAE
        >>> X = np.random.default_rng(0).normal(size=(60, 6))
        >>> model = SiVAE(2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X[:, :5])
        >>> model.embed_features(X[:, 5:]).shape
        (2, 1)
        >>> bool(np.allclose(model.embed_features(X[:, [1]])[:, 0], model.components_[:, 1], atol=1e-5))
        True
        >>> E = np.random.default_rng(1).normal(size=(5, 3))
        >>> external = SiVAE(2, feature_input=E, hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
        >>> external = external.fit(X[:, :5])
        >>> bool(np.allclose(external.embed_features(embedding=E[[1]])[:, 0], external.components_[:, 1], atol=1e-5))
        True
        """
        check_is_fitted(self)
        external = hasattr(self, "feature_input_widths_")
        reads_values = not external or data_method(self.feature_input) is not None
        if not reads_values and X_columns is not None:
            raise ValueError(
                "This model's feature encoder reads external embeddings (feature_input was an embedding), not "
                "the features' values: pass the new features' embedding=, not X_columns."
            )
        if not external and embedding is not None:
            raise ValueError(
                f"embedding= is only for models fitted with external embeddings as feature_input; this model's "
                f"feature encoder reads the features' values (feature_input={self.feature_input!r}): pass "
                "X_columns."
            )
        if reads_values and X_columns is None:
            also = " (and embedding=, as the model reads both)" if external else ""
            raise ValueError(f"embed_features needs X_columns: the new features' values on the rows of the fit{also}.")
        if external and embedding is None:
            also = " (and X_columns, as the model reads both)" if reads_values else ""
            raise ValueError(f"embed_features needs embedding= (one row per new feature) for this model{also}.")
        parts = ([self._column_inputs(X_columns)] if reads_values else []) + (
            [self._embedding_inputs(embedding)] if external else []
        )
        if len(parts) == 2 and parts[0].shape[0] != parts[1].shape[0]:
            raise ValueError(
                f"X_columns has {parts[0].shape[0]} columns but embedding has {parts[1].shape[0]} rows: give one "
                "embedding row per new feature, in the order of X_columns' columns."
            )
        inputs = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        mean, std = self._compiled.embed_feature_inputs(inputs)
        mean, std = mean.T.astype(np.float64), std.T.astype(np.float64)
        return (mean, std) if return_std else mean

    def _embedding_inputs(self, embedding) -> np.ndarray:
        """The fused feature-encoder input of new features' ``embedding`` (see :meth:`embed_features`)."""
        from .._arrays.feature_embeddings import align_embeddings, embedding_blocks, fusion_from_state

        fusion = fusion_from_state(self.feature_input_widths_, self.feature_input_center_, self.feature_input_scale_)
        blocks = embedding_blocks(embedding)
        if len(blocks) != len(fusion.widths_):
            raise ValueError(
                f"embedding has {len(blocks)} block(s), but the model was fitted on {len(fusion.widths_)} "
                f"embeddings of widths {fusion.widths_}; give one block per embedding, in the same order."
            )
        n_new = len(getattr(blocks[0], "shape", ())) == 2 and blocks[0].shape[0]
        if not n_new:
            raise ValueError(f"embedding must be 2-D with at least one row, got {getattr(blocks[0], 'shape', None)}.")
        blocks = align_embeddings(blocks, int(n_new), None, name="embedding")
        for i, (block, width) in enumerate(zip(blocks, fusion.widths_)):
            if block.shape[1] != width:
                where = "embedding" if len(blocks) == 1 else f"embedding[{i}]"
                raise ValueError(
                    f"{where} has {block.shape[1]} columns, but the model's feature_input had {width}: the new "
                    "features must be embedded in the same space as the training features."
                )
        return fusion.transform(blocks)

    def _column_inputs(self, X_columns) -> np.ndarray:
        """The reduced feature-encoder input of new features' values on the rows of the fit."""
        reducer = self._feature_reducer()
        if get_likelihood(self.likelihood).encoder_input.name != "none":
            raise ValueError(
                f"embed_features is not available for likelihood={self.likelihood!r}: its encoder input divides "
                "each row by its library size (the row's total over the training features), which the fitted "
                "model does not keep. Use a gaussian or bernoulli model on normalised data, or embed the "
                "features of a model fitted on the same rows with that likelihood."
            )
        X_columns = check_array(
            X_columns,
            accept_sparse=("csr", "csc", "coo"),
            dtype=(np.float64, np.float32),
            ensure_all_finite=True,
            ensure_min_samples=1,
            ensure_min_features=1,
            input_name="X_columns",
        )
        if X_columns.shape[0] != reducer.n_samples_fit_:
            raise ValueError(
                f"X_columns must hold the values of the new features on the {reducer.n_samples_fit_} rows the "
                f"model was fitted on (one row per training row, in order), got {X_columns.shape[0]} rows."
            )
        return reducer.transform(X_columns)

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

        d = self.resolve_dimension(dim)
        n = check_positive_int(n, "n")
        loadings = self.components_[d]
        labels = self.get_feature_labels()
        n = min(n, loadings.size)
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
        X = check_fitted_input(self, X)
        if per_sample:
            check_output_size(X.shape[0] * X.shape[1], f"feature_awareness(X, per_sample=True) of X {X.shape}")
        awareness = _interpret.feature_awareness(self._compiled, X, self.mean_, level=layer, per_sample=per_sample)
        return check_finite_result(awareness, "feature_awareness")

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

        i = self.resolve_feature(feature)
        n = check_positive_int(n, "n")
        idx, dist = _interpret.feature_neighbors(self.components_.T, i, n)
        return pd.Series(dist, index=pd.Index(self.get_feature_labels()[idx], name="feature"), name="distance")

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
        return pd.Series(scores, index=pd.Index(self.get_feature_labels(), name="feature"), name=f"hub_{method}")

    def feature_hubs(self, n: int = 10, method: str = "reconstruction"):
        """The ``n`` features with the highest :meth:`hub_scores`, best first."""
        n = check_positive_int(n, "n")
        scores = self.hub_scores(method)
        return scores.iloc[np.argsort(-scores.to_numpy(), kind="stable")[:n]]

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
        X = check_fitted_input(self, X)
        _interpret.check_attribution_method(method)
        Z, _ = self._compiled.embed(X)
        attributions = _interpret.latent_attributions(self._compiled.latent_jacobian(Z), Z, method)
        return _interpret.attribution_loadings(attributions)
