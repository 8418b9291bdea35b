"""Checks of arrays that need nothing but NumPy: the structure of a sparse matrix."""

from __future__ import annotations

import numpy as np

_COMPRESSED = {"csr": ("rows", "columns"), "csc": ("columns", "rows"), "bsr": ("block rows", "block columns")}


def check_sparse_structure(X, name: str = "X") -> None:
    """Raise a ValueError when the index arrays of the sparse matrix ``X`` do not describe a matrix of its shape.

    In O(nnz) time and memory, without densifying or converting ``X``:

    * CSR, CSC and BSR: ``indptr`` has one entry per row (column, block row)
      plus one, starts at 0, never decreases and ends within ``indices``, which
      is as long as ``data``; every index lies in ``[0, n_columns)`` (rows, block
      columns);
    * COO: ``row`` and ``col`` are as long as ``data`` and within the shape.

    Such a matrix is what scipy's constructors build; one whose arrays were
    edited or read from a damaged file can crash scipy's compiled code, so
    every entry point checks it before anything else touches the matrix.
    Other formats (LIL, DOK, DIA) are converted by scipy and the result is
    checked.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> X = sp.csr_matrix(np.eye(3))
    >>> X.indices[0] = 7  # past the last column
    >>> check_sparse_structure(X)
    Traceback (most recent call last):
    ...
    ValueError: X is a CSR matrix whose column indices reach 7, but it has 3 columns; ...
    """
    fmt = X.format
    if len(X.shape) != 2:
        return  # check_array_like refuses it for its dimensions
    if fmt == "coo":
        arrays = {"row": X.row, "col": X.col}
        bounds = {"row": X.shape[0], "col": X.shape[1]}
        for key, values in arrays.items():
            _check_index_array(values, f"{name} is a COO matrix whose {key} array", X.data.shape[0])
            if values.size and (values.min() < 0 or values.max() >= bounds[key]):
                raise ValueError(
                    f"{name} is a COO matrix whose {key} indices span [{values.min()}, {values.max()}], outside "
                    f"its shape {X.shape}; the matrix is corrupt. Rebuild it with scipy.sparse.coo_matrix."
                )
        return
    if fmt not in _COMPRESSED:
        return
    major_name, minor_name = _COMPRESSED[fmt]
    block = X.blocksize if fmt == "bsr" else (1, 1)
    n_major, n_minor = (X.shape[1], X.shape[0]) if fmt == "csc" else (X.shape[0] // block[0], X.shape[1] // block[1])
    what = f"{name} is a {fmt.upper()} matrix whose"
    indptr, indices = np.asarray(X.indptr), np.asarray(X.indices)
    if indptr.ndim != 1 or indptr.dtype.kind not in "iu" or indptr.shape[0] != n_major + 1:
        raise ValueError(
            f"{what} indptr has shape {indptr.shape} and dtype {indptr.dtype}, but {n_major} {major_name} need "
            f"an integer indptr of {n_major + 1} entries; the matrix is corrupt."
        )
    _check_index_array(indices, f"{what} indices array", np.shape(X.data)[0])
    if indptr[0] != 0:
        raise ValueError(f"{what} indptr starts at {indptr[0]}, not 0; the matrix is corrupt.")
    steps = np.diff(indptr)
    if steps.size and steps.min() < 0:
        where = int(np.argmax(steps < 0))
        raise ValueError(
            f"{what} indptr decreases (from {indptr[where]} to {indptr[where + 1]} at {major_name[:-1]} {where}); "
            f"indptr must never decrease. The matrix is corrupt: rebuild it with scipy.sparse."
        )
    nnz = int(indptr[-1])
    if nnz > indices.shape[0]:
        raise ValueError(
            f"{what} indptr ends at {nnz}, past its {indices.shape[0]} stored indices; the matrix is corrupt."
        )
    used = indices[:nnz]
    if used.size and (used.min() < 0 or used.max() >= n_minor):
        bad = int(used.min()) if used.min() < 0 else int(used.max())
        raise ValueError(
            f"{what} {minor_name[:-1]} indices reach {bad}, but it has {n_minor} {minor_name}; the matrix is "
            f"corrupt (indices must lie in [0, {n_minor})). Rebuild it with scipy.sparse."
        )


def _check_index_array(values, what: str, n_data: int) -> None:
    values = np.asarray(values)
    if values.ndim != 1 or values.dtype.kind not in "iu" or values.shape[0] != n_data:
        raise ValueError(
            f"{what} has shape {values.shape} and dtype {values.dtype}, but the matrix stores {n_data} values: "
            f"it must be integers, one per stored value. The matrix is corrupt."
        )
