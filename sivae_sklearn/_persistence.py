"""Pickling and saving a fitted estimator: its state to a :class:`~._serialization.ModelFile` and back.

The network is never pickled as a TensorFlow object: pickles carry its weights
as NumPy arrays, and model files (:mod:`~sivae_sklearn._serialization`) carry
them as arrays beside the parameters and fitted attributes.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._errors import ModelFileError
from ._inference import CompiledModel
from ._network import NetworkConfig, SiVAENetwork
from ._plain import plain_params
from ._serialization import ModelFile, write_model_file
from ._version import __version__


class PersistenceMixin:
    """``save``, pickling, and rebuilding from a model file, for :class:`~sivae_sklearn.SiVAE`."""

    def __getstate__(self):
        # A copy: on Python >= 3.11 object.__getstate__ returns the live __dict__,
        # and popping from it would strip the network off the pickled estimator.
        state = dict(super().__getstate__())
        network = state.pop("_network", None)
        state.pop("_model", None)
        if network is not None:
            state["_network_weights"] = network.get_weights()
        return state

    def __setstate__(self, state):
        weights = state.pop("_network_weights", None)
        super().__setstate__(state)
        if weights is not None:
            self._restore_network(weights)

    def _restore_network(self, weights) -> None:
        network = SiVAENetwork(self._network_config, seed=0)
        network.set_weights(weights)
        self._network = network
        self._model = CompiledModel(network, self.likelihood)

    def save(self, path) -> None:
        """Save the fitted model to one file (no pickle inside).

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
        write_model_file(
            path,
            ModelFile(
                class_name=type(self).__name__,
                params=plain_params(params),
                network_config=asdict(self._network_config),
                attributes=fitted,
                weights=self._network.get_weights(),
            ),
        )

    @classmethod
    def _from_model_file(cls, contents: ModelFile, where: str):
        """A fitted estimator from the contents of a model file (``where`` names the file in errors)."""
        if contents.class_name != cls.__name__:
            raise ModelFileError(f"Unknown estimator class {contents.class_name!r} in {where}.")
        known = cls().get_params(deep=False)
        unknown = sorted(set(contents.params) - set(known))
        if unknown:
            raise ModelFileError(
                f"{where} has parameters {unknown} unknown to this sivae_sklearn "
                f"({__version__}); it was written by version {contents.package_version}."
            )
        try:
            params = {
                key: tuple(value) if isinstance(known[key], tuple) and isinstance(value, list) else value
                for key, value in contents.params.items()
            }
            estimator = cls(**params)
            config = dict(contents.network_config)
            for key in ("hidden_layer_sizes", "classifier_layer_sizes"):
                if key in config:
                    config[key] = tuple(config[key])
            estimator._network_config = NetworkConfig(**config)
            for key, value in {**contents.attributes, **contents.private_attributes}.items():
                setattr(estimator, key, value)
            estimator._restore_network(contents.weights)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{where}: the model file is inconsistent: {exc}") from exc
        return estimator
