"""The package's own exception classes, importable without TensorFlow.

>>> issubclass(ModelFileError, ValueError), issubclass(TrainingDivergedError, FloatingPointError)
(True, True)
"""


class ModelFileError(ValueError):
    """A file that is not a readable sivae_sklearn model."""


class TrainingDivergedError(FloatingPointError):
    """Raised when a loss term stops being finite during training."""
