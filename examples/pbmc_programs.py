"""
Gene programs, every gene's loadings and an external gene embedding on PBMC
============================================================================

What siVAE's *feature-wise* encoder gives beyond a sample-only VAE: every gene has its own embedding (its
loadings), computed by a network that reads a description of the gene. Three things follow, shown here on
scanpy's bundled ``pbmc68k_reduced()`` (700 cells x 765 genes, log-normalised and z-scored, ten cell types in
``obs["bulk_labels"]``; no download):

1. **gene programs** from standard marker tables, written to a small GMT file and read back with
   :func:`sivae_sklearn.read_gmt`: each program owns one latent dimension, named after it
   (``dimension_names_``), and ``program_support_`` says how much the data back it;
2. **loadings for every gene** with ``tl.sivae(..., embed_all_genes=True)``: the model is fitted on the 309
   highly variable genes and the other 456 get loadings from one forward pass of the feature encoder, marked in
   ``var["sivae_embedded"]``;
3. an **external gene embedding** as the feature encoder's input (``feature_input=``): here the genes' PCA
   loadings on a disjoint half of the cells, built by the example itself. A real user would load gene embeddings
   from a gene language model (e.g. Geneformer, scGPT or GenePT vectors) or from a reference atlas instead, as a
   DataFrame indexed by gene name; then the genes left out of the fit need no measured values at all.

Honest reading of the programs (``docs/benchmarks.md``, "Gene programs on real cells"): under the default
non-linear decoder the programs shape the *loadings* (non-members are kept off a program's dimension) more than
the *embedding*; a named dimension is not made to separate its cell type, and ``program_support_`` is low.

Run from the repository root (needs the ``scanpy`` extra)::

    python examples/pbmc_programs.py [--max-epochs 150] [--n-components 8] [--seed 0] [--out DIR]
"""

import argparse
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scanpy as sc
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score

from sivae_sklearn import pl, read_gmt, tl

parser = argparse.ArgumentParser(description="Gene programs, embedded genes and an external gene embedding on PBMC.")
parser.add_argument("--n-components", type=int, default=8, help="latent dimensions (default: 8)")
parser.add_argument("--max-epochs", type=int, default=150, help="maximum training epochs of each fit (default: 150)")
parser.add_argument("--seed", type=int, default=0, help="random_state of both fits (default: 0)")
parser.add_argument("--out", default=None, help="folder for the GMT file (default: a temporary folder)")
args = parser.parse_args()

# %%
# Gene programs as a GMT file
# ---------------------------
# Marker genes of three cell types, as in standard marker tables. Users usually have such sets as GMT files
# (MSigDB, PanglaoDB, CellMarker exports: ``name<TAB>description<TAB>gene1<TAB>gene2...``, one set a line);
# the example writes one and reads it back with the package's reader. ``tl.sivae(programs=path)`` also takes
# the path itself, or a dict.
MARKERS = {
    "B_cell": ["MS4A1", "CD79A", "CD79B", "CD19", "BANK1", "CD22", "TCL1A", "VPREB3"],
    "NK_cell": ["GNLY", "NKG7", "KLRD1", "KLRF1", "PRF1", "FGFBP2", "CST7", "SPON2"],
    "CD14_monocyte": ["CD14", "LYZ", "S100A8", "S100A9", "FCN1", "CST3", "VCAN", "CD68"],
}
CELL_TYPES = {"B_cell": "CD19+ B", "NK_cell": "CD56+ NK", "CD14_monocyte": "CD14+ Monocyte"}
out = Path(args.out) if args.out else Path(tempfile.mkdtemp())
out.mkdir(parents=True, exist_ok=True)
gmt = out / "pbmc_markers.gmt"
gmt.write_text("".join(f"{name}\tmarker table\t" + "\t".join(genes) + "\n" for name, genes in MARKERS.items()))
programs = read_gmt(gmt)
print({name: len(genes) for name, genes in programs.items()})

adata = sc.datasets.pbmc68k_reduced()
hvg = adata.var["highly_variable"].to_numpy()
print(f"{adata.n_obs} cells x {adata.n_vars} genes, {hvg.sum()} highly variable")
for name, genes in programs.items():
    print(f"{name}: fitted {[g for g in genes if g in set(adata.var_names[hvg])]}")

# %%
# Fit on the highly variable genes, embed the rest
# ------------------------------------------------
# ``use_highly_variable=None`` (the default) follows ``var["highly_variable"]``, as scanpy does. The programs'
# members outside the fitted genes are left out, with one warning. The first ``len(programs)`` dimensions belong
# to the programs and are named after them; the others are free (``sivae3``, ...).
model = tl.sivae(
    adata,
    args.n_components,
    programs=programs,
    embed_all_genes=True,
    hidden_layer_sizes=(128, 64),
    max_epochs=args.max_epochs,
    batch_size=64,
    random_state=args.seed,
)
print("dimension_names_:", list(model.dimension_names_))
print(f"{model.n_iter_} epochs; varm['sivae_loadings'] {adata.varm['sivae_loadings'].shape}")

# %%
# The embedding by cell type, beside the program dimensions
# ---------------------------------------------------------
# Left: the two dimensions with the most variance explained; right: the B-cell and NK-cell program dimensions
# (``dims`` takes the programs' names). Read the right panel with the honest caveat above: the program
# dimensions are not made to separate their cell types under the default decoder.
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
pl.embedding(adata, color="bulk_labels", ax=axes[0], legend_loc=None)
axes[0].set_title("most variance explained")
pl.embedding(adata, color="bulk_labels", dims=("B_cell", "NK_cell"), ax=axes[1])
axes[1].set_title("program dimensions")

# %%
# ``program_support_``: do the data back the programs?
# ----------------------------------------------------
# The mean over a program's fitted members of ``corr(gene, dimension)^2``: the share of a member's variance its
# dimension carries (about ``1 / n_members`` or less for unrelated genes). Beside it, how well the dimension
# separates its cell type (AUROC of the cells' coordinate, in the direction that separates; a dimension's sign
# is arbitrary). At the defaults these stay low and the free dimensions carry the cell types
# (``docs/benchmarks.md``): the programs constrain which genes load on a named dimension, they do not force the
# embedding to follow those genes. Keep ``n_components`` near the number of programs, or use a linear decoder
# (``hidden_layer_sizes=()``), when the programs should shape the embedding.
# The gallery's page shows a short run (30 epochs); ``docs/genomics.md`` has 3 seeds at the defaults here.
labels = adata.obs["bulk_labels"].astype(str).to_numpy()
Z = adata.obsm["X_sivae"]
for k, name in enumerate(programs):
    auc = roc_auc_score(labels == CELL_TYPES[name], Z[:, k])
    best = max(max(a, 1 - a) for a in (roc_auc_score(labels == CELL_TYPES[name], z) for z in Z.T))
    print(
        f"{name:>14}: program_support_ {model.program_support_[k]:.3f}; AUROC for {CELL_TYPES[name]!r}: "
        f"its dimension {max(auc, 1 - auc):.3f}, best dimension {best:.3f}"
    )

# %%
# Loadings of every gene, trained or embedded
# -------------------------------------------
# ``var["sivae_embedded"]`` marks the genes whose loadings came from the feature encoder without training
# (``SiVAE.embed_features`` on their columns); their feature awareness stays NaN, since the decoder does not
# reconstruct them. What the programs do to the loadings shows in the median ``|loading|`` on each program's
# dimension: the mask keeps the trained non-members near 0, the members are free. The mask does not reach the
# embedded genes (it is a training penalty, and the feature encoder does not see membership), so their loadings
# on a program dimension are the encoder's extrapolation and sit above the trained non-members': rank embedded
# genes among themselves (as candidates for extending a program, to check against the data), not against the
# trained ones.
embedded = adata.var["sivae_embedded"].to_numpy()
print(f"trained: {(~embedded).sum()} genes, embedded: {embedded.sum()} genes")
loadings = pd.DataFrame(adata.varm["sivae_loadings"], index=adata.var_names, columns=model.dimension_names_)


def describe(loadings, embedded, names):
    """Median |loading| on each program dimension by group, and the top trained and embedded genes."""
    for name in names:
        member = loadings.index.isin(programs[name]) & ~embedded
        size = loadings[name].abs()
        print(
            f"{name}: median |loading| members {size[member].median():.3f}, trained non-members "
            f"{size[~member & ~embedded].median():.3f}, embedded {size[embedded].median():.3f}"
        )
        print("   top trained: " + ", ".join(size[~embedded].sort_values(ascending=False).index[:6]))
        print("   top embedded: " + ", ".join(size[embedded].sort_values(ascending=False).index[:6]))


describe(loadings, embedded, programs)
# pl.loadings ranks the trained genes (those with a feature awareness), as sc.pl.pca_loadings does.
pl.loadings(adata, dims=list(programs), n_top=6)

# %%
# An external gene embedding as the feature encoder's input
# ---------------------------------------------------------
# The feature encoder reads, for each gene, a vector that describes it: by default the gene's coordinates in a
# PCA of the training cells. Any other description works, given as ``feature_input=`` (a DataFrame indexed by
# gene name, aligned to ``var_names`` here; an array needs one row per gene of ``adata``). The example builds
# one itself: the genes' loadings in a PCA of one half of the cells (a stand-in for a reference), and fits on
# the other, disjoint half. **A real user loads gene embeddings instead**: from a gene language model, or the
# loadings of a reference atlas, as a table of genes x dimensions. With such an embedding,
# ``embed_all_genes=True`` gives the genes left out of the fit loadings from their embedding rows, not from
# their measured values, and :meth:`~sivae_sklearn.SiVAE.embed_features` ``(embedding=...)`` embeds genes that
# were never measured at all.
rng = np.random.RandomState(0)
reference = rng.rand(adata.n_obs) < 0.5
pca = PCA(16, random_state=0).fit(adata.X[reference])
gene_embedding = pd.DataFrame(pca.components_.T * np.sqrt(pca.explained_variance_), index=adata.var_names)
query = sc.datasets.pbmc68k_reduced()[~reference].copy()
model_ext = tl.sivae(
    query,
    args.n_components,
    programs=gmt,  # the path works as well as the dict read from it
    embed_all_genes=True,
    feature_input=gene_embedding,
    hidden_layer_sizes=(128, 64),
    max_epochs=args.max_epochs,
    batch_size=64,
    random_state=args.seed,
)
print(
    f"fitted on {query.n_obs} other cells, {model_ext.n_iter_} epochs; recorded feature_input: "
    f"{query.uns['sivae']['params']['feature_input']!r}"
)
print("program_support_:", {name: round(float(v), 3) for name, v in zip(programs, model_ext.program_support_)})
ext = pd.DataFrame(query.varm["sivae_loadings"], index=query.var_names, columns=model_ext.dimension_names_)
describe(ext, query.var["sivae_embedded"].to_numpy(), programs)
ax = pl.embedding(query, color="bulk_labels")
ax.set_title("external gene embedding, the other half of the cells")
plt.show()
