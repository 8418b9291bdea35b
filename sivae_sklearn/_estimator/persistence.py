"""Pickling and saving a fitted estimator: its state to a :class:`~sivae_sklearn._modelfile.format.ModelFile` and back.

The network is never pickled as a TensorFlow object: pickles carry its weights
as NumPy arrays, and model files (:mod:`~sivae_sklearn._modelfile.format`) carry
them as arrays beside the parameters and fitted attributes.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict
from dataclasses import fields as dataclass_fields

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .._arrays.feature_embeddings import EMBEDDING_ATTRIBUTES, data_method, fusion_from_state, is_external
from .._arrays.feature_inputs import FeatureReducer, check_reducer_state, reducer_from_state, reducer_state
from .._engine.inference import CompiledModel
from .._engine.likelihoods import ENCODER_INPUTS
from .._engine.network import NetworkConfig, SiVAENetwork, weight_shapes
from .._engine.objective import ORIGINAL_OBJECTIVE
from .._errors import ModelFileError
from .._modelfile.format import ArraySpec, ModelFile, write_model_file
from .._plain import plain_params
from .._version import __version__
from .parameters import PARAMETERS, LayerWidths
from .validation import LayerSizes, check_network_memory

_WIDTHS = {name for name, p in PARAMETERS.items() if any(isinstance(a, LayerWidths) for a in p.allowed)}
"""Parameters holding layer widths: a tuple in the estimator, a list in a model file's JSON."""

EXTERNAL = "external"
"""How a model file's parameters name an external ``feature_input`` (``[method, EXTERNAL]`` beside a data-derived one).

The embeddings themselves are the network's feature inputs, undone by the fitted centre and scale."""


def _file_feature_input(value) -> tuple[bool, str | None]:
    """Whether a model file's ``feature_input`` parameter names external embeddings, and its data-derived method.

    >>> _file_feature_input("pca"), _file_feature_input("external"), _file_feature_input(["pca", "external"])
    ((False, 'pca'), (True, None), (True, 'pca'))
    """
    if isinstance(value, list) and len(value) == 2 and value[1] == EXTERNAL and value[0] != EXTERNAL:
        return True, value[0]
    if value == EXTERNAL:
        return True, None
    return False, value if isinstance(value, str) else None


class PersistenceMixin:
    """``save``, pickling, and rebuilding from a model file, for :class:`~sivae_sklearn.SiVAE`."""

    def __getstate__(self):
        # A copy: on Python >= 3.11 object.__getstate__ returns the live __dict__,
        # and popping from it would strip the network off the pickled estimator.
        state = dict(super().__getstate__())
        network = state.pop("_network", None)
        state.pop("_compiled", None)
        if network is not None:
            state["_network_weights"] = network.get_weights()
        return state

    def __setstate__(self, state):
        weights = state.pop("_network_weights", None)
        super().__setstate__(state)
        if weights is not None:
            self._restore_network(weights)

    def _feature_reducer(self) -> FeatureReducer:
        """The fitted feature reducer; a clear error for a model loaded from a file that did not hold one."""
        check_is_fitted(self)
        reducer = getattr(self, "feature_reducer_", None)
        if reducer is None:
            raise AttributeError(
                "This model has no fitted feature reducer (feature_reducer_): it was loaded from a model file of "
                "format 1 (or a pickle) written before models kept it, so columns that were not in training cannot "
                "be reduced. Everything else works; refit the model on its training data to get one."
            )
        return reducer

    def _saved_embeddings(self):
        """The aligned external embeddings of the fit, from the network's feature inputs and the fitted fusion.

        As ``feature_input`` was given: one array or a list of them; DataFrames
        indexed by ``feature_names_in_`` when the features have names. Beside a
        data-derived input, the embeddings are the feature inputs' last columns.
        """
        fusion = fusion_from_state(self.feature_input_widths_, self.feature_input_center_, self.feature_input_scale_)
        inputs = self._network.feature_inputs.numpy()[:, -fusion.n_inputs_ :]
        raw = inputs.astype(np.float64) * fusion.scale_ + fusion.center_
        blocks = np.split(raw, np.cumsum(fusion.widths_)[:-1], axis=1)
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            import pandas as pd

            blocks = [pd.DataFrame(b, index=pd.Index(names, name="feature")) for b in blocks]
        return blocks[0] if len(blocks) == 1 else blocks

    def _restore_network(self, weights) -> None:
        network = SiVAENetwork(self._network_config, seed=0)
        network.set_weights(weights)
        self._network = network
        self._compiled = CompiledModel(network, self.likelihood)

    def save(self, path) -> None:
        """Save the fitted model to one file (no pickle inside), atomically.

        The file is written beside ``path``, fsynced and renamed onto it: a
        kill during the save leaves the previous file at ``path`` intact, and
        of concurrent saves to one path the last one to finish wins, whole.

        Parameters
        ----------
        path : str or path-like
            Destination, conventionally ending in ``.sivae``.

        See Also
        --------
        sivae_sklearn.load : Read it back.
        """
        check_is_fitted(self)
        params = self.get_params(deep=False)
        if isinstance(params.get("random_state"), np.random.RandomState):
            warnings.warn(
                "random_state is a RandomState instance, which a model file cannot hold; it is saved as None "
                "(the fitted weights are saved exactly; only a refit of the loaded model would differ).",
                UserWarning,
                stacklevel=2,
            )
        fitted = {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}
        reducer = fitted.pop("feature_reducer_", None)
        if is_external(params["feature_input"]):
            # The embeddings themselves are the network's feature inputs (a weight) undone by the fitted
            # centre and scale: the file names the choice, load puts the aligned embeddings back.
            method = data_method(params["feature_input"])
            params = {**params, "feature_input": EXTERNAL if method is None else [method, EXTERNAL]}
        write_model_file(
            path,
            ModelFile(
                class_name=type(self).__name__,
                params=plain_params(params),
                network_config=asdict(self._network_config),
                attributes=fitted,
                weights=self._network.get_weights(),
                feature_reducer=None if reducer is None else reducer_state(reducer),
            ),
        )

    @classmethod
    def _check_model_file(cls, contents: ModelFile) -> None:
        """Raise a ValueError unless ``contents`` (arrays as :class:`ArraySpec`) describe a model of this class.

        Run by :func:`~sivae_sklearn.load` before any array is read: the
        parameters pass the estimator's own constraints; the network
        configuration is the one the parameters and the fitted attributes
        give, and fits in memory; the fitted attributes come from
        :data:`FITTED_ATTRIBUTES`, with their shapes; the weights are exactly
        the network's variables, float32, with their shapes.
        """
        if contents.class_name != cls.__name__:
            raise ValueError(f"unknown estimator class {contents.class_name!r}")
        estimator = cls._estimator_from_params(contents)
        params = estimator.get_params(deep=False)
        attributes = contents.attributes
        external, method = _file_feature_input(contents.params.get("feature_input"))
        unknown = sorted(set(attributes) - set(FITTED_ATTRIBUTES))
        if unknown or contents.private_attributes:
            raise ValueError(
                f"the file holds attributes {unknown + sorted(contents.private_attributes)} that a model "
                f"never has; allowed are {sorted(FITTED_ATTRIBUTES)}"
            )
        required = {name for name, (_, optional) in FITTED_ATTRIBUTES.items() if not optional}
        required |= {"condition_categories_"} if params["conditional"] else set()
        required |= {"classes_"} if params["classifier_weight"] > 0 else set()
        required |= {"program_support_"} if params["feature_programs"] else set()
        required |= set(EMBEDDING_ATTRIBUTES) if external else set()
        missing = sorted(required - set(attributes))
        if missing:
            raise ValueError(f"the fitted attributes {missing} are missing")
        for name, needed_by in (
            ("condition_categories_", "conditional"),
            ("classes_", "classifier_weight"),
            ("program_support_", "feature_programs"),
        ):
            if name in attributes and name not in required:
                raise ValueError(f"the file holds {name}, but its parameter {needed_by}={params[needed_by]!r} has none")
        stray = sorted(set(EMBEDDING_ATTRIBUTES) & set(attributes) - required)
        if stray:
            raise ValueError(
                f"the file holds {stray}, but its feature_input={params['feature_input']!r} is not external"
            )
        if external and method is None and contents.feature_reducer is not None:
            raise ValueError("the file holds a feature_reducer, but its feature_input is external embeddings")
        if external and method is not None and contents.feature_reducer is None:
            raise ValueError(f"the file has no feature_reducer, but its feature_input reads {method!r} and embeddings")
        for name in ("n_features_in_", "n_components_", "n_iter_"):
            value = attributes[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "n_iter_" else 1):
                raise ValueError(f"{name} must be a {'non-negative' if name == 'n_iter_' else 'positive'} integer")
        if not isinstance(attributes["history_"], dict) or not all(
            isinstance(v, list) for v in attributes["history_"].values()
        ):
            raise ValueError("history_ must map each loss term to a list of values")
        config = _network_config(contents.network_config)
        counts = {"n_conditions": "condition_categories_", "n_classes": "classes_"}
        expected = NetworkConfig.from_params(
            params,
            n_features=attributes["n_features_in_"],
            n_feature_inputs=config.n_feature_inputs,
            **{key: _length(attributes.get(attr)) for key, attr in counts.items()},
        )
        for key, value in asdict(config).items():
            if value != getattr(expected, key):
                raise ValueError(
                    f"network_config[{key!r}]={value!r} disagrees with {_CONFIG_SOURCES.get(key, key)}, "
                    f"which gives {getattr(expected, key)!r}"
                )
        reduced_width = config.n_feature_inputs
        if external:
            widths = attributes["feature_input_widths_"]
            total = sum(w if isinstance(w, int) else 0 for w in widths) if isinstance(widths, list) else -1
            reduced_width = config.n_feature_inputs - total
            if not isinstance(widths, list) or (reduced_width != 0 if method is None else reduced_width < 1):
                raise ValueError(
                    f"feature_input_widths_={widths!r:.60} does not add up to the network's feature input width "
                    f"n_feature_inputs={config.n_feature_inputs}"
                    + ("" if method is None else f" less the {method!r} input's")
                )
        if (not external or method is not None) and not 1 <= reduced_width <= params["feature_input_size"]:
            raise ValueError(
                f"network_config['n_feature_inputs']={config.n_feature_inputs} gives the reduced input a width of "
                f"{reduced_width}, outside [1, feature_input_size={params['feature_input_size']}]"
            )
        if contents.feature_reducer is not None:
            check_reducer_state(contents.feature_reducer, reduced_width, params["feature_input_size"])
            if method is not None and contents.feature_reducer["method"] != method:
                raise ValueError(
                    f"the feature_reducer's method {contents.feature_reducer['method']!r} is not the {method!r} of "
                    "its feature_input"
                )
        if attributes["n_components_"] != config.n_components:
            raise ValueError(f"n_components_={attributes['n_components_']} disagrees with n_components")
        check_network_memory(config, params)
        if "best_init_" in attributes:
            value = attributes["best_init_"]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < params["n_init"]:
                raise ValueError(f"best_init_ must be an integer in [0, n_init={params['n_init']})")
        sizes = {
            "G": config.n_features,
            "K": config.n_components,
            "C": config.n_conditions,
            "L": config.n_classes,
            "P": len(params["feature_programs"] or ()),
            "D": config.n_feature_inputs,
            "E": config.n_feature_inputs - reduced_width if external else 0,
            "I": params["n_init"],
        }
        for name, spec in attributes.items():
            if not isinstance(spec, ArraySpec):
                continue
            kinds, _ = FITTED_ATTRIBUTES[name]
            shape = tuple(sizes[axis] for axis in kinds[1])
            if spec.shape != shape or spec.dtype.kind not in kinds[0]:
                raise ValueError(f"attribute {name} has shape {spec.shape} and dtype {spec.dtype}, expected {shape}")
        shapes = weight_shapes(config)
        if set(contents.weights) != set(shapes):
            odd = sorted(set(contents.weights) ^ set(shapes))
            raise ValueError(f"the weights are not those of the network described (e.g. {odd[:3]})")
        for name, spec in contents.weights.items():
            if spec.shape != shapes[name] or spec.dtype != np.float32:
                raise ValueError(
                    f"weight {name!r} has shape {spec.shape} and dtype {spec.dtype}, "
                    f"but the network described has {shapes[name]} float32"
                )

    @classmethod
    def _estimator_from_params(cls, contents: ModelFile):
        """An unfitted estimator with the file's parameters, checked by its own constraints."""
        known = cls().get_params(deep=False)
        unknown = sorted(set(contents.params) - set(known))
        if unknown:
            raise ValueError(
                f"it has parameters {unknown} unknown to this sivae_sklearn "
                f"({__version__}); it was written by version {contents.package_version}"
            )
        params = {
            key: tuple(value) if key in _WIDTHS and isinstance(value, list) else value
            for key, value in contents.params.items()
        }
        external, method = _file_feature_input(params.get("feature_input"))
        if external:  # checked as its method (or the default); load puts the embeddings back
            params["feature_input"] = known["feature_input"] if method is None else method
        # A file written before the objective had these parameters was trained with the original one.
        return cls(**{**ORIGINAL_OBJECTIVE, **params})._with_valid_params()

    def _with_valid_params(self):
        self._validate_params()  # scikit-learn's check against _parameter_constraints
        return self

    @classmethod
    def _from_model_file(cls, contents: ModelFile, path=None):
        """A fitted estimator from a model file's contents, validated by :meth:`_check_model_file`.

        ``path`` names the file in the error raised for values that only the read arrays show.
        """
        estimator = cls._estimator_from_params(contents)
        estimator._network_config = _network_config(contents.network_config)
        for key, value in contents.attributes.items():
            setattr(estimator, key, value)
        if contents.feature_reducer is not None:
            try:
                estimator.feature_reducer_ = reducer_from_state(contents.feature_reducer)
            except ValueError as exc:
                where = "The model file" if path is None else repr(os.fspath(path))
                raise ModelFileError(f"{where} is not a valid sivae_sklearn model file: {exc}.") from None
        estimator._restore_network(contents.weights)
        external, method = _file_feature_input(contents.params.get("feature_input"))
        if external:
            try:
                embeddings = estimator._saved_embeddings()
                if method is not None:
                    embeddings = [method, *(embeddings if isinstance(embeddings, list) else [embeddings])]
                estimator.feature_input = embeddings
            except ValueError as exc:
                where = "The model file" if path is None else repr(os.fspath(path))
                raise ModelFileError(f"{where} is not a valid sivae_sklearn model file: {exc}.") from None
        if "components_std_" not in contents.attributes:  # files written before it was a fitted attribute
            estimator.components_std_ = estimator._compiled.feature_embedding()[1].T.astype(np.float64)
        return estimator


FITTED_ATTRIBUTES: dict[str, tuple[tuple[str, str] | None, bool]] = {
    "components_": (("f", "KG"), False),
    "components_std_": (("f", "KG"), True),
    "feature_awareness_": (("f", "G"), False),
    "feature_variance_": (("f", "G"), False),
    "mean_": (("f", "G"), False),
    "explained_variance_": (("f", "K"), False),
    "explained_variance_ratio_": (("f", "K"), False),
    "feature_names_in_": (("U", "G"), True),
    "feature_input_widths_": (None, True),
    "feature_input_center_": (("f", "E"), True),
    "feature_input_scale_": (("f", "E"), True),
    "condition_categories_": (("fiubU", "C"), True),
    "classes_": (("fiubU", "L"), True),
    "dimension_names_": (("U", "K"), True),
    "program_support_": (("f", "P"), True),
    "n_features_in_": (None, False),
    "n_components_": (None, False),
    "n_iter_": (None, False),
    "history_": (None, False),
    "init_scores_": (("f", "I"), True),
    "best_init_": (None, True),
}
"""Every fitted attribute a model file may hold: name -> ((dtype kinds, shape axes) of an array
attribute or None for a JSON one, optional). Axes: G features, K components, C condition
categories, L classes, P programs, D the width of the feature encoder's input, I initialisations
(``n_init``). ``condition_categories_``, ``classes_`` and ``program_support_`` are required when the
parameters ask for them."""


_CONFIG_SOURCES = {
    "n_features": "n_features_in_",
    "n_components": "the parameter n_components",
    "hidden_layer_sizes": "the parameter hidden_layer_sizes",
    "feature_hidden_layer_sizes": "the parameter feature_hidden_layer_sizes (None: hidden_layer_sizes)",
    "n_conditions": "condition_categories_ (one per category of a conditional model)",
    "n_classes": "classes_ (one per class of a classifier head)",
    "classifier_layer_sizes": "the parameter classifier_layer_sizes (of a classifier head)",
    "input_transform": "the parameter likelihood",
}
"""Where the expected value of each field of a model file's network configuration comes from."""


def _length(spec) -> int:
    return spec.shape[0] if isinstance(spec, ArraySpec) and spec.shape else 0


def _network_config(fields: dict) -> NetworkConfig:
    """A :class:`NetworkConfig` from a model file's plain fields, every type checked."""
    names = {f.name for f in dataclass_fields(NetworkConfig)}
    values = dict(fields)
    if values.get("feature_hidden_layer_sizes") is None and "hidden_layer_sizes" in values:
        # Files written before the feature network could be sized on its own (no field), or by a model unpickled
        # from then (null): the feature network mirrored the sample network.
        values["feature_hidden_layer_sizes"] = values["hidden_layer_sizes"]
    if set(values) != names:
        raise ValueError(f"network_config must have exactly the fields {sorted(names)}, got {sorted(fields)}")
    for key in ("hidden_layer_sizes", "feature_hidden_layer_sizes", "classifier_layer_sizes"):
        if not LayerSizes().is_satisfied_by(values[key]):
            raise ValueError(f"network_config[{key!r}] must be a list of positive integers, got {values[key]!r}")
        values[key] = tuple(values[key])
    for key in ("n_features", "n_feature_inputs", "n_components", "n_conditions", "n_classes"):
        value, low = values[key], 0 if key in ("n_conditions", "n_classes") else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"network_config[{key!r}] must be an integer >= {low}, got {value!r}")
    if values["input_transform"] not in ENCODER_INPUTS:
        raise ValueError(f"network_config['input_transform']={values['input_transform']!r} is unknown")
    return NetworkConfig(**values)
