"""The model file format: one ``.npz`` archive, without pickle.

The file is a NumPy zip archive read with ``allow_pickle=False``:

* ``__meta__``: UTF-8 JSON (stored as bytes) with the format name and
  version, the package version, the estimator's class name and parameters,
  the network's configuration and every JSON-representable fitted attribute;
* ``weights/<name>``: each network variable as a float32 array;
* ``attr/<name>``: each array-valued fitted attribute (arrays of Python
  objects, such as feature names, are stored as strings and listed in
  ``object_attributes``).

Nothing in the file is ever executed or unpickled: reading a hostile file can
at worst raise an error. This module knows the layout of the file only; the
estimator turns itself into a :class:`ModelFile` and back.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

from ._errors import ModelFileError
from ._plain import to_plain
from ._version import __version__

FORMAT_NAME = "sivae_sklearn"
FORMAT_VERSION = 1
_META = "__meta__"


@dataclass
class ModelFile:
    """The contents of one model file.

    Attributes
    ----------
    class_name : str
        Name of the estimator class.
    params : dict
        Constructor parameters, in plain (JSON) form.
    network_config : dict
        Fields of the network configuration.
    attributes : dict
        Fitted attributes: arrays, or values with a plain (JSON) form.
    private_attributes : dict
        Private attributes the estimator asked to keep, in plain form.
    weights : dict of str to ndarray
        Network variables by name.
    package_version : str
        Version of sivae_sklearn that wrote the file.
    """

    class_name: str
    params: dict
    network_config: dict
    attributes: dict
    private_attributes: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)
    package_version: str = __version__


def write_model_file(path, model: ModelFile) -> None:
    """Write ``model`` to ``path`` (see the module docstring for the layout)."""
    json_attrs, array_attrs, object_attrs = {}, {}, []
    for name, value in model.attributes.items():
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                value = value.astype(str)
                object_attrs.append(name)
            array_attrs[name] = value
        else:
            json_attrs[name] = to_plain(value)
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "package_version": model.package_version,
        "class": model.class_name,
        "params": model.params,
        "network_config": model.network_config,
        "attributes": json_attrs,
        "object_attributes": object_attrs,
        "private_attributes": to_plain(model.private_attributes),
    }
    arrays = {_META: np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)}
    for key, value in model.weights.items():
        arrays[f"weights/{key}"] = value
    for key, value in array_attrs.items():
        arrays[f"attr/{key}"] = value
    with open(os.fspath(path), "wb") as fh:
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


def read_model_file(path) -> ModelFile:
    """Read a model file written by :func:`write_model_file` (any format version up to this one).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ModelFileError
        If the file is truncated, corrupt, not a model file, or written in a
        newer, incompatible format version.
    """
    meta, contents = _read_archive(path)
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{os.fspath(path)!r} uses model file format {version!r}, written by sivae_sklearn "
            f"{meta.get('package_version')}; this sivae_sklearn ({__version__}) reads "
            f"format <= {FORMAT_VERSION}. Upgrade sivae_sklearn to load it."
        )
    try:
        attributes = dict(meta["attributes"])
        objects = set(meta.get("object_attributes", []))
        for name, value in contents.items():
            if name.startswith("attr/"):
                attr = name[len("attr/") :]
                attributes[attr] = value.astype(object) if attr in objects else value
        return ModelFile(
            class_name=meta.get("class"),
            params=dict(meta["params"]),
            network_config=dict(meta["network_config"]),
            attributes=attributes,
            private_attributes=dict(meta.get("private_attributes", {})),
            weights={k[len("weights/") :]: v for k, v in contents.items() if k.startswith("weights/")},
            package_version=meta.get("package_version"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{os.fspath(path)!r}: the model file is inconsistent: {exc}") from exc
