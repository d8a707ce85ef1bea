"""
Choose the latent dimension by cross-validation, then use the codes
===================================================================

Two ways a :class:`skvae.VAETransformer` plugs into scikit-learn:

1. ``GridSearchCV`` over ``n_components`` with **no scorer**: the
   estimator's own ``score`` is the mean ELBO per sample (nats, higher is
   better) on the held-out fold, so the search picks the latent size under
   which the model best explains unseen data.
2. A ``Pipeline`` of ``MinMaxScaler`` (raw digit pixels are 0-16; the
   Bernoulli likelihood needs [0, 1], and ``clip=True`` keeps unseen data
   in range), the VAE, and ``LogisticRegression`` on the codes, scored by
   accuracy on a test split, next to the same pipeline with PCA.

**Compare like with like.** By default (``neighbor_weight="auto"``) a
model adds a neighbor-preserving term to its loss, weighed fully at
``n_components=2`` (to draw a better 2-D map) and halved with every two
dimensions more, and may pay for it in ELBO (on MNIST at 2 dimensions,
nothing on one split and 2.2 nats per image on another). A grid over
``n_components`` would then compare models trained on different
objectives. This example searches
``VAETransformer(neighbor_weight=0)``, so that every candidate maximizes
the ELBO alone, and puts the default back for the features.

The documentation builds this page at full size on scikit-learn's 8x8
digits. The 10,000 MNIST test images take much longer::

    python examples/pipeline_grid_search.py --dataset mnist --epochs 10
"""

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from skvae import VAETransformer
from skvae.datasets import load_mnist

# What the documentation build runs; as a script, ``--epochs 1`` or
# ``--dataset mnist`` change them.
DATASET = "digits"         # or "mnist": reads $SKVAE_MNIST_DIR
EPOCHS = 30                # training epochs of every fit
N_SAMPLES = None           # None: all images
LATENT_DIMS = [2, 8, 16]   # the grid of n_components
OUT = None                 # a folder to save the figure in
RANDOM_STATE = 0

# sphinx_gallery_start_ignore
# Run as a script, ``--name value`` replaces a setting above
# (``--n-samples 500`` sets N_SAMPLES); see _settings.py.
from _settings import override  # noqa: E402

override(globals())
# sphinx_gallery_end_ignore

# %%
# The data
# --------
# Flat rows of raw pixel values, as a table would hold them;
# ``image_shape`` tells the VAE they are images.
if DATASET == "digits":
    X, y = load_digits(return_X_y=True)  # (n, 64), pixel values 0..16
    image_shape = (8, 8)
    params = {"architecture": "mlp", "batch_size": 128}
else:
    X, y = load_mnist("test", data_home=os.environ.get("SKVAE_MNIST_DIR"),
                      return_X_y=True)
    X = X.reshape(len(X), -1) * 255  # (n, 784), pixel values 0..255
    image_shape = (28, 28)
    params = {"batch_size": 128}
X, y = X[:N_SAMPLES].astype(np.float32), y[:N_SAMPLES]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=RANDOM_STATE)

# ``neighbor_weight=0``: the same objective, the ELBO, at every size.
vae = VAETransformer(image_shape=image_shape, neighbor_weight=0,
                     max_epochs=EPOCHS, random_state=RANDOM_STATE, **params)

# %%
# Model selection with the VAE's own score
# ----------------------------------------
# No ``scoring``: ``GridSearchCV`` calls ``vae.score``, the held-out ELBO.
search = GridSearchCV(vae, {"n_components": LATENT_DIMS}, cv=3)
search.fit(X_train / X_train.max())
columns = ["param_n_components", "mean_test_score", "std_test_score",
           "rank_test_score"]
table = pd.DataFrame(search.cv_results_)[columns]
print("GridSearchCV over n_components, scored by the held-out ELBO "
      "(nats per image, higher is better):")
print(table.to_string(index=False, float_format="{:.2f}".format))
best = search.best_params_["n_components"]
print(f"Best n_components: {best}")

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.errorbar(table["param_n_components"].astype(int),
            table["mean_test_score"], yerr=table["std_test_score"],
            marker="o", capsize=4)
ax.set_xscale("log", base=2)
ax.set_xticks(LATENT_DIMS, [str(d) for d in LATENT_DIMS])
ax.set_xlabel("n_components")
ax.set_ylabel("held-out ELBO (nats per image)")
ax.set_title("GridSearchCV: mean and std over 3 folds")

# %%
# Had the grid searched ``VAETransformer()`` with its default
# ``neighbor_weight="auto"``, each candidate would have been trained on
# the ELBO plus a neighbor term of its own weight, and the small ones'
# scores would be lower for a reason that has nothing to do with their
# size. Keep the default when you want a 2-D model to look at
# (:doc:`/user_guide/maps`) or codes to classify by; set
# ``neighbor_weight=0`` to compare sizes.

# %%
# The codes as features, against PCA
# -----------------------------------
# The default neighbor term is back on here (up to 10 components): it
# gathers the codes by neighborhood, which the classifier finds easier to
# separate.
for name, reducer in [
    (f"VAETransformer(n_components={best})",
     vae.set_params(n_components=best, neighbor_weight="auto")),
    (f"PCA(n_components={best})",
     PCA(n_components=best, random_state=RANDOM_STATE)),
]:
    pipe = Pipeline([
        ("scale", MinMaxScaler(clip=True)),
        ("reduce", reducer),
        ("clf", LogisticRegression(max_iter=2000)),
    ])
    pipe.fit(X_train, y_train)
    print(f"Pipeline(MinMaxScaler, {name}, LogisticRegression) "
          f"test accuracy: {pipe.score(X_test, y_test):.3f}")

# %%
# Run as a script with ``--out``, the example also saves the figure.
if OUT:
    os.makedirs(OUT, exist_ok=True)
    fig.savefig(os.path.join(OUT, "grid_search.png"), dpi=100)
    print(f"Wrote {os.path.join(OUT, 'grid_search.png')}")
plt.show()
