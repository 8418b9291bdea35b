"""Saving and loading fitted models as one ``.npz`` file, without pickle.

The file is a NumPy zip archive read with ``allow_pickle=False``:

* ``__meta__``: UTF-8 JSON (stored as bytes) with the format name and
  version, the package version, the estimator's parameters, the network's
  configuration and every JSON-representable fitted attribute;
* ``weights/<name>``: each network variable as a float32 array;
* ``attr/<name>``: each array-valued fitted attribute.

Nothing in the file is ever executed or unpickled: loading a hostile file can
at worst raise an error.
"""

from __future__ import annotations

import json
import os
import zipfile
from numbers import Integral, Real

import numpy as np

FORMAT_NAME = "sivae_sklearn"
FORMAT_VERSION = 1
_META = "__meta__"


class ModelFileError(ValueError):
    """A file that is not a readable sivae_sklearn model."""


def _package_version() -> str:
    from . import __version__

    return __version__


def _jsonable_param(name, value):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, (tuple, list)):
        return [_jsonable_param(name, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable_param(name, v) for k, v in value.items()}
    if name == "random_state":
        return None  # a RandomState instance cannot be stored; the model is already fitted
    raise TypeError(f"Parameter {name}={value!r} cannot be saved to a model file.")


def _split_attributes(estimator):
    json_attrs, array_attrs = {}, {}
    for name, value in vars(estimator).items():
        if not name.endswith("_") or name.startswith("_"):
            continue
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                value = value.astype(str)
            array_attrs[name] = value
        else:
            json_attrs[name] = _jsonable_param(name, value)
    return json_attrs, array_attrs


def save(estimator, path) -> None:
    """Write a fitted estimator to ``path`` (see the module docstring)."""
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    if isinstance(estimator.get_params(deep=False).get("random_state"), np.random.RandomState):
        import warnings

        warnings.warn(
            "random_state is a RandomState instance, which a model file cannot hold; it is saved as None "
            "(the fitted weights are saved exactly; only a refit of the loaded model would differ).",
            UserWarning,
            stacklevel=3,
        )
    json_attrs, array_attrs = _split_attributes(estimator)
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "package_version": _package_version(),
        "class": type(estimator).__name__,
        "params": {k: _jsonable_param(k, v) for k, v in estimator.get_params(deep=False).items()},
        "network_config": estimator._network_config_dict(),
        "attributes": json_attrs,
        "object_attributes": [k for k, v in vars(estimator).items() if isinstance(v, np.ndarray) and v.dtype == object],
        "private_attributes": {
            k: _jsonable_param(k, getattr(estimator, k))
            for k in getattr(estimator, "_saved_private_attributes", ())
            if hasattr(estimator, k)
        },
    }
    arrays = {_META: np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)}
    for key, value in estimator._network.get_weights().items():
        arrays[f"weights/{key}"] = value
    for key, value in array_attrs.items():
        arrays[f"attr/{key}"] = value
    path = os.fspath(path)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def _read_archive(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No model file at {path!r}.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not hasattr(archive, "files"):
                raise ModelFileError(f"{path!r} is a single NumPy array, not a sivae_sklearn model file.")
            if _META not in archive.files:
                raise ModelFileError(
                    f"{path!r} is a NumPy archive but not a sivae_sklearn model file (no {_META} entry)."
                )
            contents = {name: archive[name] for name in archive.files}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, zipfile.LargeZipFile) as exc:
        raise ModelFileError(
            f"{path!r} is not a readable sivae_sklearn model file (truncated, corrupt or of "
            f"another format): {type(exc).__name__}: {exc}"
        ) from exc
    try:
        meta = json.loads(bytes(contents.pop(_META)).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
        raise ModelFileError(f"{path!r}: the model description is corrupt: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path!r} is not a sivae_sklearn model file.")
    return meta, contents


def load(path):
    """Load a model written by :meth:`SiVAE.save`.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    SiVAE
        The fitted estimator, transforming exactly as the saved one did.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is truncated, corrupt, not a model file, or written by a
        newer, incompatible format version.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> from sivae_sklearn import SiVAE, load
    >>> X = np.random.RandomState(0).normal(size=(40, 5))
    >>> model = SiVAE(max_epochs=2, hidden_layer_sizes=(8,), random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.sivae")
    >>> model.save(path)
    >>> np.allclose(load(path).transform(X), model.transform(X))
    True
    """
    from ._estimator import SiVAE
    from ._network import NetworkConfig

    meta, contents = _read_archive(path)
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{os.fspath(path)!r} uses model file format {version!r}, written by sivae_sklearn "
            f"{meta.get('package_version')}; this sivae_sklearn ({_package_version()}) reads "
            f"format <= {FORMAT_VERSION}. Upgrade sivae_sklearn to load it."
        )
    classes = {"SiVAE": SiVAE}
    cls = classes.get(meta.get("class"))
    if cls is None:
        raise ModelFileError(f"Unknown estimator class {meta.get('class')!r} in {os.fspath(path)!r}.")
    try:
        params = dict(meta["params"])
        known = cls().get_params(deep=False)
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ModelFileError(
                f"{os.fspath(path)!r} has parameters {unknown} unknown to this sivae_sklearn "
                f"({_package_version()}); it was written by version {meta.get('package_version')}."
            )
        for key, value in params.items():
            if isinstance(known[key], tuple) and isinstance(value, list):
                params[key] = tuple(value)
        estimator = cls(**params)
        cfg = dict(meta["network_config"])
        for key in ("hidden_layer_sizes", "classifier_layer_sizes"):
            if key in cfg:
                cfg[key] = tuple(cfg[key])
        estimator._network_config = NetworkConfig(**cfg)
        for key, value in meta["attributes"].items():
            setattr(estimator, key, value)
        for key, value in meta.get("private_attributes", {}).items():
            setattr(estimator, key, value)
        for name, value in contents.items():
            if name.startswith("attr/"):
                attr = name[len("attr/") :]
                if attr in meta.get("object_attributes", []):
                    value = value.astype(object)
                setattr(estimator, attr, value)
        weights = {k[len("weights/") :]: v for k, v in contents.items() if k.startswith("weights/")}
        estimator._restore_network(weights)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{os.fspath(path)!r}: the model file is inconsistent: {exc}") from exc
    return estimator
