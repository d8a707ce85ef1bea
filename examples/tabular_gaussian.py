"""
A Gaussian-likelihood VAE on a table, against PCA
=================================================

Not every data set is made of pixels in [0, 1]. For standardized
real-valued features, ``likelihood="gaussian"`` models each feature with a
mean and a learned variance, and ``architecture="mlp"`` uses dense layers.
This example fits such a VAE to scikit-learn's breast cancer data set (569
tumours, 30 features, standardized with a ``StandardScaler`` fitted on the
training split) and compares it with PCA using the same number of
components, on a held-out test split:

* reconstruction MSE in standardized units (``inverse_transform`` of
  ``transform``);
* accuracy of a 5-nearest-neighbour classifier (malignant / benign) on
  the codes;
* log-likelihood per sample in nats: the VAE's ``score`` is its ELBO, a
  lower bound; PCA's ``score`` is the exact log-likelihood of
  probabilistic PCA. Both are densities of the same standardized data.

The data is embedded in scikit-learn, and the documentation builds this
page at full size (200 epochs, seconds)::

    python examples/tabular_gaussian.py --out figures
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from skvae import VAETransformer
from skvae.plotting import plot_latent_space

# What the documentation build runs; as a script, ``--epochs 1`` or
# ``--latent-dim 4`` change them.
EPOCHS = 200
LATENT_DIM = 2  # components of both methods
OUT = None      # a folder to save the figure in
RANDOM_STATE = 0

# sphinx_gallery_start_ignore
# Run as a script, ``--name value`` replaces a setting above
# (``--n-samples 500`` sets N_SAMPLES); see _settings.py.
from _settings import override  # noqa: E402

override(globals())
# sphinx_gallery_end_ignore

# %%
# Standardized data, and both models
# ----------------------------------
data = load_breast_cancer()
X_train, X_test, y_train, y_test = train_test_split(
    data.data, data.target, test_size=0.25, stratify=data.target,
    random_state=RANDOM_STATE)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

vae = VAETransformer(n_components=LATENT_DIM, likelihood="gaussian",
                     architecture="mlp", hidden_dim=64, batch_size=64,
                     max_epochs=EPOCHS, random_state=RANDOM_STATE)
vae.fit(X_train)
pca = PCA(n_components=LATENT_DIM, random_state=RANDOM_STATE).fit(X_train)

# %%
# Side by side on the test split
# ------------------------------
print(f"Breast cancer data: {len(X_train)} train / {len(X_test)} test "
      f"samples, {X_train.shape[1]} standardized features, "
      f"{LATENT_DIM} component(s).")
print(f"{'':<34}{'VAE':>10}{'PCA':>10}")
results = {}
for name, model in [("VAE", vae), ("PCA", pca)]:
    Z_train, Z_test = model.transform(X_train), model.transform(X_test)
    knn = KNeighborsClassifier(5).fit(Z_train, y_train)
    results[name] = [
        np.mean((X_test - model.inverse_transform(Z_test)) ** 2),
        knn.score(Z_test, y_test),
        model.score(X_test),
    ]
rows = ["reconstruction MSE", "kNN-5 accuracy of codes",
        "test log-likelihood (nats/sample)"]
for i, row in enumerate(rows):
    print(f"{row:<34}{results['VAE'][i]:>10.3f}{results['PCA'][i]:>10.3f}")
print("(The VAE's log-likelihood is its ELBO, a lower bound; PCA's is "
      "exact.)")

# %%
# On a few hundred rows of 30 nearly linear features, PCA is hard to beat:
# compare the figures above before reaching for a VAE. It earns its cost on
# data with non-linear structure, such as the images of the other examples.

# %%
# The codes of the test tumours
# -----------------------------
# :func:`~skvae.plotting.plot_latent_space` draws any transformer's 2-D
# codes.
fig, axes = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
for ax, model, name in [(axes[0], vae, "VAE"), (axes[1], pca, "PCA")]:
    plot_latent_space(model, X_test, data.target_names[y_test], ax=ax)
    ax.set_title(f"{name} codes of the test tumours")
    if name == "PCA" and LATENT_DIM == 2:
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")

# %%
# Run as a script with ``--out``, the example also saves the figure.
if OUT:
    os.makedirs(OUT, exist_ok=True)
    fig.savefig(os.path.join(OUT, "tabular_latent.png"), dpi=100)
    print(f"Wrote {os.path.join(OUT, 'tabular_latent.png')}")
plt.show()
