"""Data on disk or computed lazily: dask arrays, zarr, h5py and backed AnnData, read in chunks.

The same model must come out whichever way the same rows are stored on disk,
every chunk must be checked with the rules of in-memory data, minibatches must
cover each training row once per epoch from shuffled chunks, and nothing may
read more than a chunk of rows at a time.
"""

import anndata as ad
import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from sivae_sklearn import SiVAE, tl
from sivae_sklearn._arrays import rows as D
from sivae_sklearn.cli import main
from tests.presets import GENOMICS, make_counts

da = pytest.importorskip("dask.array")
zarr = pytest.importorskip("zarr")

PARAMS = dict(GENOMICS, likelihood="poisson", max_epochs=3)


@pytest.fixture(scope="module")
def counts():
    X, _ = make_counts(300, 20, seed=3)
    X[:, 4] = 0  # an all-zero gene
    return X


@pytest.fixture(scope="module")
def files(counts, tmp_path_factory):
    folder = tmp_path_factory.mktemp("disk")
    ad.AnnData(sp.csr_matrix(counts)).write_h5ad(folder / "sparse.h5ad")
    ad.AnnData(counts).write_h5ad(folder / "dense.h5ad")
    store = zarr.create_array(store=str(folder / "x.zarr"), shape=counts.shape, chunks=(64, 20), dtype="f4")
    store[:] = counts
    return folder


SOURCES = {
    "backed sparse h5ad": lambda f: ad.read_h5ad(f / "sparse.h5ad", backed="r").X,
    "backed dense h5ad": lambda f: ad.read_h5ad(f / "dense.h5ad", backed="r").X,
    "zarr": lambda f: zarr.open_array(str(f / "x.zarr"), mode="r"),
    "dask from zarr": lambda f: da.from_zarr(str(f / "x.zarr")),
    "dask with sparse chunks": lambda f: ad.experimental.read_elem_lazy(h5py.File(f / "sparse.h5ad")["X"]),
}


@pytest.fixture(scope="module")
def fitted(files):
    """One fit per storage."""
    return {kind: SiVAE(**PARAMS).fit(source(files)) for kind, source in SOURCES.items()}


@pytest.mark.parametrize(
    "kind, same_as", [("dask with sparse chunks", "backed sparse h5ad"), ("zarr", "backed dense h5ad")]
)
def test_the_same_rows_in_the_same_chunks_give_the_same_model(kind, same_as, fitted):
    np.testing.assert_allclose(fitted[kind].components_, fitted[same_as].components_, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_fit_from_disk_is_as_good_as_in_memory_and_infers_the_same(kind, files, fitted, counts):
    X, model = SOURCES[kind](files), fitted[kind]
    assert model.n_features_in_ == 20 and not hasattr(model, "feature_names_in_")
    in_memory = SiVAE(**PARAMS).fit(counts)  # another split and order: not equal
    # After 3 epochs the loss still falls fast, and another order can put a fit 10 % ahead; not behind by 5 %.
    assert model.score(counts) >= in_memory.score(counts) - 0.05 * abs(in_memory.score(counts))
    # on-disk inference is in-memory inference of the same rows
    np.testing.assert_allclose(model.transform(X), model.transform(counts), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.score_samples(X), model.score_samples(counts), rtol=1e-6)
    np.testing.assert_allclose(
        model.feature_awareness(X, layer=0), model.feature_awareness(counts, layer=0), rtol=1e-5, atol=1e-6
    )


def test_fit_reads_only_chunks(counts):
    class Recording(np.ndarray):
        largest = 0

        def __getitem__(self, key):
            rows = key[0] if isinstance(key, tuple) else key
            if isinstance(rows, slice):
                Recording.largest = max(Recording.largest, len(range(*rows.indices(self.shape[0]))))
            return np.asarray(super().__getitem__(key))

    X = da.from_array(counts.view(Recording), chunks=(50, 20), asarray=False)
    SiVAE(**PARAMS).fit(X).transform(X)
    assert 0 < Recording.largest <= 50


def test_fit_holds_nothing_as_long_as_the_data(counts, monkeypatch):
    """The fitted statistics come from running moments: no embedding of every row is built during fit."""
    from sivae_sklearn._engine.inference import CompiledModel

    monkeypatch.setattr(CompiledModel, "embed", lambda *a: pytest.fail("fit embedded every row at once"))
    model = SiVAE(**PARAMS).fit(da.from_array(counts, chunks=(50, 20)))
    assert np.all(model.explained_variance_ > 0)


def _disk_rows(n=103, chunk=10, keep=None):
    X = da.from_array(np.arange(n * 2, dtype=np.float32).reshape(n, 2), chunks=(chunk, 2))
    return D.DiskRows(X, keep=keep)


def test_disk_minibatches_cover_every_kept_row_once_from_shuffled_chunks(monkeypatch):
    monkeypatch.setattr(D, "SHUFFLE_CHUNKS", 3)
    keep = np.random.RandomState(0).uniform(size=103) < 0.8
    rows = _disk_rows(keep=keep)
    batches = list(D.epoch_batches(rows, 7, np.random.RandomState(1))())
    positions = np.concatenate([b.positions for b in batches])
    np.testing.assert_array_equal(np.sort(positions), np.arange(keep.sum()))
    assert [b.index.size for b in batches[:-1]] == [7] * (len(batches) - 1) and 0 < batches[-1].index.size <= 7
    kept = np.flatnonzero(keep)
    for batch in batches:  # each row is the kept source row at its position
        np.testing.assert_array_equal(batch.dense()[:, 0], 2 * kept[batch.positions])
    # rows of a batch come from several chunks, and the chunk order changes between epochs
    chunks = [np.unique(kept[b.positions] // 10).size for b in batches]
    assert np.mean(chunks) > 2
    again = np.concatenate([b.positions for b in D.epoch_batches(rows, 7, np.random.RandomState(2))()])
    assert not np.array_equal(positions, again)


class _CountingReads:
    """A chunked 2-D array (as zarr's or h5py's) that records how many rows each read asks for."""

    def __init__(self, X, chunk):
        self.X, self.shape, self.dtype, self.chunks, self.reads = X, X.shape, X.dtype, (chunk, X.shape[1]), []

    def __getitem__(self, rows):
        self.reads.append(rows.stop - rows.start)
        return self.X[rows]


@pytest.mark.parametrize("keep_share", [1.0, 0.7])
def test_disk_shuffle_pool_is_bounded_in_bytes_and_reads_large_chunks_in_slices(monkeypatch, keep_share):
    monkeypatch.setattr(D, "SHUFFLE_CHUNKS", 3)
    n, g, chunk, batch = 1000, 4, 200, 16
    monkeypatch.setattr(D, "CHUNK_BYTES", chunk * g * 4)  # chunks of 200 rows
    X = np.arange(n * g, dtype=np.float32).reshape(n, g)
    source = _CountingReads(X, chunk)
    keep = np.random.RandomState(0).uniform(size=n) < keep_share
    rows = D.DiskRows(source, keep=keep)
    budget = 3 * 45 * g * 4  # three slices of 45 rows: every 200-row chunk is read in 5 slices of 40 rows
    batches = list(D.epoch_batches(rows, batch, np.random.RandomState(1), shuffle_buffer_bytes=budget)())
    assert max(source.reads) == 40 and len(source.reads) == 25
    pools = {id(b.block): b.block for b in batches}
    carry = (batch - 1) * g * 4
    assert max(p.nbytes for p in pools.values()) <= budget + carry
    positions = np.concatenate([b.positions for b in batches])
    np.testing.assert_array_equal(np.sort(positions), np.arange(keep.sum()))
    kept = np.flatnonzero(keep)
    for b in batches:
        np.testing.assert_array_equal(b.dense()[:, 0], g * kept[b.positions])
    # the slices are shuffled like chunks: a batch mixes several of them
    assert np.mean([np.unique(kept[b.positions] // 40).size for b in batches]) > 2


def test_disk_pool_within_the_budget_reads_whole_chunks_as_before(monkeypatch):
    monkeypatch.setattr(D, "CHUNK_BYTES", 64 * 2 * 4)  # chunks of 64 rows
    source = _CountingReads(np.ones((300, 2), np.float32), 64)
    rows = D.DiskRows(source)
    a = [b.positions for b in D.epoch_batches(rows, 32, np.random.RandomState(3))()]
    reads = list(source.reads)
    b = [b.positions for b in D.epoch_batches(rows, 32, np.random.RandomState(3), shuffle_buffer_bytes=10**9)()]
    assert sorted(reads) == [44] + [64] * 4 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    with pytest.raises(ValueError, match="shuffle_buffer_bytes"):
        D.epoch_batches(rows, 32, np.random.RandomState(3), shuffle_buffer_bytes=0)


def test_disk_split_holds_out_at_most_the_cap_and_samples_training_rows(monkeypatch):
    monkeypatch.setattr(D, "MAX_VALIDATION_ROWS", 5)
    rows = _disk_rows()
    split = D.split_training_rows(rows, 0.5, np.random.RandomState(0), sample_rows=20)
    assert split.val.shape == (5, 2) and split.train.shape == (98, 2)
    held_out = np.flatnonzero(~split.train_rows)
    np.testing.assert_array_equal(np.asarray(split.val)[:, 0], 2 * held_out)
    sampled = np.asarray(split.sample)[:, 0] / 2
    assert split.sample.shape == (20, 2) and not set(sampled) & set(held_out)
    assert split.train.max_abs == 205.0


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda X: X.__setitem__((299, 0), np.nan), "NaN"),
        (lambda X: X.__setitem__((150, 3), -1.0), "non-negative"),
    ],
)
def test_every_chunk_is_checked_before_training(counts, change, match, monkeypatch):
    X = counts.copy()
    change(X)
    calls = []
    monkeypatch.setattr("sivae_sklearn._estimator.sivae.train", lambda *a, **k: calls.append(1))
    with pytest.raises(ValueError, match=match):
        SiVAE(**PARAMS).fit(da.from_array(X, chunks=(100, 20)))
    assert not calls


def test_shape_errors_come_before_any_read(counts, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(D.DiskRows, "read_chunk", lambda *a: pytest.fail("a chunk was read"))
        with pytest.raises(
            ValueError, match=r"n_components=30 must be <= the number of features of X \(n_features=20\)"
        ):
            SiVAE(30, **PARAMS).fit(da.from_array(counts, chunks=(299, 20)))
        with pytest.raises(ValueError, match="hidden_layer_sizes=.*more than this machine's"):
            SiVAE(**{**PARAMS, "hidden_layer_sizes": (2**40,)}).fit(da.from_array(counts, chunks=(299, 20)))
    # a one-row last chunk is checked with the rules of two rows
    model = SiVAE(**PARAMS).fit(da.from_array(counts, chunks=(299, 20)))
    with pytest.raises(ValueError, match="X has 19 features, but SiVAE is expecting 20"):
        model.transform(da.from_array(counts[:, :19], chunks=(100, 19)))


def test_csc_on_disk_is_refused_with_advice(counts, tmp_path):
    ad.AnnData(sp.csc_matrix(counts)).write_h5ad(tmp_path / "csc.h5ad")
    with pytest.raises(ValueError, match="CSC matrix on disk"):
        SiVAE(**PARAMS).fit(ad.read_h5ad(tmp_path / "csc.h5ad", backed="r").X)


def test_tl_sivae_and_the_command_line_train_from_a_backed_file(files, tmp_path, capsys):
    adata = ad.read_h5ad(files / "sparse.h5ad", backed="r")
    adata.var["highly_variable"] = np.arange(adata.n_vars) != 7
    with pytest.warns(UserWarning, match="1 gene"):
        model = tl.sivae(adata, 2, **PARAMS)
    assert adata.isbacked and adata.obsm["X_sivae"].shape == (300, 2)
    assert np.isnan(adata.var["sivae_feature_awareness"].iloc[7]) and model.n_features_in_ == 19
    with pytest.raises(ValueError, match="copy=True needs adata in memory"):
        tl.sivae(adata, 2, copy=True, overwrite=True, **PARAMS)
    out = tmp_path / "out.h5ad"
    argv = ["fit", str(files / "dense.h5ad"), "-o", str(out), "--backed", "--likelihood", "poisson"]
    assert main(argv + ["--max-epochs", "1", "--hidden-layer-sizes", "8", "--random-state", "0"]) == 0
    written = ad.read_h5ad(out)
    assert written.obsm["X_sivae"].shape == (300, 10) and written.X.shape == (300, 20)
    assert main(["fit", str(out), "-o", str(out), "--backed"]) == 1
    assert "choose another output file" in capsys.readouterr().err


def test_shuffle_buffer_bytes_defaults_to_the_module_budget_and_reaches_the_pool(counts, monkeypatch):
    from sivae_sklearn._engine import training
    from sivae_sklearn._estimator.parameters import PARAMETERS

    assert PARAMETERS["shuffle_buffer_bytes"].default == D.SHUFFLE_BUFFER_BYTES == SiVAE().shuffle_buffer_bytes
    seen = []
    epoch_batches = training.epoch_batches

    def recording(X, batch_size, rng, **kwargs):
        if rng is not None:
            seen.append(kwargs["shuffle_buffer_bytes"])
        return epoch_batches(X, batch_size, rng, **kwargs)

    monkeypatch.setattr(training, "epoch_batches", recording)
    X = da.from_array(counts, chunks=(50, 20))
    for budget in (None, 2**20, 3 * 2**20):
        seen.clear()
        SiVAE(**{**PARAMS, "max_epochs": 1}, shuffle_buffer_bytes=budget).fit(X)
        assert seen == [budget]


@pytest.mark.parametrize("bad", [0, 2**20 - 1, -5, 1.5e6, "256MB", True])
def test_bad_shuffle_buffer_bytes_is_refused_before_training(counts, bad):
    with pytest.raises(ValueError, match="shuffle_buffer_bytes"):
        SiVAE(**PARAMS, shuffle_buffer_bytes=bad).fit(counts)


def test_the_feed_never_holds_two_shuffle_pools(counts, monkeypatch):
    # The training feed lets go of each batch before it asks for the next, so a pool is freed before the next
    # one is read: with a pool of 2 chunks and 6 chunks, every epoch reads 3 pools, one at a time.
    import gc
    import weakref

    monkeypatch.setattr(D, "SHUFFLE_CHUNKS", 2)
    pools, alive_at_read = [], []
    pool = D._pool

    def tracked(*args, **kwargs):
        gc.collect()
        alive_at_read.append(sum(ref() is not None for ref in pools))
        block, positions = pool(*args, **kwargs)
        pools.append(weakref.ref(block))
        return block, positions

    monkeypatch.setattr(D, "_pool", tracked)
    SiVAE(**{**PARAMS, "max_epochs": 2}).fit(da.from_array(counts, chunks=(50, 20)))
    assert len(alive_at_read) >= 6 and max(alive_at_read) == 0, alive_at_read


@pytest.mark.parametrize("keep_share", [1.0, 0.7])
def test_a_pass_reads_large_dask_chunks_in_slices(monkeypatch, keep_share):
    monkeypatch.setattr(D, "CHUNK_BYTES", 100 * 4 * 4)  # slices of at most 100 rows of 4 float32 columns
    X = np.arange(3000 * 4, dtype=np.float32).reshape(3000, 4)
    keep = np.random.RandomState(0).uniform(size=3000) < keep_share
    rows = D.DiskRows(da.from_array(X, chunks=(1000, 4)), keep=keep)
    parts = list(rows.iter_chunks())
    assert len(parts) == 30 and max(block.shape[0] for block, _ in parts) <= 100
    np.testing.assert_array_equal(np.concatenate([block for block, _ in parts]), X[keep])
    np.testing.assert_array_equal(np.concatenate([p for _, p in parts]), np.arange(keep.sum()))


def test_validation_and_feature_input_rows_are_released_once_used(counts, monkeypatch):
    # On disk, the split's pass holds the validation rows and the rows read for the feature inputs in memory: the
    # feature rows must be gone before training starts, the validation rows before the fitted statistics run.
    import gc
    import weakref

    from sivae_sklearn._estimator import sivae as estimator

    refs, seen = {}, {}
    split_rows, train, interpretation = estimator.split_training_rows, estimator.train, SiVAE._fit_interpretation

    def alive():
        gc.collect()
        return {name: ref() is not None for name, ref in refs.items()}

    def tracked_split(*args, **kwargs):
        split = split_rows(*args, **kwargs)
        for name in ("val", "sample"):
            array = getattr(split, name)
            refs[name] = weakref.ref(array if array.base is None else array.base)
        return split

    def tracked_train(*args, **kwargs):
        seen["train"] = alive()
        return train(*args, **kwargs)

    def tracked_interpretation(self, *args, **kwargs):
        seen["statistics"] = alive()
        return interpretation(self, *args, **kwargs)

    monkeypatch.setattr(estimator, "split_training_rows", tracked_split)
    monkeypatch.setattr(estimator, "train", tracked_train)
    monkeypatch.setattr(SiVAE, "_fit_interpretation", tracked_interpretation)
    SiVAE(**PARAMS).fit(da.from_array(counts, chunks=(50, 20)))
    assert seen["train"] == {"val": True, "sample": False}, seen
    assert seen["statistics"] == {"val": False, "sample": False}, seen


def test_feature_reducer_may_centre_its_rows_in_place_with_the_same_result():
    from sivae_sklearn._arrays.feature_inputs import FeatureReducer

    X = np.random.RandomState(0).normal(size=(700, 600)).astype(np.float32)  # the randomized PCA
    small = X[:40, :30].copy()  # the full SVD
    for data in (X, small):
        kept = FeatureReducer("pca", 8)
        expected = kept.fit_transform(data.copy(), np.random.RandomState(1))
        overwritten = data.copy()
        reducer = FeatureReducer("pca", 8)
        np.testing.assert_array_equal(
            reducer.fit_transform(overwritten, np.random.RandomState(1), copy=False), expected
        )
        np.testing.assert_array_equal(reducer.axes_, kept.axes_)
        assert not np.array_equal(overwritten, data)  # centred (and squared) in place: no copy was made
