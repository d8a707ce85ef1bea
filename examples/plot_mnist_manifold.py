"""The VAE tutorial on MNIST: a 2-D latent space and the digit manifold.

Trains a convolutional VAE with a two-dimensional latent space on MNIST,
as in Kingma and Welling (2014) and the Keras VAE tutorial, then draws
the two classic figures:

* ``mnist_latent.png``: the codes (posterior means) of held-out digits,
  coloured by digit: the classes form clusters although the VAE never saw
  a label;
* ``mnist_manifold.png``: the images the decoder makes from a regular grid
  of codes covering the prior, which morph smoothly from one digit into
  the next.

By default it uses the 10,000 MNIST *test* images (the two ``t10k`` files),
80% to train and 20% to draw the latent space, so that a folder holding
only those two files is enough. ``--subset train`` uses the 60,000 training
images instead (slower). The data folder is ``--data-home``, else the
environment variable ``SKVAE_MNIST_DIR``, else scikit-learn's data home
(where missing files are downloaded).

Run it with::

    python examples/plot_mnist_manifold.py --data-home ../shared/data/mnist \\
        --epochs 10 --out figures

Ten epochs on 8,000 images take a few minutes on a laptop CPU.
"""

import argparse
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skvae import VAETransformer  # noqa: E402
from skvae.datasets import load_mnist  # noqa: E402
from skvae.plotting import plot_latent_space, plot_manifold  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10,
                        help="training epochs (default: 10)")
    parser.add_argument("--data-home", default=os.environ.get("SKVAE_MNIST_DIR"),
                        help="folder holding the MNIST files, or a scikit-learn "
                             "data home (default: $SKVAE_MNIST_DIR, else "
                             "scikit-learn's data home)")
    parser.add_argument("--subset", choices=("test", "train"), default="test",
                        help="MNIST split to use (default: test, the 10,000 "
                             "t10k images)")
    parser.add_argument("--n-samples", type=int, default=None,
                        help="use only the first N images, for a quick run")
    parser.add_argument("--grid", type=int, default=15,
                        help="images per side of the manifold (default: 15)")
    parser.add_argument("--out", type=Path, default=Path("."),
                        help="folder to write the PNG files to (default: .)")
    parser.add_argument("--random-state", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    X, y = load_mnist(args.subset, data_home=args.data_home, return_X_y=True)
    if args.n_samples:
        X, y = X[:args.n_samples], y[:args.n_samples]
    n_test = len(X) // 5
    X_train, X_test, y_test = X[:-n_test], X[-n_test:], y[-n_test:]

    vae = VAETransformer(n_components=2, max_epochs=args.epochs, batch_size=128,
                         verbose=1, random_state=args.random_state)
    print(f"Training on {len(X_train)} MNIST {args.subset} images "
          f"for {args.epochs} epochs...")
    start = time.perf_counter()
    vae.fit(X_train)
    print(f"Trained in {time.perf_counter() - start:.1f} s; "
          f"ELBO on {len(X_test)} held-out images: {vae.score(X_test):.2f} nats.")

    args.out.mkdir(parents=True, exist_ok=True)
    ax = plot_latent_space(vae, X_test, y_test)
    ax.set_title(f"MNIST in the 2-D latent space ({len(X_test)} held-out digits)")
    ax.figure.savefig(args.out / "mnist_latent.png", dpi=100)

    ax = plot_manifold(vae, n=args.grid)
    ax.figure.savefig(args.out / "mnist_manifold.png", dpi=100)
    plt.close("all")
    print(f"Wrote {args.out / 'mnist_latent.png'} and {args.out / 'mnist_manifold.png'}")


if __name__ == "__main__":
    main()
