"""Reading the data file given to the explorer's command line."""

from __future__ import annotations

import os
import zipfile

import numpy as np

from ._inputs import ExplorerInputError

SUPPORTED = (".npy", ".npz", ".csv", ".h5ad")


def load_data(path, labels_column: str | None = None, labels_file=None):
    """Read a data matrix, its labels and feature names from a file.

    Parameters
    ----------
    path : str or path-like
        ``.npy`` (one matrix), ``.npz`` (the array ``X``, or the only array;
        labels from ``labels_column`` or an array named ``labels``/``y`` when
        present), ``.csv`` (a header row; numeric columns are the features)
        or ``.h5ad`` (``X`` of an AnnData file; ``labels_column`` names an
        ``obs`` column).
    labels_column : str, optional
        Column (csv), ``obs`` column (h5ad) or array name (npz) holding the
        labels; it is removed from the features.
    labels_file : str or path-like, optional
        A text file (one label per line), ``.csv`` (first column) or ``.npy``
        of labels, one per row of the data.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    labels : ndarray of shape (n_samples,) or None
    feature_names : ndarray of shape (n_features,) or None

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "data.npz")
    >>> np.savez(path, X=np.ones((3, 2)), labels=np.array(["a", "b", "a"]))
    >>> X, labels, names = load_data(path)
    >>> X.shape, labels.tolist(), names
    ((3, 2), ['a', 'b', 'a'], None)
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ExplorerInputError(f"No data file at {path!r}.")
    ext = os.path.splitext(path)[1].lower()
    labels = feature_names = None
    if ext == ".npy":
        X = _load_numpy(path)
        if labels_column is not None:
            raise ExplorerInputError("--labels-column does not apply to a .npy file; use --labels-file.")
    elif ext == ".npz":
        arrays = _load_numpy(path)
        if "X" in arrays:
            X = arrays["X"]
        elif len(arrays) == 1:
            X = next(iter(arrays.values()))
        else:
            raise ExplorerInputError(f"{path!r} holds arrays {sorted(arrays)}; name the data matrix 'X'.")
        key = labels_column or next((k for k in ("labels", "y") if k in arrays), None)
        if key is not None:
            if key not in arrays:
                raise ExplorerInputError(f"{path!r} has no array {key!r}; it holds {sorted(arrays)}.")
            labels = arrays[key]
    elif ext == ".csv":
        import pandas as pd

        frame = pd.read_csv(path)
        if labels_column is not None:
            if labels_column not in frame.columns:
                raise ExplorerInputError(
                    f"{path!r} has no column {labels_column!r}; its columns start {list(frame.columns[:8])}."
                )
            labels = frame.pop(labels_column).to_numpy()
        non_numeric = [c for c in frame.columns if not np.issubdtype(frame[c].dtype, np.number)]
        if non_numeric:
            raise ExplorerInputError(
                f"{path!r} has non-numeric columns {non_numeric[:5]}; name the label column with --labels-column."
            )
        X, feature_names = frame.to_numpy(dtype=np.float64), np.asarray(frame.columns, dtype=str)
    elif ext == ".h5ad":
        import anndata

        adata = anndata.read_h5ad(path)
        X = adata.X
        if hasattr(X, "toarray"):
            check_dense_size(X.shape, f"{path!r} (adata.X)")
            X = X.toarray()
        X = np.asarray(X)
        feature_names = np.asarray(adata.var_names, dtype=str)
        if labels_column is not None:
            if labels_column not in adata.obs:
                raise ExplorerInputError(
                    f"{path!r} has no obs column {labels_column!r}; it has {list(adata.obs.columns)}."
                )
            labels = adata.obs[labels_column].to_numpy()
    else:
        raise ExplorerInputError(f"Cannot read {path!r}: expected one of {', '.join(SUPPORTED)}.")
    if labels_file is not None:
        labels = _read_labels(labels_file)
    X = np.asarray(X)
    if X.ndim != 2:
        raise ExplorerInputError(f"The data in {path!r} have shape {X.shape}; expected a 2-D matrix.")
    if labels is not None:
        labels = np.asarray(labels).ravel()
        if labels.shape[0] != X.shape[0]:
            raise ExplorerInputError(f"{labels.shape[0]} labels for {X.shape[0]} rows of data; give one per row.")
    return X, labels, feature_names


def check_dense_size(shape, what: str) -> None:
    """Raise an ExplorerInputError, before densifying, when a dense float64 matrix of ``shape`` cannot fit in memory.

    The explorer shows dense data (float64), so a sparse matrix is densified
    when it is read; ``what`` names the file or the argument.
    """
    from .._estimator.validation import check_output_size

    n_obs, n_vars = (int(s) for s in shape)
    try:
        check_output_size(
            n_obs * n_vars,
            f"The explorer densifies {what} of {n_obs:,} cells x {n_vars:,} genes; it",
            advice="Show fewer cells or genes: subset the AnnData first (e.g. adata[:, adata.var.highly_variable] "
            "or a sample of cells) and write that file.",
        )
    except ValueError as exc:
        raise ExplorerInputError(str(exc)) from None


def _load_numpy(path: str):
    """The array of a ``.npy`` file or the arrays (a dict) of a ``.npz`` file; never Python objects."""
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return loaded
        with loaded:
            return {k: loaded[k] for k in loaded.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ExplorerInputError(
            f"Cannot read {path!r} as NumPy data ({type(exc).__name__}): the explorer reads arrays of numbers "
            f"or text, never Python objects."
        ) from None


def _read_labels(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ExplorerInputError(f"No labels file at {path!r}.")
    if path.lower().endswith(".npy"):
        return _load_numpy(path)
    if path.lower().endswith(".csv"):
        import pandas as pd

        return pd.read_csv(path).iloc[:, 0].to_numpy()
    with open(path, encoding="utf-8") as fh:
        return np.array([line.rstrip("\n") for line in fh if line.strip()])
