"""Tools in scanpy's style: :func:`sivae` fits SiVAE on an AnnData object.

>>> from sivae_sklearn import tl
>>> callable(tl.sivae)
True

:func:`sivae` fits a :class:`~sivae_sklearn.SiVAE` on an AnnData object and
writes its results where scanpy's ``sc.pp.pca`` writes its own, so the usual
scanpy steps (``sc.pp.neighbors(adata, use_rep="X_sivae")``, ``sc.tl.umap``)
work on the result and everything survives ``write_h5ad`` / ``read_h5ad``.

========================================  =========================================
written to                                content
========================================  =========================================
``obsm["X_<key>"]``                       embedding, cells x K
``varm["<key>_loadings"]``                loadings (``components_.T``), genes x K;
                                          zero rows for genes left out by the mask
                                          (embedded with ``embed_all_genes=True``)
``var["<key>_feature_awareness"]``        per-gene feature awareness; NaN for genes
                                          left out by the mask
``var["<key>_embedded"]``                 only with ``embed_all_genes=True``: True
                                          for genes whose loadings were embedded
                                          (``SiVAE.embed_features``), not trained
``uns["<key>"]``                          ``params``, ``history``, ``n_iter`` and,
                                          when the estimator has them,
                                          ``variance`` / ``variance_ratio``;
                                          ``dimension_names`` (the programs', then
                                          ``sivae<k>``) and, with ``programs``,
                                          ``programs`` and ``program_support``
========================================  =========================================

``<key>`` is ``key_added`` (default ``"sivae"``). Nothing already in the
object is overwritten: if any of these keys exists, :func:`sivae` raises unless
``overwrite=True`` (or a fresh ``key_added`` is chosen). ``X`` and ``layers``
are only read, never changed.

:func:`sivae_transform` writes the same keys for a model that is already
fitted (e.g. loaded from a file), without training.

This module imports neither scanpy nor (until called) anndata.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._arrays.feature_embeddings import align_embeddings, data_method, embedding_blocks, is_external
from ._arrays.rows import is_lazy, iter_row_chunks, select_columns
from ._engine.likelihoods import LIKELIHOODS
from ._estimator.sivae import SiVAE
from ._estimator.validation import check_boolean_column, check_data, check_sparse_structure, missing_features_message
from ._io import read_gmt
from ._plain import to_plain

__all__ = ["sivae", "sivae_transform", "result_keys"]


def sivae(
    adata,
    n_components: int = 10,
    *,
    layer: str | None = None,
    use_highly_variable: bool | None = None,
    key_added: str = "sivae",
    batch_key: str | None = None,
    embed_all_genes: bool = False,
    programs: Mapping[str, Sequence[str]] | str | os.PathLike | None = None,
    copy: bool = False,
    overwrite: bool = False,
    **estimator_params: Any,
):
    """Fit a SiVAE on an AnnData object and store the results like ``sc.pp.pca``.

    Parameters
    ----------
    adata : anndata.AnnData
        Cells x genes. Read only, except for the result keys listed below.
        It may be opened from disk with ``anndata.read_h5ad(path, backed="r")``
        (``copy=False`` only): ``X`` then stays on disk and is read in chunks
        (see ``docs/scale.md``; anndata itself loads layers into memory in that
        mode), and so is any ``X`` or layer that is a dask array (e.g. from
        ``anndata.experimental.read_elem_lazy``).
    n_components : int, default=10
        Latent dimensions K.
    layer : str, optional
        Fit on ``adata.layers[layer]`` instead of ``adata.X`` (e.g. raw counts
        for ``likelihood="nb"``). Dense or scipy.sparse; sparse matrices are
        densified one minibatch at a time.
    use_highly_variable : bool, optional
        Fit only on the genes with ``adata.var["highly_variable"]``. ``None``
        (default, as scanpy): use the mask when that column exists.
    key_added : str, default="sivae"
        Names of the results: ``obsm["X_<key>"]``, ``varm["<key>_loadings"]``,
        ``var["<key>_feature_awareness"]`` and ``uns["<key>"]``.
    batch_key : str, optional
        Column of ``adata.obs`` holding the batch of each cell. The model is
        then conditional on it (``SiVAE(conditional=True)``): the decoder and
        the interpretability term receive the batch, the encoder does not, so
        the embedding and the loadings are corrected for the batch.
    embed_all_genes : bool, default=False
        When the highly-variable mask leaves genes out, give them loadings too:
        their columns (on all cells) go through
        :meth:`~sivae_sklearn.SiVAE.embed_features`, one forward pass of the
        feature encoder, instead of zero rows. ``var["<key>_embedded"]`` then
        says which genes were embedded rather than trained, and
        ``uns["<key>"]["embedded_genes"]`` counts them. Their feature
        awareness stays NaN (the decoder does not reconstruct them). Not
        available for the count likelihoods (``"nb"``, ``"poisson"``): a
        ValueError says why; except when ``feature_input`` is external
        embeddings only, whose rows give the other genes their loadings.
    programs : dict of str to list of str, or path, optional
        Gene programs (gene sets) as priors on the loadings, by gene name: a
        dict, or the path of a GMT file (read by :func:`sivae_sklearn.read_gmt`).
        Each program owns one latent dimension, named after it
        (:class:`~sivae_sklearn.SiVAE`'s ``feature_programs``); genes absent
        from the fitted genes (``var_names`` after the highly-variable mask)
        are left out with one warning. ``uns["<key>"]`` records the
        ``dimension_names``, each program's fitted ``programs`` genes and
        their ``program_support``. ``program_weight=`` sets the strength of
        the mask, ``program_embedding_weight=`` that of the embedding coupling.
        A program name may not contain ``"/"``: h5ad files would split it
        into nested groups (a ValueError says so before training).
    copy : bool, default=False
        Work on a copy of ``adata`` and return it; otherwise write the results
        into ``adata`` and return the fitted estimator.
    overwrite : bool, default=False
        Replace results already stored under ``key_added``. Without it, an
        existing key raises a ValueError.
    **estimator_params
        Passed to :class:`~sivae_sklearn.SiVAE` (``likelihood``,
        ``hidden_layer_sizes``, ``max_epochs``, ``random_state``, ...). External
        feature embeddings as ``feature_input`` are aligned to the genes here:
        ``feature_input="varm:KEY"`` reads ``adata.varm[KEY]`` (a list may mix
        such keys, DataFrames indexed by gene names and arrays with one row per
        gene of ``adata``), and the rows of the genes kept by the
        highly-variable mask are fitted; with ``embed_all_genes=True`` the
        other genes get loadings from their embedding rows (for any
        likelihood). A list may also name the data-derived input,
        ``feature_input=["pca", "varm:KEY"]``: the model reads both, and the
        other genes need both (a gaussian likelihood for
        ``embed_all_genes``). ``uns["<key>"]["params"]["feature_input"]``
        records the keys (``"external"`` for an array).

    Returns
    -------
    SiVAE or anndata.AnnData
        The fitted estimator (``copy=False``) or the annotated copy
        (``copy=True``).

    Raises
    ------
    ValueError
        Missing layer, non-unique ``var_names``, a mask that keeps no gene, a
        result key that already exists, negative values under a count
        likelihood, an unknown estimator parameter, or a program name with
        ``"/"``.

    Warns
    -----
    UserWarning
        Non-integer values under a count likelihood; genes that are constant
        over all cells; cells with zero total counts under a count likelihood.

    Notes
    -----
    * Genes constant over all cells (zero variance) are kept: they carry no
      signal, so their loadings stay near the prior. Filter them first
      (``sc.pp.filter_genes(adata, min_cells=1)``) to save time.
    * Cells with zero total counts are kept: under ``"nb"``/``"poisson"`` their
      expected counts are zero and their input is all zeros, so they all get the
      same embedding. Filter them first (``sc.pp.filter_cells(adata, min_counts=1)``).
    * Genes left out by the highly-variable mask get zero loadings (as
      ``varm["PCs"]`` in scanpy), or embedded loadings with
      ``embed_all_genes=True``, and a NaN feature awareness (0 would read as a
      measured value).
    * The model records the genes it was fitted on, by name and in its order,
      as ``feature_names_in_`` (``adata.var_names`` after the highly-variable
      mask): :meth:`~sivae_sklearn.SiVAE.top_features`, ``hub_scores`` and the
      plots show gene names, and :func:`sivae_transform` picks those genes by
      name from new data (the same mask, whatever the gene order there).

    Examples
    --------
    >>> import numpy as np, anndata as ad
    >>> from sivae_sklearn import tl
    >>> counts = np.random.RandomState(0).poisson(2.0, size=(60, 12)).astype(np.float32)
    >>> adata = ad.AnnData(counts)
    >>> model = tl.sivae(adata, 2, likelihood="nb", hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
    >>> adata.obsm["X_sivae"].shape, adata.varm["sivae_loadings"].shape
    ((60, 2), (12, 2))
    """
    _check_anndata(adata)
    if copy and adata.isbacked:
        raise ValueError(
            "copy=True needs adata in memory, but it is backed on disk; pass copy=False (the results are "
            "written into the object's annotations, which are in memory) or load it with adata.to_memory()."
        )
    _check_estimator_params(estimator_params)
    estimator_params_given = dict(estimator_params)
    keys = _result_keys_to_write(adata, key_added, overwrite)

    batches = None
    if batch_key is not None:
        if batch_key not in adata.obs:
            raise ValueError(
                f"batch_key={batch_key!r} is not a column of adata.obs; available: {list(adata.obs.columns)[:20]}."
            )
        if "conditional" in estimator_params and not estimator_params["conditional"]:
            raise ValueError("batch_key needs a conditional model; do not pass conditional=False with it.")
        batches = adata.obs[batch_key].to_numpy()
        if adata.obs[batch_key].isna().any():
            raise ValueError(f"adata.obs[{batch_key!r}] has missing values; fill or drop those cells first.")
        estimator_params = {**estimator_params, "conditional": True}
    X, source = _get_matrix(adata, layer)
    mask = _gene_mask(adata, use_highly_variable)
    X_fit = X if mask.all() else select_columns(X, mask)
    program_genes = None
    if programs is not None:
        if estimator_params.get("feature_programs") is not None:
            raise ValueError("Pass the gene programs once, as programs (by gene name) or feature_programs, not both.")
        program_genes = _program_genes(programs, np.asarray(adata.var_names[mask], dtype=object))
        position = {gene: i for i, gene in enumerate(adata.var_names[mask])}
        estimator_params = {
            **estimator_params,
            "feature_programs": {name: [position[g] for g in genes] for name, genes in program_genes.items()},
        }
    likelihood = estimator_params.get("likelihood", "gaussian")
    _check_input(X_fit, source, likelihood)
    family = LIKELIHOODS.get(likelihood)  # an unknown name is reported by SiVAE's parameter validation
    embeddings = _feature_embeddings(adata, estimator_params.get("feature_input", "pca"))
    reads_values = embeddings is None or data_method(estimator_params["feature_input"]) is not None
    if embeddings is not None:  # aligned to adata.var_names; the model reads the fitted genes' rows
        fitted_rows = [block[mask] for block in embeddings]
        method = data_method(estimator_params["feature_input"])
        estimator_params = {
            **estimator_params,
            "feature_input": (
                [method, *fitted_rows]
                if method is not None
                else fitted_rows[0]
                if len(fitted_rows) == 1
                else fitted_rows
            ),
        }
    if embed_all_genes and reads_values and family is not None and family.encoder_input.name != "none":
        raise ValueError(
            f"embed_all_genes=True is not available for likelihood={likelihood!r}: the encoder input of a count "
            "likelihood divides each cell by its library size over the fitted genes, which the model does not "
            "keep. Fit a gaussian model on normalised data (e.g. sc.pp.normalize_total + sc.pp.log1p) instead."
        )

    if copy:
        adata = adata.copy()
    model = SiVAE(n_components=n_components, **estimator_params)
    with warnings.catch_warnings():
        # _check_input already warned, naming the layer.
        warnings.filterwarnings("ignore", message=".*expects integer counts.*", category=UserWarning)
        model.fit(X_fit, condition=batches)
        # The genes the model was fitted on, by name, in its order: the highly-variable mask as names.
        model.feature_names_in_ = np.asarray(adata.var_names[mask], dtype=object)
        if program_genes is not None:
            model.set_params(feature_programs=program_genes)  # by name, as the fitted genes now are
        # the genes are named above; the matrix itself has no column names
        warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
        _write_results(adata, model, X_fit, np.flatnonzero(mask), keys, layer)
    if embeddings is not None:
        given = estimator_params_given.get("feature_input")
        adata.uns[keys["uns"]]["params"]["feature_input"] = _h5ad_value(
            [b if isinstance(b, str) else "external" for b in embedding_blocks(given)]
            if isinstance(given, (list, tuple))
            else (given if isinstance(given, str) else "external")
        )
    if embed_all_genes:
        _write_embedded_genes(adata, model, X, mask, keys, embeddings)
    if batch_key is not None:
        adata.uns[keys["uns"]]["params"]["batch_key"] = batch_key
    return adata if copy else model


def sivae_transform(
    adata,
    model: SiVAE,
    *,
    layer: str | None = None,
    use_highly_variable: bool | None = None,
    key_added: str = "sivae",
    copy: bool = False,
    overwrite: bool = False,
    missing_genes: str = "error",
):
    """Write a fitted model's results into an AnnData object, as :func:`sivae` does.

    Embeds the cells of ``adata`` with ``model`` (no training) and writes
    ``obsm["X_<key>"]``, ``varm["<key>_loadings"]``,
    ``var["<key>_feature_awareness"]`` and ``uns["<key>"]`` exactly as
    :func:`sivae` writes them after fitting. Use it to apply a saved model
    (:func:`sivae_sklearn.load`) to new cells with the same genes.

    Parameters
    ----------
    adata : anndata.AnnData
        Cells x genes, with the genes the model was fitted on. A model that
        knows its genes' names (``feature_names_in_``, as every model from
        :func:`sivae` or ``sivae fit`` does) takes them by name from
        ``adata.var_names``, in any order and among any other genes, so the
        model's own highly-variable selection is used whatever ``adata.var``
        holds. A model without names takes the columns by position.
    model : SiVAE
        A fitted estimator, e.g. from :func:`sivae` or :func:`sivae_sklearn.load`.
    layer : str, optional
        Embed ``adata.layers[layer]`` instead of ``adata.X``; the data must be
        what the model was fitted on (raw counts for ``"nb"``, ...).
    use_highly_variable : bool, optional
        For a model without gene names: use only the genes with
        ``adata.var["highly_variable"]``. ``None`` (default): use the mask when
        that column exists. (A model with names picks its genes by name; the
        value is still checked, as in :func:`sivae`.)
    key_added : str, default="sivae"
        Names of the results (see :func:`sivae`).
    copy : bool, default=False
        Work on a copy of ``adata`` and return it; otherwise write into
        ``adata`` and return None.
    overwrite : bool, default=False
        Replace results already stored under ``key_added``.
    missing_genes : {"error", "zero"}, default="error"
        What to do when genes of the model are not in ``adata.var_names``:
        ``"error"`` refuses, naming them (the first five and their number);
        ``"zero"`` embeds the cells as if those genes had been measured as 0
        everywhere, with a warning naming them. Zeros are not missing values:
        the embedding then differs from one with the genes measured, the more
        so the more genes are absent. In-memory data only (not backed or lazy).

    Returns
    -------
    anndata.AnnData or None
        The annotated copy (``copy=True``), else None.

    Raises
    ------
    ValueError
        Genes of the model missing from ``adata.var_names`` (named, unless
        ``missing_genes="zero"``), a number of genes that does not match a
        model without names, a missing layer, a result key that already
        exists, or data outside the model's likelihood.

    Warns
    -----
    UserWarning
        With ``missing_genes="zero"``: the genes counted as 0, named.

    Examples
    --------
    >>> import numpy as np, anndata as ad
    >>> from sivae_sklearn import tl
    >>> rng = np.random.RandomState(0)
    >>> train, new = ad.AnnData(rng.normal(size=(60, 12))), ad.AnnData(rng.normal(size=(30, 12)))
    >>> model = tl.sivae(train, 2, hidden_layer_sizes=(8,), max_epochs=2, random_state=0)
    >>> tl.sivae_transform(new, model)
    >>> new.obsm["X_sivae"].shape, new.varm["sivae_loadings"].shape
    ((30, 2), (12, 2))
    """
    from sklearn.utils.validation import check_is_fitted

    _check_anndata(adata)
    check_is_fitted(model)
    if missing_genes not in ("error", "zero"):
        raise ValueError(f"missing_genes must be 'error' or 'zero', got {missing_genes!r}.")
    keys = _result_keys_to_write(adata, key_added, overwrite)
    X, source = _get_matrix(adata, layer)
    mask = _gene_mask(adata, use_highly_variable)
    names = getattr(model, "feature_names_in_", None)
    absent = np.zeros(0, dtype=np.intp)
    if names is not None:
        genes = adata.var_names.get_indexer(names)
        absent = np.flatnonzero(genes < 0)
        if absent.size:
            message = missing_features_message(list(names[absent]), "gene", "adata.var_names")
            if missing_genes == "error":
                raise ValueError(
                    f"{message}. Embed cells that have every gene of the model, or pass "
                    f"missing_genes='zero' to count the absent ones as 0."
                )
            if is_lazy(X) or adata.isbacked:
                raise ValueError(f"{message}; missing_genes='zero' needs the data in memory (adata.to_memory()).")
            warnings.warn(f"{message}; they are counted as 0 in every cell.", UserWarning, stacklevel=2)
    else:
        if int(mask.sum()) != model.n_features_in_:
            kept = "after the highly-variable mask " if not mask.all() else ""
            raise ValueError(
                f"The model was fitted on {model.n_features_in_} genes but {source} has {int(mask.sum())} {kept}"
                f"(use the genes, and the use_highly_variable setting, the model was fitted with)."
            )
        genes = np.flatnonzero(mask)
    present = genes >= 0
    if absent.size:
        genes = genes[present]
    if genes.size == adata.n_vars and np.all(genes == np.arange(genes.size)):
        X_fit = X
    else:
        X_fit = X[:, genes]
    _check_input(X_fit, source, model.likelihood, fitting=False)
    if absent.size:
        X_fit = _with_zero_columns(X_fit, present)
    if copy:
        adata = adata.copy()
    with warnings.catch_warnings():
        # the genes were matched by name above; the matrix itself has no column names
        warnings.filterwarnings("ignore", message="X does not have valid feature names", category=UserWarning)
        _write_results(adata, model, X_fit, genes, keys, layer)
    return adata if copy else None


def _with_zero_columns(X, present: np.ndarray):
    """``X`` widened to ``present.size`` columns: its columns where ``present``, zeros elsewhere, in that order."""
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        order = np.argsort(np.concatenate([np.flatnonzero(present), np.flatnonzero(~present)]), kind="stable")
        zeros = sp.csr_matrix((X.shape[0], int((~present).sum())), dtype=X.dtype)
        return sp.hstack([X, zeros], format="csr")[:, order]
    X = np.asarray(X)
    out = np.zeros((X.shape[0], present.size), dtype=X.dtype if X.dtype.kind == "f" else np.float64)
    out[:, present] = X
    return out


def _write_results(adata, model: SiVAE, X_fit, genes: np.ndarray, keys: dict[str, str], layer: str | None) -> None:
    """Embedding, loadings, feature awareness and the ``uns`` entry of ``model`` on ``X_fit``, into ``adata``.

    ``genes`` are the positions in ``adata.var_names`` of the model's features, in the model's order (the
    features present in ``adata`` only, when some are absent).
    """
    embedding = model.transform(X_fit)
    loadings = np.zeros((adata.n_vars, model.n_components_), dtype=np.float32)
    awareness = np.full(adata.n_vars, np.nan, dtype=np.float64)
    names = getattr(model, "feature_names_in_", None)
    if names is not None and genes.size < len(names):
        present = adata.var_names.get_indexer(names) >= 0
        loadings[genes] = model.components_.T[present]
        awareness[genes] = model.feature_awareness_[present]
    else:
        loadings[genes] = model.components_.T
        awareness[genes] = model.feature_awareness_

    adata.obsm[keys["obsm"]] = np.asarray(embedding, dtype=np.float32)
    adata.varm[keys["varm"]] = loadings
    adata.var[keys["var"]] = awareness
    if keys["embedded"] in adata.var.columns:  # from an earlier run, replaced with overwrite=True
        del adata.var[keys["embedded"]]
    adata.uns[keys["uns"]] = _uns_entry(
        model, layer=layer, use_highly_variable=genes.size < adata.n_vars, n_genes=int(genes.size)
    )


def _write_embedded_genes(adata, model: SiVAE, X, mask: np.ndarray, keys: dict[str, str], embeddings=None) -> None:
    """Loadings of the genes outside ``mask`` via ``model.embed_features``, and which genes they are.

    With external ``embeddings`` (aligned to ``adata.var_names``), the genes' embedding rows, not their values;
    with both (``feature_input=["pca", E]``), both.
    """
    outside = np.flatnonzero(~mask)
    columns = None
    if outside.size and (embeddings is None or data_method(model.feature_input) is not None):
        columns = select_columns(X, ~mask)
        if is_lazy(X):  # on disk: read chunk by chunk, only the masked genes' columns
            blocks = list(iter_row_chunks(columns))
            if any(sp.issparse(b) for b in blocks):
                columns = sp.vstack([sp.csr_matrix(b) for b in blocks], format="csr")
            else:
                columns = np.concatenate(blocks)
        elif not sp.issparse(columns):
            columns = np.asarray(columns)
    if outside.size:
        embedding = None if embeddings is None else [block[outside] for block in embeddings]
        loadings = np.array(adata.varm[keys["varm"]])
        loadings[outside] = model.embed_features(columns, embedding=embedding).T
        adata.varm[keys["varm"]] = loadings
    adata.var[keys["embedded"]] = ~mask
    adata.uns[keys["uns"]]["embedded_genes"] = int(outside.size)


def result_keys(key_added: str = "sivae") -> dict[str, str]:
    """Where :func:`sivae` stores its results for a given ``key_added``.

    >>> result_keys("sivae")["obsm"]
    'X_sivae'
    """
    return {
        "obsm": f"X_{key_added}",
        "varm": f"{key_added}_loadings",
        "var": f"{key_added}_feature_awareness",
        "embedded": f"{key_added}_embedded",
        "uns": key_added,
    }


# --------------------------------------------------------------------- checks
def _check_anndata(adata) -> None:
    try:
        from anndata import AnnData
    except ImportError as exc:  # pragma: no cover - anndata is a dependency
        raise ImportError("sivae_sklearn.tl.sivae needs the 'anndata' package: pip install anndata") from exc
    if not isinstance(adata, AnnData):
        raise TypeError(f"adata must be an anndata.AnnData, got {type(adata).__name__}.")
    if adata.n_obs < 2 or adata.n_vars < 1:
        raise ValueError(f"adata needs at least 2 cells and 1 gene, got {adata.n_obs} x {adata.n_vars}.")


def _result_keys_to_write(adata, key_added: str, overwrite: bool) -> dict[str, str]:
    """The result keys of ``key_added``, after checking that they may be written."""
    if not isinstance(key_added, str) or not key_added:
        raise ValueError(f"key_added must be a non-empty string, got {key_added!r}.")
    if not adata.var_names.is_unique:
        dup = adata.var_names[adata.var_names.duplicated()].unique()[:5].tolist()
        raise ValueError(
            f"adata.var_names are not unique (e.g. {dup}); loadings are stored per gene name. "
            f"Call adata.var_names_make_unique() first."
        )
    keys = result_keys(key_added)
    if not overwrite:
        existing = _existing_keys(adata, keys)
        if existing:
            raise ValueError(
                f"{', '.join(existing)} already exist(s) in adata; pass key_added='<new name>' to keep both, "
                f"or overwrite=True to replace them."
            )
    return keys


def _feature_embeddings(adata, feature_input) -> list[np.ndarray] | None:
    """External ``feature_input`` aligned to ``adata.var_names`` (one array per embedding), or None for a method name.

    ``"varm:KEY"`` (alone or in a list) reads ``adata.varm[KEY]``; a DataFrame
    is aligned by its index to ``var_names``; an array needs one row per gene
    of ``adata`` (before the highly-variable mask).
    """
    if isinstance(feature_input, str) and not feature_input.startswith("varm:"):
        return None
    blocks = []
    for block in embedding_blocks(feature_input):
        if isinstance(block, str) and block.startswith("varm:"):
            key = block[len("varm:") :]
            if key not in adata.varm:
                raise ValueError(
                    f"feature_input={block!r}: adata.varm has no key {key!r}; available: "
                    f"{sorted(adata.varm.keys())[:20]}."
                )
            block = adata.varm[key]
            block = block.to_numpy() if hasattr(block, "to_numpy") else np.asarray(block)  # varm rows are var_names
        blocks.append(block)
    return align_embeddings(
        blocks if isinstance(feature_input, (list, tuple)) else blocks[0],
        adata.n_vars,
        np.asarray(adata.var_names, dtype=str),
        name="feature_input",
    )


def _check_estimator_params(params: dict) -> None:
    valid = set(SiVAE().get_params()) - {"n_components"}
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ValueError(f"Unknown SiVAE parameter(s) {unknown}; valid ones are {sorted(valid)}.")


def _existing_keys(adata, keys: dict[str, str]) -> list[str]:
    found = []
    if keys["obsm"] in adata.obsm:
        found.append(f"obsm[{keys['obsm']!r}]")
    if keys["varm"] in adata.varm:
        found.append(f"varm[{keys['varm']!r}]")
    if keys["var"] in adata.var.columns:
        found.append(f"var[{keys['var']!r}]")
    if keys["embedded"] in adata.var.columns:
        found.append(f"var[{keys['embedded']!r}]")
    if keys["uns"] in adata.uns:
        found.append(f"uns[{keys['uns']!r}]")
    return found


def _get_matrix(adata, layer: str | None):
    if layer is None:
        X, source = adata.X, "adata.X"
        if X is None:
            raise ValueError("adata.X is empty (None); pass layer='<name>' to fit on a layer.")
    else:
        if layer not in adata.layers:
            raise ValueError(f"Layer {layer!r} not found in adata.layers; available layers: {list(adata.layers)}.")
        X, source = adata.layers[layer], f"adata.layers[{layer!r}]"
    if sp.issparse(X):
        check_sparse_structure(X, source)  # before a gene mask slices it
    elif not isinstance(X, np.ndarray) and not is_lazy(X):
        X = np.asarray(X)
    return X, source


def _gene_mask(adata, use_highly_variable: bool | None) -> np.ndarray:
    has_hv = "highly_variable" in adata.var.columns
    if use_highly_variable is None:
        use_highly_variable = has_hv
    if not use_highly_variable:
        return np.ones(adata.n_vars, dtype=bool)
    if not has_hv:
        raise ValueError(
            "use_highly_variable=True but adata.var has no 'highly_variable' column; "
            "run sc.pp.highly_variable_genes first or pass use_highly_variable=False."
        )
    mask = check_boolean_column(adata.var["highly_variable"], "adata.var['highly_variable']")
    if not mask.any():
        raise ValueError("adata.var['highly_variable'] keeps no gene; recompute it or pass use_highly_variable=False.")
    return mask


def _check_input(X, source: str, likelihood: str, *, fitting: bool = True) -> None:
    """Count-model sanity and degenerate genes or cells, naming where the data came from (on disk: chunk by chunk).

    ``fitting=False`` (data for a fitted model): the advice keeps every gene, as the model needs its genes.
    """
    family = LIKELIHOODS.get(likelihood)  # an unknown name is reported by SiVAE's parameter validation
    lo = hi = None
    n_empty = 0
    for chunk in iter_row_chunks(X):
        chunk = check_data(chunk, source, likelihood=None if family is None else likelihood, stacklevel=4)
        chunk_lo, chunk_hi = _column_range(chunk)
        lo = chunk_lo if lo is None else np.minimum(lo, chunk_lo)
        hi = chunk_hi if hi is None else np.maximum(hi, chunk_hi)
        if family is not None and family.needs_library_size:
            n_empty += int(np.sum(np.asarray(chunk.sum(axis=1)).ravel() == 0))
    n_constant = int(np.sum(hi == lo))
    if n_constant and fitting:
        warnings.warn(
            f"{n_constant} gene(s) in {source} are constant over all cells; they are kept but carry no signal "
            f"(filter them with sc.pp.filter_genes(adata, min_cells=1)).",
            UserWarning,
            stacklevel=3,
        )
    elif n_constant:
        warnings.warn(
            f"{n_constant} of the model's gene(s) are constant over all cells in {source}; they are used as they "
            f"are. Keep them: the model embeds exactly the genes it was fitted on (check that {source} holds the "
            f"same kind of values as at fit time, e.g. the same normalisation).",
            UserWarning,
            stacklevel=3,
        )
    if n_empty:
        warnings.warn(
            f"{n_empty} cell(s) in {source} have zero total counts; they are kept and all get the same "
            f"embedding (filter them with sc.pp.filter_cells(adata, min_counts=1)).",
            UserWarning,
            stacklevel=3,
        )


def _column_range(X) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest value of every column (zeros of a sparse matrix included)."""
    if sp.issparse(X):
        return X.min(axis=0).toarray().ravel(), X.max(axis=0).toarray().ravel()
    return X.min(axis=0), X.max(axis=0)


# ---------------------------------------------------------------- uns entry
def _program_genes(programs, fitted_genes: np.ndarray) -> dict[str, list[str]]:
    """Each program's genes among the fitted ones, by name; absent genes reported in one warning."""
    if isinstance(programs, (str, os.PathLike)):
        programs = read_gmt(programs)
    if not isinstance(programs, Mapping):
        raise ValueError(
            f"programs must be a dict of program name -> gene names or the path of a GMT file, got "
            f"{type(programs).__name__}."
        )
    fitted = set(fitted_genes.tolist())
    present: dict[str, list[str]] = {}
    absent: dict[str, int] = {}
    for name, genes in programs.items():
        if "/" in str(name):
            raise ValueError(
                f"The program name {str(name)!r} contains '/', which an h5ad file cannot hold in a key (anndata "
                f"would store it as nested groups): rename it, e.g. {str(name).replace('/', '_')!r}."
            )
        if isinstance(genes, (str, bytes)) or not hasattr(genes, "__iter__"):
            raise ValueError(f"programs[{name!r}] must be a list of gene names, got {genes!r}.")
        genes = [str(g) for g in genes]
        present[name] = list(dict.fromkeys(g for g in genes if g in fitted))
        missing = len(set(genes) - fitted)
        if missing:
            absent[str(name)] = missing
    if absent:
        counts = ", ".join(f"{name!r}: {n}" for name, n in absent.items())
        warnings.warn(
            f"programs name genes that are not among the fitted genes (var_names, after the highly-variable mask), "
            f"left out (absent per program: {counts}).",
            UserWarning,
            stacklevel=3,
        )
    return present


def _uns_entry(model: SiVAE, *, layer: str | None, use_highly_variable: bool, n_genes: int) -> dict:
    """Parameters, history and variances in types that h5ad can store (no None, no mixed tuples)."""
    params = {
        name: "external" if name == "feature_input" and is_external(value) else _h5ad_value(value)
        for name, value in model.get_params().items()
        if name != "feature_programs"  # recorded once, as entry["programs"] below
    }
    params = {name: value for name, value in params.items() if value is not None}
    params["use_highly_variable"] = bool(use_highly_variable)
    params["n_genes"] = n_genes
    if layer is not None:
        params["layer"] = layer
    entry: dict[str, Any] = {
        "params": params,
        "n_iter": int(model.n_iter_),
        "history": {name: _h5ad_sequence(values) for name, values in model.history_.items()},
    }
    for attr, name in (("explained_variance_ratio_", "variance_ratio"), ("explained_variance_", "variance")):
        value = getattr(model, attr, None)
        if value is not None:
            entry[name] = np.asarray(value, dtype=np.float64)
    entry["dimension_names"] = np.asarray([str(n) for n in model.get_feature_names_out()], dtype=object)
    if model.feature_programs:
        entry["programs"] = {name: np.asarray(genes, dtype=object) for name, genes in model.feature_programs.items()}
        entry["program_support"] = np.asarray(model.program_support_, dtype=np.float64)
    return entry


def _h5ad_value(value):
    value = to_plain(value, fallback=str)  # e.g. a RandomState instance: record what it was
    return _h5ad_sequence(value) if isinstance(value, list) else value


def _h5ad_sequence(values) -> np.ndarray:
    values = list(values)
    if all(isinstance(v, str) for v in values) and values:
        return np.asarray(values, dtype=object)
    if all(isinstance(v, Integral) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.int64)
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return np.asarray([str(v) for v in values], dtype=object)
