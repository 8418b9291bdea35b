"""The package's own exception classes, importable without TensorFlow.

>>> issubclass(ModelFileError, ValueError), issubclass(TrainingDivergedError, FloatingPointError)
(True, True)
>>> issubclass(DataTypeError, TypeError), issubclass(DataTypeError, ValueError)
(True, True)
>>> issubclass(DataFileError, OSError), issubclass(DataFileError, ValueError)
(True, True)
"""


class ModelFileError(ValueError):
    """A file that is not a readable sivae_sklearn model."""


class TrainingDivergedError(FloatingPointError):
    """Raised when a loss term stops being finite during training."""


class DataTypeError(TypeError, ValueError):
    """Data of the wrong type (strings, complex numbers, dates, ``numpy.matrix``); the message says what to pass.

    A ``TypeError``, and also a ``ValueError`` (as scikit-learn's ``InvalidParameterError`` is both),
    so that catching ``ValueError`` still catches every refusal of input.
    """


class DataFileError(OSError, ValueError):
    """Data on disk that cannot be read (a corrupt compressed chunk of a backed ``.h5ad``, say).

    The message names the file, the array in it and the rows. An ``OSError``, as the reader's own
    error is, and a ``ValueError``, as every refusal of input is.
    """
