"""Rows of data, read in batches, in memory or from disk, never the whole matrix densified.

Every consumer (the training loop, the compiled inference functions, the
fitted statistics) asks for rows:

* **in memory**: dense arrays, CSR matrices and :class:`RowSubset` views of them
  (the training rows of ``fit``, without a copy);
* **on disk or lazy**: :class:`DiskRows` reads dask arrays (anndata's lazy
  readers such as ``anndata.experimental.read_elem_lazy``,
  ``dask.array.from_zarr``), zarr and h5py arrays and anndata's backed CSR
  matrices (``anndata.read_h5ad(path, backed="r").X``) in contiguous chunks of
  rows, so memory is bounded by a chunk, not by the number of rows.

Training minibatches (:func:`epoch_batches`) of in-memory data are a full
shuffle of the rows. On-disk data is shuffled in two levels, so that reads stay
sequential: the chunks are visited in a random order, and the rows of
:data:`SHUFFLE_CHUNKS` consecutive chunks of that order are pooled and
shuffled before they are cut into batches. A batch thus mixes rows from about
:data:`SHUFFLE_CHUNKS` random places of the file: far better than reading in
order (a file sorted by cell type would give batches of one type), not quite a
full shuffle (two rows of one chunk meet in a batch more often than by chance).
``docs/scale.md`` measures the difference.

The pool is bounded in bytes, not only in chunks: it holds at most
:data:`SHUFFLE_BUFFER_BYTES` of rows (counted as dense rows of the data's
dtype, so a sparse pool holds less). Chunks too large for their share of the
budget (``SHUFFLE_BUFFER_BYTES / SHUFFLE_CHUNKS``) are read in equal
contiguous slices that each fit it, and the slices take the chunks' place in
the shuffle; a pool is filled into one preallocated array, so it is never
held twice.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._errors import DataFileError

PREDICT_BATCH_SIZE = 2048
_ROW_MULTIPLE = 8

CHUNK_BYTES = 8 * 2**20
"""A chunk read from disk holds about this many bytes as dense float32 (at least 64, at most 4,096 rows)."""

SHUFFLE_CHUNKS = 16
"""On-disk training data: chunks (or slices of chunks) pooled and shuffled together into minibatches."""

SHUFFLE_BUFFER_BYTES = 128 * 2**20
"""On-disk training data: the most bytes of rows the shuffle pool holds (see the module docstring)."""

MAX_VALIDATION_ROWS = 10_000
"""On-disk data: at most this many rows are held out for validation (they are kept in memory)."""


class RowSubset:
    """Some rows of a dense or sparse matrix, read without copying the matrix.

    Supports what the training loop and the chunked inference need: ``shape``,
    ``dtype`` and indexing rows by a slice or an integer array (which returns
    a real, small matrix of those rows). ``fit`` uses it for the training rows,
    so that holding out a validation set never copies the training data.

    Parameters
    ----------
    X : ndarray or CSR matrix
        The whole matrix.
    index : ndarray of int
        Rows to expose, in order.

    Examples
    --------
    >>> import numpy as np
    >>> rows = RowSubset(np.arange(12).reshape(6, 2), [1, 4])
    >>> rows.shape, rows[1:].tolist()
    ((2, 2), [[8, 9]])
    """

    def __init__(self, X, index):
        self.base = X
        self.index = np.asarray(index, dtype=np.intp)
        self.shape = (self.index.size, X.shape[1])
        self.dtype = X.dtype

    def __getitem__(self, rows):
        return self.base[self.index[rows]]


def as_rows(X):
    """CSR for fast row slicing; dense stays as is."""
    if sp.issparse(X):
        return X.tocsr()
    return X


def _dense_float32(rows) -> np.ndarray:
    rows = rows.toarray() if sp.issparse(rows) else rows
    return np.asarray(rows, dtype=np.float32)


def iter_row_batches(X, batch_size: int = PREDICT_BATCH_SIZE):
    """Yield ``(start, dense float32 rows)`` for dense, sparse or on-disk ``X``, in row order."""
    if isinstance(X, DiskRows):
        for block, positions in X.iter_chunks():
            for start in range(0, block.shape[0], batch_size):
                yield int(positions[start]), _dense_float32(block[start : start + batch_size])
        return
    for start in range(0, X.shape[0], batch_size):
        yield start, _dense_float32(X[start : start + batch_size])


def iter_row_chunks(X):
    """Yield ``X`` in chunks of rows as stored (CSR or dense): on-disk data chunk by chunk, in-memory data whole."""
    if is_lazy(X):
        for block, _ in as_disk_rows(X).iter_chunks():
            yield block
    else:
        yield as_rows(X)


def pad_rows(a: np.ndarray) -> np.ndarray:
    """Pad with zero rows to a multiple of 8 rows.

    CPU kernels take a different vectorised path for fewer than 8 rows, which
    changes float32 rounding; padding makes each row's result independent of
    how many rows are evaluated together (scikit-learn's subset-invariance
    checks rely on this).
    """
    n = a.shape[0]
    target = max(_ROW_MULTIPLE, -(-n // _ROW_MULTIPLE) * _ROW_MULTIPLE)
    if target == n:
        return a
    return np.concatenate([a, np.zeros((target - n, *a.shape[1:]), a.dtype)])


def split_rows(n_samples: int, validation_fraction: float, rng: np.random.RandomState):
    """Sorted training and validation row indices; the validation share is drawn with ``rng``.

    At least two training rows remain; otherwise nothing is held out.
    """
    order = rng.permutation(n_samples)
    n_val = int(np.floor(n_samples * validation_fraction))
    if n_samples - n_val < 2:
        n_val = 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def column_moments(X, transform, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and mean square of ``transform(rows)``, in row chunks (no full copy).

    ``width``: the number of columns ``transform`` returns (default: those of ``X``).
    """
    total = np.zeros(X.shape[1] if width is None else width, np.float64)
    total_sq = np.zeros_like(total)
    for _, rows in iter_row_batches(X, 4096):
        view = transform(rows)
        total += view.sum(axis=0, dtype=np.float64)
        total_sq += np.einsum("ij,ij->j", view, view, dtype=np.float64)
    n = max(X.shape[0], 1)
    return total / n, total_sq / n


# ------------------------------------------------------------ on-disk rows
def is_lazy(X) -> bool:
    """Whether ``X`` lives on disk or is computed lazily (dask, zarr, h5py, anndata's backed matrices).

    Such data is read chunk by chunk (:class:`DiskRows`), never loaded whole.

    >>> import numpy as np
    >>> is_lazy(np.zeros((2, 2)))
    False
    """
    if isinstance(X, DiskRows):
        return True
    module = type(X).__module__.split(".")[0]
    if module not in ("dask", "zarr", "h5py", "anndata"):
        return False
    return len(getattr(X, "shape", ())) == 2


def _storage_chunk_rows(X) -> int | None:
    """Rows of one storage chunk of a zarr or h5py array, if it is chunked."""
    chunks = getattr(X, "chunks", None)
    if isinstance(chunks, tuple) and chunks and isinstance(chunks[0], (int, np.integer)):
        return int(chunks[0])
    return None


def _is_dask(X) -> bool:
    dask_array = sys.modules.get("dask.array")
    return dask_array is not None and isinstance(X, dask_array.Array)


def describe_source(source) -> str:
    """Where the on-disk ``source`` lives, for messages: ``"'/X' in 'data.h5ad'"`` for h5py and anndata's backed arrays.

    >>> import numpy as np
    >>> describe_source(np.zeros((2, 2)))
    'a ndarray'
    """
    group = getattr(source, "group", None)  # anndata's backed sparse matrices
    node = group if group is not None and hasattr(group, "file") else source
    filename = getattr(getattr(node, "file", None), "filename", None)
    key = getattr(node, "name", None)
    if filename is not None and isinstance(key, str):
        return f"{key!r} in {filename!r}"
    if filename is not None:
        return repr(filename)
    return f"a {type(source).__name__}"


def check_known_chunks(X, name: str = "X") -> None:
    """Raise a ValueError when the dask array ``X`` has chunks of unknown size (NaN), as after boolean indexing.

    Its rows cannot be counted nor read by position until dask computes the sizes.

    >>> import dask.array as da
    >>> x = da.ones((4, 2), chunks=2)
    >>> check_known_chunks(x[x[:, 0] > 0])
    Traceback (most recent call last):
    ...
    ValueError: X is a dask array with chunks of unknown size (shape (nan, 2)), ...
    """
    if all(isinstance(c, (int, np.integer)) for sizes in X.chunks for c in sizes):
        return
    raise ValueError(
        f"{name} is a dask array with chunks of unknown size (shape {X.shape}), as boolean indexing with a "
        f"dask array leaves it; SiVAE reads it by rows and needs their number. Call {name}.compute_chunk_sizes() "
        f"first (it finds the sizes in place), or index with a NumPy mask."
    )


def _is_sparse_source(X) -> bool:
    if _is_dask(X):
        from dask.array.utils import meta_from_array

        return sp.issparse(meta_from_array(X))
    fmt = getattr(X, "format", None)  # anndata's backed sparse matrices
    if fmt == "csc":
        raise ValueError(
            "X is a CSC matrix on disk, which cannot be read by rows without loading it whole. Write it "
            "as CSR (e.g. adata.X = adata.X.tocsr() before write_h5ad) or load it into memory."
        )
    return fmt == "csr"


class DiskRows:
    """Rows of an on-disk or lazy matrix, read in contiguous chunks.

    Parameters
    ----------
    source : dask array, zarr or h5py array, or anndata backed CSR matrix
        Anything 2-D whose row slices ``source[a:b]`` come back as (or, for dask,
        compute to) a NumPy array or a SciPy sparse matrix.
    columns : ndarray of bool or int, optional
        Keep only these columns of every chunk.
    keep : ndarray of bool of shape (n_source_rows,), optional
        Keep only these rows (the training rows of a fit).
    check : callable, optional
        Applied to every chunk as it is read (``check(block) -> block``): the
        validation of in-memory data, chunk by chunk.

    Attributes
    ----------
    shape : tuple of int
        Kept rows and columns.
    dtype : numpy dtype
        float32 when the source is float32, float64 otherwise (as the
        validation of in-memory data converts).
    boundaries : ndarray of int
        First row of every chunk in the source, and the number of source rows.
        Dask arrays are read by their own row chunks, zarr and h5py arrays by
        whole storage chunks.
    """

    def __init__(self, source, *, columns=None, keep=None, check=None):
        if isinstance(source, DiskRows):  # a view of a view: compose the column selections
            if source.columns is not None:
                columns = source.columns if columns is None else source.columns[np.asarray(columns)]
            source = source.source
        if len(source.shape) != 2:
            raise ValueError(f"Expected a 2-D matrix on disk, got shape {source.shape}.")
        if _is_dask(source):
            check_known_chunks(source)
        self.source = source
        self.sparse = _is_sparse_source(source)
        n, g = (int(s) for s in source.shape)
        if columns is not None:
            columns = np.asarray(columns)
            columns = np.flatnonzero(columns) if columns.dtype == bool else columns.astype(np.intp)
            g = columns.size
        self.columns = columns
        self.keep = None if keep is None else np.asarray(keep, dtype=bool)
        self.check = check
        self.boundaries = self._chunk_boundaries(n, int(source.shape[1]))
        kept = self._kept_per_chunk()
        self.offsets = np.concatenate([[0], np.cumsum(kept)]).astype(np.int64)
        self.shape = (int(self.offsets[-1]), g)
        self.dtype = np.dtype(np.float32) if np.dtype(source.dtype) == np.float32 else np.dtype(np.float64)
        self.max_abs = float("nan")
        """Largest absolute value, once a pass over the data has seen it (``split_training_rows``)."""

    def _chunk_boundaries(self, n: int, width: int) -> np.ndarray:
        if _is_dask(self.source):
            return np.concatenate([[0], np.cumsum(self.source.chunks[0])]).astype(np.int64)
        rows = int(np.clip(CHUNK_BYTES // max(4 * width, 1), 64, 4096))
        storage = _storage_chunk_rows(self.source)
        if storage:
            rows = max(storage, rows // storage * storage)
        return np.append(np.arange(0, n, rows), n).astype(np.int64)

    def _kept_per_chunk(self) -> np.ndarray:
        if self.keep is None:
            return np.diff(self.boundaries)
        return np.add.reduceat(self.keep, self.boundaries[:-1]) if self.keep.size else np.zeros(0, np.int64)

    @property
    def n_chunks(self) -> int:
        return len(self.boundaries) - 1

    def subset(self, keep) -> DiskRows:
        """These rows restricted to the rows ``keep`` (boolean, one per row of ``self``)."""
        keep = np.asarray(keep, dtype=bool)
        if self.keep is not None:
            within, keep = keep, self.keep.copy()
            keep[self.keep] = within
        return DiskRows(self.source, columns=self.columns, keep=keep, check=self.check)

    def read_chunk(self, c: int):
        """``(rows, positions)`` of chunk ``c``: its kept rows (CSR or dense) and their positions in ``self``."""
        return self.read_rows(int(self.boundaries[c]), int(self.boundaries[c + 1]))

    def read_rows(self, start: int, stop: int):
        """``(rows, positions)`` of the source rows ``start:stop`` (best within one chunk): the kept ones."""
        try:
            block = self.source[start:stop]
            if hasattr(block, "compute"):
                block = block.compute()
        except OSError as exc:  # h5py: a chunk that fails to decompress, a truncated file, a lost mount
            raise DataFileError(
                f"Cannot read rows {start}:{stop} of X from {describe_source(self.source)}: {exc}. The file is "
                f"damaged or unreadable (a compressed chunk that fails to decompress means damage); rewrite or "
                f"copy it again, or load a good copy into memory."
            ) from exc
        if sp.issparse(block):
            from .checks import check_sparse_structure

            check_sparse_structure(block, f"X (rows {start}:{stop} read from disk)")
            block = sp.csr_matrix(block)
        else:
            block = np.asarray(block)
        if self.columns is not None:
            block = block[:, self.columns]
        if self.check is not None:
            block = self.check(block)
        offset = self.kept_before(start)
        if self.keep is None:
            return block, np.arange(offset, offset + block.shape[0])
        rows = np.flatnonzero(self.keep[start:stop])
        return block[rows], np.arange(offset, offset + rows.size)

    def kept_before(self, start: int) -> int:
        """How many kept rows lie before source row ``start`` (the position in ``self`` of the next kept row)."""
        if self.keep is None:
            return int(start)
        c = int(np.searchsorted(self.boundaries, start, side="right")) - 1
        return int(self.offsets[c] + np.count_nonzero(self.keep[self.boundaries[c] : start]))

    def slices(self, max_rows: int) -> np.ndarray:
        """Boundaries of the chunks cut into equal contiguous slices of at most ``max_rows`` source rows.

        The chunks themselves when none is longer; a slice never spans two chunks.
        """
        max_rows = max(int(max_rows), 1)
        out = [self.boundaries[:1]]
        for start, stop in zip(self.boundaries[:-1], self.boundaries[1:]):
            n_slices = max(-(-(int(stop) - int(start)) // max_rows), 1)
            out.append(np.linspace(start, stop, n_slices + 1).round().astype(np.int64)[1:])
        return np.concatenate(out).astype(np.int64)

    def iter_chunks(self, order=None):
        """Yield ``(rows, positions)`` of every chunk with kept rows, in ``order`` (default: file order).

        A dense dask chunk of more than :data:`CHUNK_BYTES` (as dense float32
        rows) is read in equal contiguous slices that each fit, so that a pass
        over the data (the checks, the fitted statistics, ``transform``) holds
        a few MiB of rows and their temporaries, however large the chunks.
        """
        max_rows = max(CHUNK_BYTES // max(4 * self.shape[1], 1), 64)
        sliced = _is_dask(self.source) and not self.sparse
        for c in range(self.n_chunks) if order is None else order:
            if self.offsets[c + 1] <= self.offsets[c]:
                continue
            start, stop = int(self.boundaries[c]), int(self.boundaries[c + 1])
            if not sliced or stop - start <= max_rows:
                yield self.read_chunk(c)
                continue
            cuts = np.linspace(start, stop, -(-(stop - start) // max_rows) + 1).round().astype(np.int64)
            for a, b in zip(cuts[:-1], cuts[1:]):
                if self.keep is None or self.keep[a:b].any():
                    yield self.read_rows(int(a), int(b))


def as_disk_rows(X, check=None) -> DiskRows:
    """``X`` (on disk or lazy, see :func:`is_lazy`) as :class:`DiskRows` that apply ``check`` to every chunk."""
    rows = X if isinstance(X, DiskRows) else DiskRows(X)
    return DiskRows(rows, keep=rows.keep, check=check)


def select_columns(X, mask):
    """The columns ``mask`` of ``X``: a copy for in-memory data, a lazy view for on-disk data."""
    if is_lazy(X):
        return DiskRows(X, columns=mask)
    return X[:, mask]


def _stack(blocks):
    if any(sp.issparse(b) for b in blocks):
        return sp.vstack([sp.csr_matrix(b) for b in blocks], format="csr")
    return np.concatenate(blocks)


# ---------------------------------------------------- the split of a fit
@dataclass
class TrainSplit:
    """The rows of one fit: training rows (read in batches), validation rows (in memory).

    Attributes
    ----------
    X : matrix or DiskRows
        Every row given to ``fit``.
    train : matrix, RowSubset or DiskRows
        The training rows, never copied.
    val : ndarray, CSR matrix or None
        The validation rows.
    train_rows, val_rows : ndarray
        Which rows of ``X`` they are (an index or a boolean mask), for per-row
        conditions and labels.
    sample : ndarray, CSR matrix or None
        On-disk data: at most ``sample_rows`` training rows read during the
        split, for the feature-wise input (in memory, the rows are drawn later);
        ``training_feature_inputs`` sets it to None once it has used them.
    sample_rows : ndarray or None
        Which rows of ``X`` the ``sample`` holds (sorted).
    """

    X: object
    train: object
    val: object
    train_rows: np.ndarray
    val_rows: np.ndarray
    sample: object = None
    sample_rows: np.ndarray | None = None


def split_training_rows(X, validation_fraction: float, rng: np.random.RandomState, sample_rows: int) -> TrainSplit:
    """Hold out ``validation_fraction`` of the rows of ``X`` (drawn with ``rng``).

    In memory this is :func:`split_rows`. On disk it is one pass over the data,
    chunk by chunk (every chunk is checked by the :class:`DiskRows`' ``check``),
    that reads the validation rows (at most :data:`MAX_VALIDATION_ROWS`), up to
    ``sample_rows`` random training rows for the feature-wise input, and the
    largest absolute value. Memory: those rows and one chunk.
    """
    if not isinstance(X, DiskRows):
        train_idx, val_idx = split_rows(X.shape[0], validation_fraction, rng)
        train = X if train_idx.size == X.shape[0] else RowSubset(X, train_idx)
        return TrainSplit(X, train, X[val_idx] if val_idx.size else None, train_idx, val_idx)
    n = X.shape[0]
    n_val = int(np.floor(n * validation_fraction))
    if n - n_val < 2:
        n_val = 0
    draw = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
    val_idx = np.sort(draw.choice(n, min(n_val, MAX_VALIDATION_ROWS), replace=False))
    keep = np.ones(n, dtype=bool)
    keep[val_idx] = False
    sample_idx = np.sort(draw.choice(n, min(n, sample_rows + val_idx.size), replace=False))
    sample_idx = sample_idx[keep[sample_idx]][:sample_rows]
    val_gathered, sample_gathered, biggest = _Gathered(val_idx.size), _Gathered(sample_idx.size), 0.0
    for block, positions in X.iter_chunks():
        values = block.data if sp.issparse(block) else block
        if values.size:  # without np.abs's temporary of the whole block
            biggest = max(biggest, float(values.max()), -float(values.min()))
        for wanted, gathered in ((val_idx, val_gathered), (sample_idx, sample_gathered)):
            lo, hi = np.searchsorted(wanted, [positions[0], positions[-1] + 1])
            if hi > lo:
                gathered.add(block[wanted[lo:hi] - positions[0]])
    train = X.subset(keep)
    train.max_abs = biggest
    sample = sample_gathered.result()
    return TrainSplit(
        X,
        train,
        val_gathered.result(),
        keep,
        val_idx,
        sample=sample,
        sample_rows=sample_idx.astype(np.int64) if sample is not None else None,
    )


class _Gathered:
    """Rows gathered chunk by chunk: dense rows straight into one preallocated array of ``n_rows`` rows (so they are
    never held twice), sparse rows stacked at the end."""

    def __init__(self, n_rows: int):
        self.n_rows, self.parts, self.buffer, self.filled = n_rows, [], None, 0

    def add(self, rows) -> None:
        if sp.issparse(rows):
            self.parts.append(rows)
            return
        if self.buffer is None:
            self.buffer = np.empty((self.n_rows, rows.shape[1]), rows.dtype)
        self.buffer[self.filled : self.filled + rows.shape[0]] = rows
        self.filled += rows.shape[0]

    def result(self):
        if self.buffer is not None:
            return self.buffer[: self.filled]
        return _stack(self.parts) if self.parts else None


# ----------------------------------------------------- training minibatches
@dataclass
class Rows:
    """The rows of one minibatch: ``block[index]``; ``positions`` are their rows in the training data."""

    block: object
    index: np.ndarray
    positions: np.ndarray

    def split(self, n_parts: int) -> list[Rows]:
        """``n_parts`` consecutive parts (one per replica; some empty if there are fewer rows)."""
        return [
            Rows(self.block, i, p)
            for i, p in zip(np.array_split(self.index, n_parts), np.array_split(self.positions, n_parts))
        ]

    def dense(self) -> np.ndarray:
        """The rows as a dense float32 array."""
        return _dense_float32(self.block[self.index])


def epoch_batches(
    X, batch_size: int, rng: np.random.RandomState | None, *, shuffle_buffer_bytes: int | None = SHUFFLE_BUFFER_BYTES
):
    """The minibatches of one epoch over the rows of ``X``, as a function returning an iterator of :class:`Rows`.

    The random order is drawn from ``rng`` now (so epochs draw in turn
    whenever the batches are read); ``rng=None`` keeps the row order. Every row
    appears once; all batches but the last hold ``batch_size`` rows. In memory
    the rows are fully shuffled; on disk chunks are shuffled and pooled (see
    the module docstring), the pool holding at most ``shuffle_buffer_bytes``
    (default :data:`SHUFFLE_BUFFER_BYTES`) of rows besides fewer than
    ``batch_size`` rows carried over from the previous pool; ``None``: no byte
    bound, pools of :data:`SHUFFLE_CHUNKS` whole chunks.
    """
    n = X.shape[0]
    if not isinstance(X, DiskRows):
        order = rng.permutation(n) if rng is not None else np.arange(n)

        def batches():
            for start in range(0, n, batch_size):
                idx = order[start : start + batch_size]
                if rng is not None:
                    idx = np.sort(idx)  # cheaper row slicing of CSR; order inside a batch is irrelevant
                yield Rows(X, idx, idx)

        return batches

    if shuffle_buffer_bytes is None:
        bounds = np.asarray(X.boundaries, np.int64)
    else:
        budget = int(shuffle_buffer_bytes)
        if budget <= 0:
            raise ValueError(f"shuffle_buffer_bytes must be positive, got {shuffle_buffer_bytes!r}.")
        row_bytes = max(X.shape[1] * X.dtype.itemsize, 1)
        bounds = X.slices(budget // (SHUFFLE_CHUNKS * row_bytes))
    kept = np.array([X.kept_before(int(b)) for b in bounds], np.int64)
    n_pieces = len(bounds) - 1
    pieces = rng.permutation(n_pieces) if rng is not None else np.arange(n_pieces)
    shuffle = np.random.RandomState(rng.randint(np.iinfo(np.int32).max)) if rng is not None else None

    def disk_batches():
        carry, carry_positions = None, np.zeros(0, np.int64)
        for first in range(0, n_pieces, SHUFFLE_CHUNKS):
            group = [p for p in pieces[first : first + SHUFFLE_CHUNKS] if kept[p + 1] > kept[p]]
            n_rows = (0 if carry is None else carry.shape[0]) + sum(int(kept[p + 1] - kept[p]) for p in group)
            if n_rows == 0:
                continue
            reads = (X.read_rows(int(bounds[p]), int(bounds[p + 1])) for p in group)
            block, positions = _pool(carry, carry_positions, reads, n_rows)
            carry = None
            order = shuffle.permutation(block.shape[0]) if shuffle is not None else np.arange(block.shape[0])
            last = first + SHUFFLE_CHUNKS >= n_pieces
            full = block.shape[0] if last else block.shape[0] // batch_size * batch_size
            for start in range(0, full, batch_size):
                idx = np.sort(order[start : min(start + batch_size, full)])
                yield Rows(block, idx, positions[idx])
            rest = order[full:]
            carry, carry_positions = (block[rest], positions[rest]) if rest.size else (None, np.zeros(0, np.int64))
            block = None  # released before the next pool is read

    return disk_batches


def _pool(carry, carry_positions, reads, n_rows: int):
    """``(rows, positions)``: ``carry`` followed by the blocks of ``reads``, each copied into one array as it comes.

    Dense blocks fill a preallocated array of ``n_rows`` rows, so the pool is
    never held twice; sparse blocks are stacked (a sparse pool is far below
    its dense budget).
    """
    blocks = [] if carry is None else [carry]
    positions = [carry_positions]
    buffer, filled = None, 0
    for block, where in reads:
        positions.append(where)
        if sp.issparse(block) or (buffer is None and any(sp.issparse(b) for b in blocks)):
            blocks.append(block)
            continue
        if buffer is None:
            dtype = np.result_type(block.dtype, *[b.dtype for b in blocks])
            buffer = np.empty((n_rows, block.shape[1]), dtype)
            for b in blocks:
                buffer[filled : filled + b.shape[0]] = b
                filled += b.shape[0]
            blocks = []
        buffer[filled : filled + block.shape[0]] = block
        filled += block.shape[0]
    if buffer is None:
        return _stack(blocks), np.concatenate(positions)
    return buffer, np.concatenate(positions)
