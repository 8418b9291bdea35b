"""Sparse input whose index arrays are corrupt, or that stores duplicates: refused or summed, at every entry point.

Structures are generated with hypothesis: valid CSR/CSC matrices (duplicates and
unsorted indices included), then one of their index arrays corrupted in place, as
an edited matrix or a damaged file would have it. The check must refuse exactly the
corrupt ones, in O(nnz) without densifying, before scipy's compiled code sees them.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sivae_sklearn import SiVAE
from sivae_sklearn._estimator.validation import check_sparse_structure, sum_duplicates
from tests.presets import SMALL


@st.composite
def compressed(draw):
    """A valid CSR or CSC matrix (possibly with duplicate and unsorted indices) built by scipy."""
    fmt = draw(st.sampled_from(["csr", "csc"]))
    n_major, n_minor = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    nnz = draw(st.integers(0, 12))
    cuts = sorted(draw(st.lists(st.integers(0, nnz), min_size=n_major - 1, max_size=n_major - 1)))
    indptr = np.array([0, *cuts, nnz], dtype=np.int32)
    indices = np.array(draw(st.lists(st.integers(0, n_minor - 1), min_size=nnz, max_size=nnz)), dtype=np.int32)
    data = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=nnz, max_size=nnz)), dtype=np.float64)
    shape = (n_major, n_minor) if fmt == "csr" else (n_minor, n_major)
    return (sp.csr_matrix if fmt == "csr" else sp.csc_matrix)((data, indices, indptr), shape=shape)


def is_valid(X) -> bool:
    """The structure rule, written the slow and obvious way."""
    n_major, n_minor = X.shape if X.format == "csr" else X.shape[::-1]
    indptr, indices = list(X.indptr), list(X.indices)
    if len(indptr) != n_major + 1 or indptr[0] != 0 or indptr[-1] > len(indices) or len(indices) != len(X.data):
        return False
    if any(indptr[i] > indptr[i + 1] for i in range(n_major)):
        return False
    return all(0 <= j < n_minor for j in indices[: indptr[-1]])


@st.composite
def corrupted(draw):
    X = draw(compressed())
    how = draw(st.sampled_from(["none", "index", "negative", "indptr_down", "indptr_end", "indptr_start"]))
    n_minor = X.shape[1] if X.format == "csr" else X.shape[0]
    if how in ("index", "negative") and X.nnz:
        k = draw(st.integers(0, X.nnz - 1))
        X.indices[k] = n_minor + draw(st.integers(0, 10**6)) if how == "index" else -draw(st.integers(1, 5))
    elif how == "indptr_down" and len(X.indptr) > 2:
        i = draw(st.integers(1, len(X.indptr) - 2))
        X.indptr[i] = X.indptr[i + 1] + draw(st.integers(1, 5))
    elif how == "indptr_end":
        X.indptr[-1] = X.indices.shape[0] + draw(st.integers(1, 5))
    elif how == "indptr_start":
        X.indptr[0] = draw(st.integers(1, 3))
    return X


@settings(max_examples=300)
@given(X=corrupted())
def test_the_structure_check_refuses_exactly_the_corrupt_matrices(X):
    if is_valid(X):
        check_sparse_structure(X)
    else:
        with pytest.raises(ValueError, match="corrupt"):
            check_sparse_structure(X)


@settings(max_examples=150)
@given(X=compressed())
def test_duplicates_are_summed_on_a_copy(X):
    before = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    n_major = X.shape[0] if X.format == "csr" else X.shape[1]
    expected = np.zeros(X.shape if X.format == "csr" else X.shape[::-1])
    for i in range(n_major):
        for k in range(X.indptr[i], X.indptr[i + 1]):
            expected[i, X.indices[k]] += X.data[k]
    expected = expected if X.format == "csr" else expected.T
    summed = sum_duplicates(X)
    np.testing.assert_allclose(summed.toarray(), expected)
    for a, b in zip(before, (X.data, X.indices, X.indptr)):
        np.testing.assert_array_equal(a, b)  # never in place
    rows = [summed.indices[summed.indptr[i] : summed.indptr[i + 1]] for i in range(n_major)]
    assert all(np.all(np.diff(r) > 0) for r in rows)


def test_coo_and_bsr_structures_are_checked():
    coo = sp.coo_matrix(np.eye(3))
    coo.col[1] = 3
    with pytest.raises(ValueError, match="COO matrix whose col indices"):
        check_sparse_structure(coo)
    bsr = sp.bsr_matrix(np.eye(4), blocksize=(2, 2))
    bsr.indices[0] = 2
    with pytest.raises(ValueError, match="BSR matrix whose block column indices reach 2"):
        check_sparse_structure(bsr)


def test_the_check_never_densifies(monkeypatch):
    rng = np.random.RandomState(0)
    indptr = np.sort(rng.randint(0, 20_000, size=50_001))
    indptr[0], indptr[-1] = 0, 20_000
    X = sp.csr_matrix((rng.uniform(size=20_000), rng.randint(0, 50_000, 20_000), indptr), shape=(50_000, 50_000))
    X.sum_duplicates()  # a 50,000 x 50,000 matrix: 20 GB if densified
    monkeypatch.setattr(sp.csr_matrix, "toarray", lambda *a, **k: pytest.fail("densified"))
    check_sparse_structure(X)
    assert sum_duplicates(X) is X


# ------------------------------------------------------------------ entry points
@pytest.fixture(scope="module")
def bernoulli():
    X = np.random.RandomState(0).uniform(size=(40, 6))
    return SiVAE(2, likelihood="bernoulli", **SMALL).fit(X), X


def bad_columns(n_rows=8, n_cols=6):
    X = sp.csr_matrix(np.random.RandomState(1).uniform(size=(n_rows, n_cols)))
    X.indices[3] = n_cols + 1000  # past the last column: scipy's densifying code would write out of bounds
    return X


def decreasing_indptr(n_rows=8, n_cols=6):
    X = sp.csr_matrix(np.random.RandomState(1).uniform(size=(n_rows, n_cols)))
    X.indptr[2] = X.indptr[4]
    return X


@pytest.mark.parametrize("make", [bad_columns, decreasing_indptr])
def test_every_entry_point_refuses_a_corrupt_matrix(bernoulli, make):
    model, _ = bernoulli
    calls = {
        "fit": lambda X: SiVAE(2, likelihood="bernoulli", **SMALL).fit(X),
        "transform": model.transform,
        "score_samples": model.score_samples,
        "feature_awareness": lambda X: model.feature_awareness(X, per_sample=True),
        "attribution_loadings": model.attribution_loadings,
        "fit csc": lambda X: SiVAE(2, likelihood="bernoulli", **SMALL).fit(X.T.tocsc().T),
    }
    try:
        import anndata

        from sivae_sklearn import tl

        calls["tl.sivae"] = lambda X: tl.sivae(anndata.AnnData(X), 2, likelihood="bernoulli", **SMALL)
        calls["tl.sivae_transform"] = lambda X: tl.sivae_transform(anndata.AnnData(X), model)
    except ImportError:
        pass
    for name, call in calls.items():
        with pytest.raises(ValueError, match="corrupt"):
            call(make())
            pytest.fail(f"{name} accepted a corrupt matrix")


def duplicates_summing_to(total: float):
    """One row whose first entry is stored twice, adding up to ``total``."""
    data = np.array([total / 2, total / 2, 0.5])
    return sp.csr_matrix((data, np.array([0, 0, 1]), np.array([0, 3])), shape=(1, 6))


def test_duplicates_are_summed_before_the_support_check(bernoulli):
    model, X = bernoulli
    rows, extra = sp.csr_matrix(X), duplicates_summing_to(1.2)
    over = sp.csr_matrix(
        (
            np.concatenate([rows.data, extra.data]),
            np.concatenate([rows.indices, extra.indices]),
            np.concatenate([rows.indptr, extra.indptr[1:] + rows.nnz]),
        ),
        shape=(X.shape[0] + 1, X.shape[1]),
    )
    assert over.data.max() <= 1  # each stored value is inside [0, 1], their sum is not
    with pytest.raises(ValueError, match=r"\[0, 1\]|Bernoulli"):
        SiVAE(2, likelihood="bernoulli", **SMALL).fit(over)
    with pytest.raises(ValueError, match=r"\[0, 1\]|Bernoulli"):
        model.score_samples(duplicates_summing_to(5.0))
    inside = duplicates_summing_to(0.8)
    np.testing.assert_array_equal(model.transform(inside), model.transform(inside.toarray()))


def test_a_corrupt_chunk_read_from_disk_is_refused_naming_its_rows(tmp_path, bernoulli):
    anndata = pytest.importorskip("anndata")
    h5py = pytest.importorskip("h5py")
    model, X = bernoulli
    path = tmp_path / "cells.h5ad"
    anndata.AnnData(sp.csr_matrix(X)).write_h5ad(path)
    with h5py.File(path, "r+") as fh:
        fh["X/indices"][5] = 10**6
    backed = anndata.read_h5ad(path, backed="r")
    with pytest.raises(ValueError, match=r"rows 0:40 read from disk.*corrupt"):
        model.transform(backed.X)
    with pytest.raises(ValueError, match=r"rows 0:40 read from disk.*corrupt"):
        SiVAE(2, likelihood="bernoulli", **SMALL).fit(backed.X)
    backed.file.close()
