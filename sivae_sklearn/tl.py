"""Tools in scanpy's style: ``from sivae_sklearn import tl; tl.sivae(adata)``.

>>> from sivae_sklearn import tl
>>> callable(tl.sivae)
True
"""

from .anndata import sivae

__all__ = ["sivae"]
