"""Choose the latent dimension by cross-validation, then use the VAE as features.

Two ways a :class:`skvae.VAETransformer` plugs into scikit-learn:

1. ``GridSearchCV`` over ``n_components`` with **no scorer**: the estimator's
   own ``score`` is the mean ELBO per sample (nats, higher is better) on
   the held-out fold, so the search picks the latent size under which the
   model best explains unseen data.
2. A ``Pipeline`` of ``MinMaxScaler`` (raw digit pixels are 0-16; the
   Bernoulli likelihood needs [0, 1], and ``clip=True`` keeps unseen data
   in range), the VAE, and ``LogisticRegression`` on the codes, scored by
   accuracy on a test split, next to the same pipeline with PCA.

``--dataset digits`` (default) uses scikit-learn's embedded 8x8 digits;
``--dataset mnist`` the 10,000 MNIST test images from ``--data-home`` (or
the environment variable ``SKVAE_MNIST_DIR``), which takes much longer.

Run it with::

    python examples/pipeline_grid_search.py --epochs 30
"""

import argparse
import os

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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=("digits", "mnist"), default="digits")
    parser.add_argument("--epochs", type=int, default=30,
                        help="training epochs of every fit (default: 30)")
    parser.add_argument("--data-home", default=os.environ.get("SKVAE_MNIST_DIR"),
                        help="for mnist: folder holding the MNIST t10k files, or a "
                             "scikit-learn data home (default: $SKVAE_MNIST_DIR)")
    parser.add_argument("--n-samples", type=int, default=None,
                        help="use only the first N images, for a quick run")
    parser.add_argument("--latent-dims", type=int, nargs="+", default=[2, 8, 16],
                        help="latent dimensions to compare (default: 2 8 16)")
    parser.add_argument("--random-state", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.dataset == "digits":
        X, y = load_digits(return_X_y=True)  # (n, 64), pixel values 0..16
        image_shape = (8, 8)
        params = {"architecture": "mlp", "batch_size": 128, "lr": 3e-3}
    else:
        X, y = load_mnist("test", data_home=args.data_home, return_X_y=True)
        X = X.reshape(len(X), -1) * 255  # (n, 784), pixel values 0..255
        image_shape = (28, 28)
        params = {"batch_size": 128}
    if args.n_samples:
        X, y = X[:args.n_samples], y[:args.n_samples]
    X = X.astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.random_state)

    vae = VAETransformer(image_shape=image_shape, max_epochs=args.epochs,
                         random_state=args.random_state, **params)

    # 1. Model selection with the VAE's own score (the ELBO): no scorer.
    search = GridSearchCV(vae, {"n_components": args.latent_dims}, cv=3)
    search.fit(X_train / X_train.max())
    table = pd.DataFrame(search.cv_results_)[
        ["param_n_components", "mean_test_score", "std_test_score", "rank_test_score"]]
    print("GridSearchCV over n_components, scored by the held-out ELBO "
          "(nats per image, higher is better):")
    print(table.to_string(index=False, float_format="{:.2f}".format))
    best = search.best_params_["n_components"]
    print(f"Best n_components: {best}\n")

    # 2. The VAE as a feature extractor in a pipeline, against PCA.
    for name, reducer in [
        (f"VAETransformer(n_components={best})", vae.set_params(n_components=best)),
        (f"PCA(n_components={best})",
         PCA(n_components=best, random_state=args.random_state)),
    ]:
        pipe = Pipeline([
            ("scale", MinMaxScaler(clip=True)),
            ("reduce", reducer),
            ("clf", LogisticRegression(max_iter=2000)),
        ])
        pipe.fit(X_train, y_train)
        print(f"Pipeline(MinMaxScaler, {name}, LogisticRegression) "
              f"test accuracy: {pipe.score(X_test, y_test):.3f}")


if __name__ == "__main__":
    main()
