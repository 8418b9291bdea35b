"""Every :class:`~sivae_sklearn.SiVAE` parameter in one table: default, constraint, one-line doc, command-line option.

:data:`PARAMETERS` is the one place a parameter is declared. It is read by

* ``SiVAE._parameter_constraints`` (:func:`parameter_constraints`: scikit-learn's
  ``_fit_context`` checks every value against it);
* the ``sivae fit`` command line (:func:`Parameter.parse` is each option's type,
  :attr:`Parameter.doc` its help, :attr:`Parameter.default` its default);
* the test suite, which checks ``SiVAE.__init__``'s signature (names, order and
  defaults), the numpydoc ``Parameters`` section of its docstring and
  ``_parameter_constraints`` against the table, and the README's
  ``SiVAE(...)`` signature against :func:`signature_text`.

This module imports neither TensorFlow nor scikit-learn nor NumPy, so that
``sivae --help`` stays fast; the scikit-learn constraint objects are built on
demand by :func:`parameter_constraints`. Adding a parameter: a row here, an
argument of ``SiVAE.__init__`` (same place, same default), its entry in the
class docstring, and the code that reads it (``docs/design.md``).

>>> PARAMETERS["feature_batch_size"].parse("4"), PARAMETERS["feature_batch_size"].parse("none")
(4, None)
>>> PARAMETERS["hidden_layer_sizes"].parse("256,64")
(256, 64)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

# ----------------------------------------------------------------- constraints

FLOAT32_MAX = 3.4028234663852886e38
"""The largest float32 (``numpy.finfo(numpy.float32).max``): the network computes in float32, so every
real-valued parameter must lie within this range."""


@dataclass(frozen=True)
class Range:
    """A number of ``kind`` (``"int"`` or ``"float"``, never a bool) in ``[low, high]``, ``closed`` as scikit-learn's.

    A ``"float"`` is also within float32 range (:data:`FLOAT32_MAX`, about 3.4e38): the network
    computes in float32, and a weight of ``1e39`` would become inf there.

    >>> Range("int", 1).parse("3"), Range("float", 0, 1, "both").text()
    (3, 'a number in [0, 1]')
    >>> Range("float", 0).contains(1e39), Range("float", 0).text()
    (False, 'a number >= 0 within float32 range (about 3.4e38)')
    """

    kind: str
    low: float | None = None
    high: float | None = None
    closed: str = "left"

    def sklearn(self):
        from numbers import Integral, Real

        from .validation import Float32Numbers, Numbers

        if self.kind == "int":
            return Numbers(Integral, self.low, self.high, closed=self.closed)
        return Float32Numbers(Real, self.low, self.high, closed=self.closed)

    def contains(self, value: float) -> bool:
        left = self.closed in ("left", "both")
        right = self.closed in ("right", "both")
        above = self.low is None or (value >= self.low if left else value > self.low)
        below = self.high is None or (value <= self.high if right else value < self.high)
        in_float32 = self.kind != "float" or abs(value) <= FLOAT32_MAX
        return above and below and math.isfinite(value) and in_float32

    def text(self) -> str:
        what = "an integer" if self.kind == "int" else "a number"
        if self.low is not None and self.high is not None:
            left = "[" if self.closed in ("left", "both") else "("
            right = "]" if self.closed in ("right", "both") else ")"
            return f"{what} in {left}{_plain(self.low)}, {_plain(self.high)}{right}"
        if self.low is not None:
            sign = ">=" if self.closed in ("left", "both") else ">"
            return f"{what} {sign} {_plain(self.low)}{self._float32_text()}"
        return what + self._float32_text()

    def _float32_text(self) -> str:
        return " within float32 range (about 3.4e38)" if self.kind == "float" else ""

    def parse(self, text: str):
        try:
            value = int(text) if self.kind == "int" else float(text)
        except ValueError:
            raise ValueError(self.text()) from None
        if not self.contains(value):
            raise ValueError(self.text())
        return value


@dataclass(frozen=True)
class OneOf:
    """One of the strings ``names`` (on the command line in any case)."""

    names: tuple[str, ...]

    def sklearn(self):
        from sklearn.utils._param_validation import StrOptions

        return StrOptions(set(self.names))

    def text(self) -> str:
        return "one of " + ", ".join(self.names)

    def parse(self, text: str) -> str:
        name = text.strip().lower()
        if name not in self.names:
            raise ValueError(self.text())
        return name


@dataclass(frozen=True)
class LayerWidths:
    """A tuple of positive integers; on the command line ``512,128``, and ``linear`` (or ``none``) for ``()``."""

    def sklearn(self):
        from .validation import LayerSizes

        return LayerSizes()

    def text(self) -> str:
        return "comma-separated positive integers such as 512,128 (linear for none)"

    def parse(self, text: str) -> tuple[int, ...]:
        if text.strip().lower() in ("", "none", "linear"):
            return ()
        try:
            sizes = tuple(int(part) for part in text.split(","))
        except ValueError:
            raise ValueError(self.text()) from None
        if any(s < 1 for s in sizes):
            raise ValueError(self.text())
        return sizes


@dataclass(frozen=True)
class Embeddings:
    """External feature embeddings (an array, a DataFrame or a list of them); on the command line ``varm:KEY``.

    The command line passes ``varm:KEY`` on to :func:`~sivae_sklearn.tl.sivae`,
    which reads ``adata.varm[KEY]``; ``pca+varm:KEY`` (or ``subsample+``) reads
    the genes' reduced columns beside it.

    >>> Embeddings().parse("varm:X_gene")
    'varm:X_gene'
    >>> Embeddings().parse("pca+varm:X_gene")
    ['pca', 'varm:X_gene']
    """

    def sklearn(self):
        from .validation import FeatureEmbeddings

        return FeatureEmbeddings()

    def text(self) -> str:
        return "varm:KEY (an embedding of the genes in adata.varm), or pca+varm:KEY (both inputs)"

    def parse(self, text: str) -> str | list[str]:
        method, plus, key = text.rpartition("+")
        if not key.startswith("varm:") or len(key) == len("varm:") or (plus and method not in ("pca", "subsample")):
            raise ValueError(self.text())
        return [method, key] if plus else key


@dataclass(frozen=True)
class Boolean:
    """``True`` or ``False``; on the command line the words yes/no, true/false or 1/0, never ``bool(text)``."""

    def sklearn(self):
        return "boolean"

    def text(self) -> str:
        return "yes or no"

    def parse(self, text: str) -> bool:
        value = text.strip().lower()
        if value in ("yes", "true", "1"):
            return True
        if value in ("no", "false", "0"):
            return False
        raise ValueError(self.text())


@dataclass(frozen=True)
class Nothing:
    """``None``; on the command line the word ``none``."""

    def sklearn(self):
        return None

    def text(self) -> str:
        return "none"

    def parse(self, text: str) -> None:
        if text.strip().lower() != "none":
            raise ValueError(self.text())


@dataclass(frozen=True)
class Programs:
    """A dict of program name -> list of features (``feature_programs``); the command line reads a GMT file instead."""

    def sklearn(self):
        return dict

    def text(self) -> str:
        return "a dict of program name -> features (on the command line: --programs FILE.gmt)"

    def parse(self, text: str):
        raise ValueError(self.text())


@dataclass(frozen=True)
class Seed:
    """scikit-learn's ``"random_state"``: an int, a ``RandomState`` or ``None``; on the command line an int >= 0."""

    def sklearn(self):
        return "random_state"

    def text(self) -> str:
        return "a non-negative integer"

    def parse(self, text: str) -> int:
        return Range("int", 0).parse(text)


@dataclass(frozen=True)
class Verbosity:
    """scikit-learn's ``"verbose"``: an int or a bool (the command line counts ``-v`` instead)."""

    def sklearn(self):
        return "verbose"

    def text(self) -> str:
        return "a non-negative integer"

    def parse(self, text: str) -> int:
        return Range("int", 0).parse(text)


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


# ------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Parameter:
    """One parameter of :class:`~sivae_sklearn.SiVAE`.

    Parameters
    ----------
    name : str
        The keyword of ``SiVAE.__init__``.
    default : object
        Its default (an immutable value: a tuple, never a list).
    allowed : tuple of constraints
        The value satisfies at least one of them (:class:`Range`, :class:`OneOf`,
        :class:`LayerWidths`, :class:`Boolean`, :class:`Nothing`, :class:`Seed`,
        :class:`Verbosity`).
    doc : str
        One line, plain text: the ``sivae fit`` help, and the first words of the
        parameter's entry in the class docstring.
    option : bool
        Whether ``sivae fit`` offers it as ``--name-with-dashes``.
    """

    name: str
    default: Any
    allowed: tuple
    doc: str
    option: bool = True

    def parse(self, text: str):
        """The value that the command-line ``text`` gives; a ValueError saying what is expected otherwise."""
        for constraint in self.allowed:
            try:
                return constraint.parse(text)
            except ValueError:
                continue
        raise ValueError(f"expected {self.expected()}, got {text!r}")

    def expected(self) -> str:
        """What a value must be, in words (``'an integer >= 1 or none'``)."""
        return " or ".join(c.text() for c in self.allowed)

    @property
    def choices(self) -> tuple[str, ...]:
        """The names a value may be, when it can only be a name (argparse's ``choices``), else ``()``."""
        if len(self.allowed) == 1 and isinstance(self.allowed[0], OneOf):
            return self.allowed[0].names
        return ()

    @property
    def metavar(self) -> str | None:
        """How the command line shows the value (``{yes,no}``, ``N1,N2,...``), or None for argparse's own."""
        if self.choices:
            return None
        words = []
        for constraint in self.allowed:
            if isinstance(constraint, OneOf):
                words += constraint.names
            elif isinstance(constraint, Boolean):
                words += ["yes", "no"]
            elif isinstance(constraint, LayerWidths):
                return "N1,N2,..."
            elif isinstance(constraint, Embeddings):
                words += ["varm:KEY", "pca+varm:KEY"]
            elif isinstance(constraint, Nothing):
                words.append("none")
            else:
                words.append("INT" if getattr(constraint, "kind", "int") == "int" else "NUMBER")
        return "{" + ",".join(words) + "}" if len(words) > 1 else words[0]


_COUNT = Range("int", 1)
_WEIGHT = Range("float", 0)

PARAMETERS: dict[str, Parameter] = {
    p.name: p
    for p in (
        Parameter("n_components", 2, (_COUNT,), "Latent dimensions K of samples and features."),
        Parameter(
            "hidden_layer_sizes",
            (512, 128),
            (LayerWidths(),),
            "Widths of the encoder layers; decoders mirror them and end in a linear layer of width "
            "h = hidden_layer_sizes[0].",
        ),
        Parameter(
            "feature_hidden_layer_sizes",
            None,
            (LayerWidths(), Nothing()),
            "Widths of the feature-wise encoder's layers (its decoder mirrors them and ends in a linear layer of "
            "width h); None mirrors hidden_layer_sizes.",
        ),
        Parameter(
            "likelihood",
            "gaussian",
            (OneOf(("gaussian", "bernoulli", "poisson", "nb")),),
            "Observation model.",
        ),
        Parameter("beta", 1.0, (_WEIGHT,), "Weight of the KL terms of both latent spaces."),
        Parameter(
            "feature_kl_weight",
            "elbo",
            (OneOf(("elbo", "mean")), _WEIGHT),
            "Weight of the feature-wise KL KL(q(v_f) || N(0, I)) averaged over features, relative to the "
            "sample-wise KL (both scaled by beta).",
        ),
        Parameter(
            "feature_noise",
            0.0,
            (Range("float", 0, 1, "both"),),
            "Where the feature posterior q(v_f) = N(mean_f, std_f^2) is read to decode the sample "
            "decoder's last weight matrix W: at v_f = mean_f + feature_noise * std_f * eps.",
        ),
        Parameter(
            "kl_warmup_epochs",
            100.0,
            (Range("float", 0),),
            "Epochs (passes over the training rows, fractions allowed) over which the KL weight rises linearly "
            "from 0 to beta.",
        ),
        Parameter(
            "kl_warmup_steps",
            "deprecated",
            (Range("int", 0), OneOf(("deprecated",))),
            "Deprecated: use kl_warmup_epochs.",
        ),
        Parameter(
            "interpretability_weight",
            0.1,
            (_WEIGHT,),
            "Weight gamma of mean_c sum_f (x_cf - z_c . v_f - b_f)^2, which ties the embedding linearly to "
            "the loadings.",
        ),
        Parameter(
            "interpretability_moves_embedding",
            False,
            (Boolean(),),
            "Whether the interpretability term's gradient reaches the embedding z.",
        ),
        Parameter("l2_penalty", 1e-3, (_WEIGHT,), "Weight of the squared L2 norm of the sample network's kernels."),
        Parameter(
            "feature_input",
            "pca",
            (OneOf(("pca", "subsample")), Embeddings()),
            "How each feature (column) is reduced before the feature-wise encoder, or external feature "
            "embeddings that replace that input.",
        ),
        Parameter("feature_input_size", 50, (_COUNT,), "Width of that reduced input (capped by the data)."),
        Parameter("learning_rate", 1e-3, (Range("float", 0, None, "neither"),), "Adam step size."),
        Parameter("batch_size", 128, (_COUNT,), "Samples per minibatch (capped by the training set size)."),
        Parameter(
            "feature_batch_size",
            None,
            (_COUNT, Nothing()),
            "Features reconstructed per training step.",
        ),
        Parameter("max_epochs", 300, (_COUNT,), "Maximum passes over the training data in the joint phase."),
        Parameter(
            "schedule",
            "joint",
            (OneOf(("joint", "stepwise")),),
            "Training schedule: joint from the start, or stepwise (as the original siVAE).",
        ),
        Parameter(
            "pretrain_epochs",
            100,
            (Range("int", 0),),
            'Maximum epochs of each pretraining phase (schedule="stepwise").',
        ),
        Parameter(
            "early_stopping",
            True,
            (Boolean(),),
            "Stop when the monitored loss (validation loss if there is a validation set, else training loss) has "
            "not improved by tol (relative) for n_iter_no_change epochs after the KL warm-up, and restore the "
            "best weights.",
        ),
        Parameter(
            "validation_fraction",
            0.1,
            (Range("float", 0, 1, "left"),),
            "Share of samples held out to monitor the loss.",
        ),
        Parameter("n_iter_no_change", 10, (_COUNT,), "Patience of early stopping, in epochs."),
        Parameter("tol", 1e-4, (_WEIGHT,), "Relative improvement that resets the patience."),
        Parameter(
            "conditional",
            False,
            (Boolean(),),
            "Condition the sample decoder on a categorical variable.",
            option=False,  # sivae fit --batch-key makes the model conditional
        ),
        Parameter(
            "classifier_weight",
            0.0,
            (_WEIGHT,),
            "Weight of a softmax classification head on the latent means, trained on y (cross-entropy).",
            option=False,  # the head needs labels, which the command line does not take
        ),
        Parameter(
            "classifier_layer_sizes",
            (64,),
            (LayerWidths(),),
            "Hidden widths of the classification head.",
            option=False,
        ),
        Parameter(
            "feature_programs",
            None,
            (Programs(), Nothing()),
            "Feature programs (gene sets), {name: [features]}, each owning one latent dimension.",
            option=False,  # sivae fit --programs FILE.gmt
        ),
        Parameter(
            "program_weight",
            0.1,
            (_WEIGHT,),
            "Strength of the programs' soft mask: the weight of the non-members' squared loadings on the "
            "program dimensions.",
        ),
        Parameter(
            "program_embedding_weight",
            10.0,
            (_WEIGHT,),
            "Weight of the programs' embedding coupling: each program's dimension of the embedding follows "
            "its members' mean standardised value (0: off).",
        ),
        Parameter(
            "shuffle_buffer_bytes",
            128 * 2**20,
            (Range("int", 2**20), Nothing()),
            "Data on disk or lazy only: the most bytes of rows that the shuffle pool of minibatches holds "
            "(None: 16 whole chunks, however large).",
        ),
        Parameter(
            "n_init",
            1,
            (_COUNT,),
            "Initialisations trained (each from its own seed, on the same validation rows); the one with the "
            "best validation ELBO is kept.",
        ),
        Parameter(
            "random_state",
            None,
            (Seed(),),
            "Seeds the weights, the validation split, the minibatch order and the sampling noise.",
        ),
        Parameter("verbose", 0, (Verbosity(),), "0: silent.", option=False),  # sivae fit -v, -vv
    )
}
"""Every parameter of :class:`~sivae_sklearn.SiVAE`, in the order of its signature."""


def parameter_constraints() -> dict[str, list]:
    """``SiVAE._parameter_constraints``: scikit-learn's constraint objects of every parameter, from :data:`PARAMETERS`.

    Imports scikit-learn (this module does not on its own).
    """
    return {name: [c.sklearn() for c in p.allowed] for name, p in PARAMETERS.items()}


def defaults() -> dict[str, Any]:
    """The default of every parameter, in signature order.

    >>> defaults()["batch_size"], defaults()["hidden_layer_sizes"]
    (128, (512, 128))
    """
    return {name: p.default for name, p in PARAMETERS.items()}


def signature_text(first_positional: int = 1) -> str:
    """``SiVAE(...)`` as the README writes it: one parameter a line, ``*`` after the positional ones.

    >>> print("\\n".join(signature_text().splitlines()[:4]))
    SiVAE(
        n_components=2,
        *,
        hidden_layer_sizes=(512, 128),
    """
    lines = ["SiVAE("]
    for i, (name, p) in enumerate(PARAMETERS.items()):
        if i == first_positional:
            lines.append("    *,")
        value = f'"{p.default}"' if isinstance(p.default, str) else repr(p.default)
        lines.append(f"    {name}={value},")
    lines.append(")")
    return "\n".join(lines)
