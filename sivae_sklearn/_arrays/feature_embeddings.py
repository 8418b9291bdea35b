"""External feature embeddings as the input of the feature-wise encoder: ``SiVAE(feature_input=E)``.

By default the feature encoder reads each feature's column of the data, reduced
by a :class:`~sivae_sklearn._arrays.feature_inputs.FeatureReducer`. Instead,
``feature_input`` may be what is known about the features from elsewhere (for
genes: a language-model embedding, a network embedding, the loadings of another
data set):

* an array of shape (n_features, d), row ``f`` for feature ``f`` (by position;
  only when ``X`` has no feature names);
* a pandas DataFrame indexed by feature names, aligned **by name** to
  ``feature_names_in_`` (reordered; extra rows are ignored; a missing name is
  refused, naming the features without a row);
* a list (or tuple) of several of these, which are fused.

Alone, the external input **replaces** the data-derived one: the feature
encoder then reads the embedding alone, so a feature with no measured values at
all can be given loadings from its embedding
(``SiVAE.embed_features(embedding=...)``). A list may also name the
data-derived input, ``["pca", E]`` (or ``"subsample"``, once): the encoder then
reads the features' reduced columns *and* the embeddings side by side, the
reduced columns first. An uninformative embedding costs little there (the data
still shape the loadings; ``docs/benchmarks.md`` measures it), and new features
need both their values and their embedding (``embed_features(X_columns,
embedding=...)``).

Fusion rule (one embedding is the case of one block): every column of every
block is standardised over the training features (mean 0, standard deviation
1; a constant column becomes 0, with scale 1), then block ``b`` of width ``d_b`` is scaled by
``sqrt(D / (B * d_b))``, where ``D`` is the total width and ``B`` the number of
blocks. Each block then carries the same total variance ``D / B`` whatever its
width, so a wide embedding does not drown a narrow one, and the fused input has
unit variance per entry, as the data-derived input has. Beside the data-derived
input (``["pca", E]``) the embeddings are fused by the same rule among
themselves and concatenated after the reduced columns, unweighted: with one
embedding of width ``d`` that is the plain concatenation of its standardised
columns with the ``feature_input_size`` reduced ones. The fitted centre and
scale of every embedding column (:class:`FeatureEmbeddingInput`) are applied
unchanged to the embeddings of new features.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._errors import DataTypeError

__all__ = ["FeatureEmbeddingInput", "align_embeddings", "data_method", "embedding_blocks", "is_external"]

METHODS = ("pca", "subsample")
"""The data-derived inputs a list of embeddings may name beside them (``FeatureReducer``'s methods)."""

EMBEDDING_ATTRIBUTES = ("feature_input_widths_", "feature_input_center_", "feature_input_scale_")
"""The fitted attributes of a model whose feature encoder reads external embeddings."""


def is_external(feature_input) -> bool:
    """Whether the ``feature_input`` parameter holds external embeddings (anything but a method name)."""
    return not isinstance(feature_input, str)


def embedding_blocks(feature_input) -> list:
    """The entries of ``feature_input`` as a list of blocks (one embedding gives one block).

    A method name in a list (``["pca", E]``) is kept as it is; :func:`align_embeddings` skips it.
    """
    if isinstance(feature_input, (list, tuple)):
        return list(feature_input)
    return [feature_input]


def data_method(feature_input) -> str | None:
    """The data-derived input ``feature_input`` asks for (``"pca"``, ``"subsample"``), or None for embeddings alone.

    >>> import numpy as np
    >>> data_method("pca"), data_method(np.zeros((3, 2))), data_method(["subsample", np.zeros((3, 2))])
    ('pca', None, 'subsample')
    """
    if isinstance(feature_input, str):
        return feature_input if feature_input in METHODS else None  # tl's "varm:KEY" names an embedding
    names = [b for b in embedding_blocks(feature_input) if isinstance(b, str) and b in METHODS]
    return names[0] if names else None


def external_width(feature_input) -> int:
    """Total number of columns of the embeddings (0 when they are not 2-D yet: ``fit`` then says why)."""
    total = 0
    for block in embedding_blocks(feature_input):
        shape = getattr(block, "shape", ())
        total += int(shape[1]) if len(shape) == 2 else 0
    return max(total, 1)


def _is_frame(block) -> bool:
    return hasattr(block, "index") and hasattr(block, "columns") and hasattr(block, "to_numpy")


def _numeric(values, where: str) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype.kind not in "biuf" or values.dtype.kind == "b":
        if values.dtype.kind == "O":
            try:
                values = values.astype(np.float64)
            except (TypeError, ValueError):
                raise DataTypeError(
                    f"{where} must be numeric, got values of dtype object that are not numbers."
                ) from None
        else:
            raise DataTypeError(f"{where} must be numeric, got dtype {values.dtype}.")
    values = values.astype(np.float64)
    if values.ndim != 2:
        raise ValueError(f"{where} must be 2-D (one row per feature), got shape {values.shape}.")
    if values.shape[1] == 0:
        raise ValueError(f"{where} has no column; an embedding needs at least one.")
    if not np.all(np.isfinite(values)):
        bad = np.flatnonzero(~np.all(np.isfinite(values), axis=1))
        raise ValueError(f"{where} holds NaN or infinite values (rows {bad[:5].tolist()}).")
    return values


def _missing_message(missing: Sequence[str], where: str, total: int) -> str:
    shown = ", ".join(repr(str(m)) for m in list(missing)[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return (
        f"{where} has no row for {len(missing)} of the {total} features ({shown}{more}); give every feature "
        "a row (its index names the features), or leave those features out of X."
    )


def align_embeddings(feature_input, n_features: int, feature_names, name: str = "feature_input") -> list[np.ndarray]:
    """The embeddings of ``feature_input``, checked and aligned to the features, one float64 array per block.

    Parameters
    ----------
    feature_input : array-like, DataFrame, or list of them
        See the module docstring.
    n_features : int
        Number of features (columns of ``X``).
    feature_names : ndarray of str or None
        ``feature_names_in_``; a DataFrame block is aligned by these names.
        ``None`` (``X`` without feature names): a DataFrame is read by position.
    name : str
        How errors name the argument.

    Returns
    -------
    list of ndarray of shape (n_features, d_b)
        One per embedding, in order; a data-derived method name in the list
        (``"pca"``) has none.

    Raises
    ------
    ValueError
        A block is not 2-D, not numeric, not finite, has no column, has the
        wrong number of rows, or (by name) lacks a row for some feature or
        names a feature twice; or a string in the list is not one data-derived
        method beside at least one embedding.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> E = pd.DataFrame([[1.0], [2.0], [3.0]], index=["b", "a", "extra"])
    >>> align_embeddings(E, 2, np.array(["a", "b"]))[0].ravel().tolist()
    [2.0, 1.0]
    """
    blocks = embedding_blocks(feature_input)
    if not blocks:
        raise ValueError(f"{name} is an empty list; give at least one embedding, or 'pca'.")
    aligned = []
    methods = [b for b in blocks if isinstance(b, str)]
    if methods and (len(methods) > 1 or len(blocks) == 1 or methods[0] not in METHODS):
        raise ValueError(
            f"{name} holds the string(s) {methods}; a list of embeddings holds arrays or DataFrames, and at most "
            f"one data-derived input beside them, one of {list(METHODS)} (e.g. ['pca', E])."
        )
    for i, block in enumerate(blocks):
        where = name if len(blocks) == 1 else f"{name}[{i}]"
        if isinstance(block, str):
            continue  # the data-derived input, reduced from X by the fit
        if _is_frame(block) and feature_names is not None:
            index = block.index.astype(str)
            if index.has_duplicates:
                dup = index[index.duplicated()].unique()[:5].tolist()
                raise ValueError(f"{where} has duplicate index names {dup}; each feature needs one row.")
            names = np.asarray(feature_names, dtype=str)
            missing = [n for n in names if n not in index]
            if missing:
                raise ValueError(_missing_message(missing, where, len(names)))
            values = _numeric(block.to_numpy()[index.get_indexer(names)], where)
        else:
            values = _numeric(block.to_numpy() if _is_frame(block) else block, where)
            if values.shape[0] != n_features:
                how = "" if _is_frame(block) else " (an array is aligned by position)"
                raise ValueError(
                    f"{where} has {values.shape[0]} rows, but X has {n_features} features{how}; give one row per "
                    "feature, in the order of X's columns, or a DataFrame indexed by feature names."
                )
        aligned.append(values)
    return aligned


class FeatureEmbeddingInput:
    """The fitted fusion of external embeddings into the feature encoder's input.

    Attributes
    ----------
    widths_ : list of int
        Columns of each block.
    center_ : ndarray of shape (n_inputs,), float64
        Subtracted from each fused column.
    scale_ : ndarray of shape (n_inputs,), float64
        Each centred column is divided by it (the column's standard deviation
        over the training features, divided by its block's weight
        ``sqrt(D / (B * d_b))``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> fusion = FeatureEmbeddingInput()
    >>> inputs = fusion.fit_transform([rng.normal(size=(6, 2)), 5 * rng.normal(size=(6, 6))])
    >>> inputs.shape, [round(float(np.sum(inputs[:, s] ** 2)) / 6, 3) for s in (slice(0, 2), slice(2, 8))]
    ((6, 8), [4.0, 4.0])
    """

    def fit_transform(self, blocks: list[np.ndarray]) -> np.ndarray:
        """Fit the centre and scale on the training features' aligned ``blocks``; return their fused input."""
        total = sum(b.shape[1] for b in blocks)
        centers, scales = [], []
        for block in blocks:
            std = block.std(axis=0)
            weight = np.sqrt(total / (len(blocks) * block.shape[1]))
            constant = std <= 1e-12 * max(1.0, float(np.abs(block).max(initial=0.0)))
            centers.append(block.mean(axis=0))
            scales.append(np.where(constant, 1.0, std / weight))  # a constant column: 0 for every training feature
        self.widths_ = [int(b.shape[1]) for b in blocks]
        self.center_ = np.concatenate(centers)
        self.scale_ = np.concatenate(scales)
        return self.transform(blocks)

    def transform(self, blocks: list[np.ndarray]) -> np.ndarray:
        """The fused input of ``blocks`` (aligned, one row per feature), as the training features' was made."""
        widths = [int(b.shape[1]) for b in blocks]
        if widths != self.widths_:
            raise ValueError(
                f"the embedding has blocks of widths {widths}, but the model was fitted on blocks of widths "
                f"{self.widths_}."
            )
        fused = np.concatenate(blocks, axis=1) if blocks else np.zeros((0, 0))
        return ((fused - self.center_) / self.scale_).astype(np.float32)

    @property
    def n_inputs_(self) -> int:
        """Width of the fused input."""
        return int(sum(self.widths_))


def fusion_from_state(widths, center, scale) -> FeatureEmbeddingInput:
    """A fitted :class:`FeatureEmbeddingInput` from saved arrays; a ValueError if they do not describe one."""
    if (
        not isinstance(widths, list)
        or not widths
        or not all(isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in widths)
    ):
        raise ValueError(f"feature_input_widths_ must be a non-empty list of positive integers, got {widths!r:.60}")
    center = np.asarray(center, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    if center.shape != (sum(widths),) or scale.shape != (sum(widths),):
        raise ValueError(
            f"feature_input_center_ and feature_input_scale_ must have shape ({sum(widths)},) (the sum of "
            f"feature_input_widths_), got {center.shape} and {scale.shape}"
        )
    if not np.all(np.isfinite(center)) or not np.all(np.isfinite(scale) & (scale > 0)):
        raise ValueError("feature_input_center_ must be finite and feature_input_scale_ positive")
    fusion = FeatureEmbeddingInput()
    fusion.widths_, fusion.center_, fusion.scale_ = list(widths), center, scale
    return fusion
