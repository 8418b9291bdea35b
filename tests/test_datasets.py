"""Synthetic ground truth, bundled digits and the IDX / CIFAR readers."""

import gzip
import os
import pickle
import struct

import numpy as np
import pytest
from scipy import stats
from sklearn.cluster import AgglomerativeClustering
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score

from sivae_sklearn.datasets import (
    FAMILY_HALVES,
    SHAPES,
    _family_design,
    load_digits_images,
    make_colour_shapes,
    make_feature_modules,
    make_program_family,
    make_program_modules,
    read_cifar_batch,
    read_mnist_idx,
)
from sivae_sklearn.metrics import module_recovery


def test_feature_modules_have_the_promised_structure():
    X, modules, factors = make_feature_modules(400, 3, 5, 4, noise=0.2, random_state=1)
    assert X.shape == (400, 19) and factors.shape == (400, 3)
    assert np.bincount(modules + 1).tolist() == [4, 5, 5, 5]
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(X.std(axis=0), 1, atol=1e-10)
    corr = np.corrcoef(np.column_stack([X, factors]).T)[: X.shape[1], X.shape[1] :]
    for f, m in enumerate(modules):
        if m >= 0:  # each module feature follows its own factor, not the others
            assert corr[f, m] > 0.7
            assert np.all(np.abs(np.delete(corr[f], m)) < 0.25)
        else:
            assert np.all(np.abs(corr[f]) < 0.25)
    again = make_feature_modules(400, 3, 5, 4, noise=0.2, random_state=1)
    np.testing.assert_array_equal(again[0], X)


def test_feature_modules_options_and_bad_input():
    X, modules, _ = make_feature_modules(50, 2, 3, 0, shuffle=False, nonlinearity="cubic", random_state=0)
    assert modules.tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="nonlinearity='relu'.*expected one of"):
        make_feature_modules(nonlinearity="relu")
    with pytest.raises(ValueError, match="n_modules must be an integer >= 1"):
        make_feature_modules(n_modules=0)
    with pytest.raises(ValueError, match="noise must be"):
        make_feature_modules(noise=-1)


def test_program_modules_shapes_sizes_and_reproducibility():
    X, modules, programs = make_program_modules(300, 3, (4, 10), 6, random_state=0)
    assert X.shape == (300, 4 + 7 + 10 + 6) and programs.shape == (300, 3)
    assert np.bincount(modules + 1).tolist() == [6, 4, 7, 10]
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(X.std(axis=0), 1, atol=1e-10)
    np.testing.assert_array_equal(make_program_modules(300, 3, (4, 10), 6, random_state=0)[0], X)
    assert not np.allclose(make_program_modules(300, 3, (4, 10), 6, random_state=1)[0], X)
    _, equal, _ = make_program_modules(50, 2, 6, 0, shuffle=False, random_state=0)
    assert equal.tolist() == [0] * 6 + [1] * 6


@pytest.mark.parametrize("rho", [0.0, 0.6])
def test_program_modules_programs_correlate_as_asked(rho):
    _, _, programs = make_program_modules(4000, 3, random_state=0, correlation=rho)
    corr = np.corrcoef(programs.T)[np.triu_indices(3, 1)]
    np.testing.assert_allclose(corr, rho, atol=0.05)
    np.testing.assert_allclose(programs.std(axis=0), 1, atol=0.05)


def _correlation_clusters(X, modules):
    signal = modules >= 0
    distance = 1 - np.corrcoef(X[:, signal].T)
    k = np.unique(modules[signal]).size
    labels = AgglomerativeClustering(k, metric="precomputed", linkage="average").fit_predict(distance)
    return adjusted_rand_score(modules[signal], labels)


def test_program_modules_are_in_the_data_but_hard_for_pca():
    for seed in range(3):
        X, modules, _ = make_program_modules(random_state=seed)
        # Clustering the features' own correlation rows recovers the modules ...
        assert _correlation_clusters(X, modules) == 1.0
        # ... the leading principal axes do not separate them.
        assert module_recovery(PCA(4).fit(X).components_.T, modules) < 0.85


@pytest.mark.parametrize(
    "easy",
    [{"correlation": 0.0}, {"module_size_range": 15}, {"maps": ("linear",)}, {"threshold_spread": 0.5}],
)
def test_program_modules_each_hard_knob_switched_off_makes_pca_recover(easy):
    X, modules, _ = make_program_modules(random_state=0, **easy)
    assert module_recovery(PCA(4).fit(X).components_.T, modules) == 1.0


def test_program_modules_noise_features():
    kw = dict(n_samples=4000, n_programs=2, module_size_range=3, n_noise_features=10, shuffle=False, random_state=0)
    for kind, (lo, hi) in {"gaussian": (-0.5, 0.5), "student_t": (2.0, np.inf), "sparse": (5.0, np.inf)}.items():
        X, modules, programs = make_program_modules(noise_features=kind, **kw)
        noise = X[:, modules < 0]
        kurtosis = stats.kurtosis(noise, axis=0)  # excess kurtosis: 0 for a Gaussian
        assert np.all((kurtosis > lo) & (kurtosis < hi)), (kind, kurtosis)
        # noise features carry no program
        assert np.abs(np.corrcoef(np.c_[noise, programs].T)[:10, 10:]).max() < 0.1
    X, modules, _ = make_program_modules(noise_features="sparse", **kw)
    share_at_mode = [np.mean(np.isclose(col, stats.mode(col).mode)) for col in X[:, modules < 0].T]
    assert min(share_at_mode) > 0.85
    X, modules, _ = make_program_modules(noise_features="mixed", **kw)
    kurtosis = stats.kurtosis(X[:, modules < 0], axis=0)
    assert np.sum(kurtosis > 5) >= 5


def test_program_modules_maps_reach_the_data():
    kw = dict(n_samples=2000, n_programs=1, module_size_range=8, n_noise_features=0, noise=0.0, random_state=0)
    for name, check in {
        "linear": lambda r: np.all(r > 0.99),
        "tanh": lambda r: np.all(r > 0.5) and np.any(r < 0.95),
        "quadratic": lambda r: np.all(np.abs(r) < 0.9),
    }.items():
        X, _, u = make_program_modules(maps=(name,), **kw)
        r = np.corrcoef(np.c_[X, u].T)[:-1, -1]  # linear correlation of each feature with its program
        assert check(r), (name, r)
    # quadratic features turn around inside the data: falling at the low end of the program, rising above its median
    X, _, u = make_program_modules(maps="quadratic", **kw)
    low, high = u[:, 0] < np.quantile(u, 0.05), u[:, 0] > np.median(u)
    for f in range(X.shape[1]):
        assert np.corrcoef(u[low, 0], X[low, f])[0, 1] < 0 < np.corrcoef(u[high, 0], X[high, f])[0, 1]


def test_program_modules_bad_input():
    with pytest.raises(ValueError, match="maps must name one or more of"):
        make_program_modules(maps=("relu",))
    with pytest.raises(ValueError, match="correlation must be in"):
        make_program_modules(correlation=-0.5)
    with pytest.raises(ValueError, match="module_size_range must be"):
        make_program_modules(module_size_range=(10, 5))
    with pytest.raises(ValueError, match="noise_features='cauchy'"):
        make_program_modules(noise_features="cauchy")
    with pytest.raises(ValueError, match="n_programs must be"):
        make_program_modules(n_programs=0)
    with pytest.raises(ValueError, match="threshold_spread must be"):
        make_program_modules(threshold_spread=-1)


@pytest.mark.parametrize("name", ["sine", "bump", "exp", "cubic"])
def test_program_modules_family_maps_have_their_shape(name):
    kw = dict(n_samples=4000, n_programs=1, module_size_range=6, n_noise_features=0, noise=0.0, random_state=0)
    X, _, u = make_program_modules(maps=(name,), **kw)
    r = np.corrcoef(np.c_[X, u].T)[:-1, -1]
    skew = stats.skew(X, axis=0)
    if name == "bump":  # non-monotone, peaked near the centre: higher there than at both ends
        low, high, mid = u[:, 0] < np.quantile(u, 0.05), u[:, 0] > np.quantile(u, 0.95), np.abs(u[:, 0]) < 0.25
        assert np.all(np.abs(r) < 0.6), r
        assert np.all((X[mid].mean(axis=0) > X[low].mean(axis=0)) & (X[mid].mean(axis=0) > X[high].mean(axis=0)))
    elif name == "sine":  # monotone near the centre, turning for high gains: correlated, not a copy
        assert np.all(r > 0.3) and np.any(r < 0.95), r
    elif name == "exp":  # log-normal: right-skewed, heavy right tail
        assert np.all(r > 0.4) and np.all(skew > 1.0), (r, skew)
    else:  # cubic: heavy tails on both sides
        assert np.all(r > 0.6) and np.all(stats.kurtosis(X, axis=0) > 3.0)


def test_program_family_design_covers_the_ranges_and_splits_by_random_state():
    designs = _family_design(48, 0)
    params = [d["params"] for d in designs]
    assert [d["index"] for d in designs] == list(range(48))
    assert {p["n_programs"] for p in params} == set(range(3, 9))
    rho = [p["correlation"] for p in params]
    assert 0 <= min(rho) < 0.1 and 0.6 < max(rho) < 0.7
    sizes = [p["module_size_range"] for p in params]
    assert all(3 <= lo and lo + 8 <= hi <= 40 for lo, hi in sizes)
    assert min(lo for lo, _ in sizes) == 3 and max(hi for _, hi in sizes) == 40
    assert {m for p in params for m in p["maps"]} == {
        "linear", "tanh", "softplus", "quadratic", "sine", "bump", "exp", "cubic"
    }  # fmt: skip
    assert {p["noise_features"] for p in params} == {"gaussian", "student_t", "sparse", "mixed"}
    n = [p["n_samples"] for p in params]
    assert 500 <= min(n) < 700 and 4000 < max(n) <= 5000
    extra = [d["n_components"] - p["n_programs"] for d, p in zip(designs, params)]
    assert sorted(set(extra)) == [0, 1] and sum(extra) == 24
    # the split: disjoint halves of 24, a third hard overall and in each half
    halves = [d["half"] for d in designs]
    assert set(halves) == set(FAMILY_HALVES) and halves.count("tuning") == 24
    hard = np.array([d["hard"] for d in designs])
    assert hard.sum() == 16
    for half in FAMILY_HALVES:
        assert hard[np.array(halves) == half].sum() == 8
    # decided by random_state alone: the same again, another for another seed
    assert _family_design(48, 0) == designs
    assert [d["half"] for d in _family_design(48, 1)] != halves
    # an odd family: the halves differ by one
    assert sorted([d["half"] for d in _family_design(5, 3)]).count("tuning") in (2, 3)


def test_program_family_problems():
    problems = make_program_family(4, random_state=0)
    designs = _family_design(4, 0)
    assert [s["index"] for _, _, s in problems] == [0, 1, 2, 3]
    for (X, modules, settings), design in zip(problems, designs):
        params = settings["params"]
        assert {k: settings[k] for k in ("half", "hard", "n_components")} == {
            k: design[k] for k in ("half", "hard", "n_components")
        }
        assert X.shape == (params["n_samples"], settings["n_features"]) and modules.shape == (X.shape[1],)
        assert np.sum(modules < 0) == params["n_noise_features"]
        assert settings["noise_share"] == pytest.approx(np.mean(modules < 0))
        # the settings make the problem again
        X2, modules2, _ = make_program_modules(**params)
        np.testing.assert_array_equal(X2, X)
        np.testing.assert_array_equal(modules2, modules)
        reference = module_recovery(np.corrcoef(X.T), modules)
        assert reference == pytest.approx(settings["reference_ari"])
        if settings["hard"]:  # the per-feature noise is strong enough to beat the reference
            assert reference < 0.8 and params["noise"] >= 2.0
        else:
            assert params == design["params"] and 0.2 <= params["noise"] <= 0.8
    assert sum(s["hard"] for _, _, s in problems) == 2
    # a half is those configurations of the whole family, with the same data
    tuning = make_program_family(4, half="tuning", random_state=0)
    assert [s["index"] for _, _, s in tuning] == [s["index"] for _, _, s in problems if s["half"] == "tuning"]
    np.testing.assert_array_equal(tuning[0][0], problems[tuning[0][2]["index"]][0])


def test_program_family_bad_input():
    with pytest.raises(ValueError, match="n_configs must be an integer >= 2"):
        make_program_family(1)
    with pytest.raises(ValueError, match="half='test' is not supported"):
        make_program_family(4, half="test")


def test_load_digits_images():
    X, y, shape = load_digits_images(120)
    assert X.shape == (120, 64) and y.shape == (120,) and shape == (8, 8)
    assert np.all(np.abs(X.mean(axis=0)) < 1e-10)
    Xu, _, _ = load_digits_images(scale="unit")
    assert Xu.shape == (1797, 64) and Xu.min() >= 0 and Xu.max() <= 1
    with pytest.raises(ValueError, match="expected 'standard' or 'unit'"):
        load_digits_images(scale="minmax")


def _idx_bytes(array, type_code=0x08):
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("compress", [False, True])
def test_read_mnist_idx_images_and_labels(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    for name, array in (("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)):
        data = _idx_bytes(array)
        path = tmp_path / (name + (".gz" if compress else ""))
        path.write_bytes(gzip.compress(data) if compress else data)
        out = read_mnist_idx(path)
        assert out.dtype == np.uint8
        np.testing.assert_array_equal(out, array)


def test_read_mnist_idx_other_types_and_bad_files(tmp_path):
    floats = np.arange(6, dtype=np.float32).reshape(2, 3)
    path = tmp_path / "f.idx"
    path.write_bytes(_idx_bytes(floats, 0x0D))
    np.testing.assert_array_equal(read_mnist_idx(path), floats)
    bad = tmp_path / "bad"
    bad.write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_mnist_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(_idx_bytes(np.zeros((4, 2), np.uint8))[:-3])
    with pytest.raises(ValueError, match="truncated"):
        read_mnist_idx(short)


def test_read_cifar_batch(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, size=(4, 3072), dtype=np.uint8)
    batch = {b"batch_label": b"testing batch", b"labels": [6, 9, 9, 4], b"data": data, b"filenames": [b"a.png"] * 4}
    path = tmp_path / "data_batch_1"
    with open(path, "wb") as fh:
        pickle.dump(batch, fh, protocol=2)  # the protocol CIFAR's files use
    X, y = read_cifar_batch(path)
    images = X.reshape(-1, 32, 32, 3)  # channels last: what image_shape=(32, 32, 3) expects
    planes = data.reshape(-1, 3, 32, 32)  # CIFAR stores red, green and blue planes
    np.testing.assert_array_equal(images[:, 5, 7, :], planes[:, :, 5, 7])
    np.testing.assert_array_equal(images[..., 2], planes[:, 2])
    np.testing.assert_array_equal(read_cifar_batch(path, channels_last=False)[0], data)
    assert y.tolist() == [6, 9, 9, 4]
    fine = tmp_path / "train"
    with open(fine, "wb") as fh:
        pickle.dump({"data": data, "fine_labels": [1, 2, 3, 4]}, fh)
    assert read_cifar_batch(fine)[1].tolist() == [1, 2, 3, 4]


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo owned > /dev/null",))


def test_read_cifar_batch_refuses_code_and_other_shapes(tmp_path):
    path = tmp_path / "evil"
    with open(path, "wb") as fh:
        pickle.dump({b"data": _Evil(), b"labels": [1]}, fh, protocol=2)
    with pytest.raises(ValueError, match="Refusing to load"):
        read_cifar_batch(path)
    other = tmp_path / "other"
    with open(other, "wb") as fh:
        pickle.dump({b"pixels": np.zeros((2, 3))}, fh, protocol=2)
    with pytest.raises(ValueError, match="expected keys 'data' and 'labels'"):
        read_cifar_batch(other)


def test_colour_shapes_are_labelled_rgb_images():
    X, y, shape = make_colour_shapes(200, size=12, random_state=0)
    assert X.shape == (200, 12 * 12 * 3) and shape == (12, 12, 3)
    assert np.bincount(y).tolist() == [50] * len(SHAPES)
    assert X.min() >= 0 and X.max() <= 1
    images = X.reshape(-1, 12, 12, 3)
    # the shape is bright, the background dark: every image has both
    brightest = images.max(axis=3)
    assert np.all(brightest.max(axis=(1, 2)) > 0.6) and np.all(np.median(brightest, axis=(1, 2)) < 0.5)
    # colour varies between images (not one hue for all)
    assert np.std(images.reshape(200, -1, 3).max(axis=1), axis=0).min() > 0.1
    # discs fill less of their bounding box than squares of the same radius: mean bright area differs by class
    area = (brightest > 0.3).mean(axis=(1, 2))
    assert area[y == 0].mean() > area[y == 3].mean()
    np.testing.assert_array_equal(make_colour_shapes(10, random_state=1)[0], make_colour_shapes(10, random_state=1)[0])
    with pytest.raises(ValueError, match="size must be an integer >= 8"):
        make_colour_shapes(10, size=4)
