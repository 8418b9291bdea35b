"""Installation of sivae_sklearn (metadata here; tool settings in pyproject.toml)."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "sivae_sklearn" / "_version.py").read_text()).group(1)

setup(
    name="sivae_sklearn",
    version=VERSION,
    description="The interpretable variational autoencoder siVAE as a scikit-learn transformer",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    packages=find_packages(include=["sivae_sklearn", "sivae_sklearn.*"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow-cpu>=2.16; platform_machine=='x86_64' or platform_machine=='AMD64'",
        "tensorflow>=2.16; platform_machine!='x86_64' and platform_machine!='AMD64'",
        "scikit-learn>=1.6",
        "numpy>=1.24",
        "scipy>=1.10",
        "anndata>=0.10",
        "matplotlib>=3.7",
        "pandas>=1.5",
        "tqdm>=4.60",
    ],
    extras_require={
        "test": [
            "pytest>=7",
            "pytest-xdist>=3",
            "hypothesis>=6",
            "numpydoc>=1.6",
            "psutil>=5",
            "ruff>=0.5",
            "scanpy>=1.10",
            "dash>=2.14",
            "plotly>=5",
            "playwright>=1.40",
            "dask[array,distributed]>=2024.1",
            "zarr>=2.16",
        ],
        "scanpy": ["scanpy>=1.10"],
        "benchmarks": ["umap-learn>=0.5", "psutil>=5"],
        "explorer": ["dash>=2.14", "plotly>=5"],
        "gpu": ["tensorflow[and-cuda]>=2.16"],
        "scale": ["dask[array,distributed]>=2024.1", "zarr>=2.16"],
        "docs": [
            "sphinx>=7",
            "numpydoc>=1.6",
            "pydata-sphinx-theme>=0.15",
            "sphinx-gallery>=0.16",
            "myst-parser>=2",
            "scanpy>=1.10",
            "dash>=2.14",
            "plotly>=5",
            "playwright>=1.40",
        ],
    },
    entry_points={"console_scripts": ["sivae=sivae_sklearn.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "License :: OSI Approved :: MIT License",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Topic :: Scientific/Engineering :: Bio-Informatics",
    ],
)
