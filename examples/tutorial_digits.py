"""The siVAE tutorial on scikit-learn's bundled 8x8 digits.

Train siVAE, embed the digits, show the loadings and the feature awareness of
each pixel as images, and compare the loadings with PCA's components. Writes
PNG files to a folder (default ``./figures``)::

    PYTHONPATH=. python examples/tutorial_digits.py [out_dir] [--epochs N]

About a minute on 2 CPU cores with the defaults.
"""

from __future__ import annotations

import argparse
import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

from sivae_sklearn import SiVAE, plotting  # noqa: E402
from sivae_sklearn.datasets import load_digits_images  # noqa: E402


def main(out_dir: str = "figures", epochs: int = 100, n_components: int = 6) -> None:
    os.makedirs(out_dir, exist_ok=True)

    def save(fig, name):
        path = os.path.join(out_dir, name)
        fig.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(fig)
        print("wrote", path)

    # 1. data: every pixel z-scored, labels, and the image shape for plotting
    X, y, shape = load_digits_images()

    # 2. train: a sample-wise and a feature-wise VAE, jointly
    model = SiVAE(n_components, hidden_layer_sizes=(128, 64), max_epochs=epochs, random_state=0)
    Z = model.fit_transform(X)
    print(f"trained {model.n_iter_} epochs; embedding {Z.shape}")
    save(plotting.plot_history(model).figure, "history.png")

    # 3. embedding coloured by digit
    save(plotting.plot_embedding(model, X, y, dims=(0, 1)).figure, "embedding.png")
    save(plotting.plot_reconstructions(model, X, n=8, image_shape=shape), "reconstructions.png")

    # 4. loadings: which pixels define each latent dimension (red +, blue -)
    save(plotting.plot_loadings(model, image_shape=shape, ncols=n_components), "sivae_loadings.png")
    save(plotting.plot_explained_variance(model).figure, "explained_variance.png")
    order = np.argsort(-model.explained_variance_ratio_)
    print("dimensions ranked by variance explained:", [f"sivae{i}" for i in order])
    print(model.top_features(int(order[0]), n=5))

    # 5. feature awareness: how well the model carries each pixel (last decoder layer)
    ax = plotting.plot_feature_awareness(model, image_shape=shape)
    save(ax.figure, "feature_awareness.png")
    ax = plotting.plot_feature_awareness(model, X, layer=0, image_shape=shape)
    save(ax.figure, "feature_awareness_latent.png")

    # 6. compare with PCA's components on the same data
    pca = PCA(n_components).fit(X)
    fig, axes = plt.subplots(2, n_components, figsize=(2 * n_components, 4.2), squeeze=False)
    for row, (name, comps) in enumerate((("siVAE", model.components_), ("PCA", pca.components_))):
        for d in range(n_components):
            lim = np.abs(comps).max()
            axes[row, d].imshow(comps[d].reshape(shape), cmap="RdBu_r", vmin=-lim, vmax=lim)
            axes[row, d].set_xticks([])
            axes[row, d].set_yticks([])
            axes[row, d].set_title(f"{name} {d}", fontsize="small")
    save(fig, "loadings_vs_pca.png")
    corr = np.abs(np.corrcoef(model.components_, pca.components_)[:n_components, n_components:])
    print("best |correlation| of each siVAE dimension with a PCA component:", corr.max(axis=1).round(2))

    # 7. feature neighbours and hubs
    print("pixels nearest to pixel x36 in loading space:", list(model.feature_neighbors("x36", n=5).index))
    print("hub pixels:", list(model.feature_hubs(5).index))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="figures")
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args()
    main(args.out_dir, args.epochs)
