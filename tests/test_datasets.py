"""Synthetic ground truth, bundled digits and the IDX / CIFAR readers."""

import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from sivae_sklearn.datasets import (
    SHAPES,
    load_digits_images,
    make_colour_shapes,
    make_feature_modules,
    read_cifar_batch,
    read_mnist_idx,
)


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
