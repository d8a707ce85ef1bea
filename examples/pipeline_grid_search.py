"""
Choose the latent dimension by cross-validation, then use the codes as features
===============================================================================

Two ways a :class:`skvae.VAETransformer` plugs into scikit-learn:

1. ``GridSearchCV`` over ``n_components`` with **no scorer**: the estimator's
   own ``score`` is the mean ELBO per sample (nats, higher is better) on
   the held-out fold, so the search picks the latent size under which the
   model best explains unseen data.
2. A ``Pipeline`` of ``MinMaxScaler`` (raw digit pixels are 0-16; the
   Bernoulli likelihood needs [0, 1], and ``clip=True`` keeps unseen data
   in range), the VAE, and ``LogisticRegression`` on the codes, scored by
   accuracy on a test split, next to the same pipeline with PCA.

The documentation builds this page at full size on scikit-learn's 8x8
digits. ``--dataset mnist`` uses the 10,000 MNIST test images instead, which
takes much longer::

    python examples/pipeline_grid_search.py --dataset mnist \\
        --data-home ../shared/data/mnist --epochs 10
"""

# %%
# Options
# -------
# Run as a script, the example takes these options; the documentation
# build runs it without any.
import argparse
import os
from pathlib import Path

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

parser = argparse.ArgumentParser(description="Model selection and pipelines with a VAE.")
parser.add_argument("--dataset", choices=("digits", "mnist"), default="digits",
                    help="scikit-learn's 8x8 digits (default), or the 10,000 MNIST "
                         "test images")
parser.add_argument("--data-home", default=os.environ.get("SKVAE_MNIST_DIR"),
                    help="for mnist: folder holding the MNIST t10k files, or a "
                         "scikit-learn data home (default: $SKVAE_MNIST_DIR)")
parser.add_argument("--n-samples", type=int, default=None,
                    help="use only the first N images, for a quick run")
parser.add_argument("--epochs", type=int, default=30,
                    help="training epochs of every fit (default: 30)")
parser.add_argument("--latent-dims", type=int, nargs="+", default=[2, 8, 16],
                    help="latent dimensions to compare (default: 2 8 16)")
parser.add_argument("--out", type=Path, default=None,
                    help="also save the figure as grid_search.png in this folder")
parser.add_argument("--random-state", type=int, default=0)
args = parser.parse_args()

# %%
# The data
# --------
# Flat rows of raw pixel values, as a table would hold them; ``image_shape``
# tells the VAE they are images.
if args.dataset == "digits":
    X, y = load_digits(return_X_y=True)  # (n, 64), pixel values 0..16
    image_shape = (8, 8)
    params = {"architecture": "mlp", "batch_size": 128, "lr": 3e-3}
else:
    X, y = load_mnist("test", data_home=args.data_home, return_X_y=True)
    X = X.reshape(len(X), -1) * 255  # (n, 784), pixel values 0..255
    image_shape = (28, 28)
    params = {"batch_size": 128}
X, y = X[:args.n_samples].astype(np.float32), y[:args.n_samples]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=args.random_state)

vae = VAETransformer(image_shape=image_shape, max_epochs=args.epochs,
                     random_state=args.random_state, **params)

# %%
# Model selection with the VAE's own score
# ----------------------------------------
# No ``scoring``: ``GridSearchCV`` calls ``vae.score``, the held-out ELBO.
search = GridSearchCV(vae, {"n_components": args.latent_dims}, cv=3)
search.fit(X_train / X_train.max())
table = pd.DataFrame(search.cv_results_)[
    ["param_n_components", "mean_test_score", "std_test_score", "rank_test_score"]]
print("GridSearchCV over n_components, scored by the held-out ELBO "
      "(nats per image, higher is better):")
print(table.to_string(index=False, float_format="{:.2f}".format))
best = search.best_params_["n_components"]
print(f"Best n_components: {best}")

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
ax.errorbar(table["param_n_components"].astype(int), table["mean_test_score"],
            yerr=table["std_test_score"], marker="o", capsize=4)
ax.set_xscale("log", base=2)
ax.set_xticks(args.latent_dims, [str(d) for d in args.latent_dims])
ax.set_xlabel("n_components")
ax.set_ylabel("held-out ELBO (nats per image)")
ax.set_title("GridSearchCV: mean and std over 3 folds")

# %%
# The codes as features, against PCA
# -----------------------------------
for name, reducer in [
    (f"VAETransformer(n_components={best})", vae.set_params(n_components=best)),
    (f"PCA(n_components={best})", PCA(n_components=best, random_state=args.random_state)),
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
if args.out:
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "grid_search.png", dpi=100)
    print(f"Wrote {args.out / 'grid_search.png'}")
plt.show()
