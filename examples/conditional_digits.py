"""Conditional generation on MNIST: ask for a digit, redraw a handwriting.

A conditional VAE (``VAETransformer(conditional=True)``, fitted on
``(X, y)``) models p(x | z, y): the label says which digit, the latent code
z everything else (slant, stroke width, size). So

* ``vae.sample(n, y=7)`` draws sevens, and
* ``vae.inverse_transform(vae.transform(X), y=k)`` keeps the style of the
  images ``X`` but redraws them as digit ``k`` ("style transfer").

The example fits one on the 10,000 MNIST *test* images (the two ``t10k``
files): the first 80% to train, the last 20% held out. It saves two
figures to ``--out``:

* ``conditional_transfer.png``: 8 held-out digits (first column), each
  redrawn as every class;
* ``conditional_samples.png``: one row of samples per class.

It then asks a judge that never saw a generated image, a
``LogisticRegression`` trained on the real training pixels, what the
generated images show, and prints the fraction it labels as the class that
was asked for, next to its accuracy on the real held-out images (the best
a generated image can hope for; chance is 10%).

The data folder is ``--data-home``, else the environment variable
``SKVAE_MNIST_DIR``, else scikit-learn's data home (where missing files are
downloaded). Run it with::

    python examples/conditional_digits.py --data-home ../shared/data/mnist \\
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
import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from skvae import VAETransformer  # noqa: E402
from skvae.datasets import load_mnist  # noqa: E402
from skvae.plotting import plot_conditional_samples, plot_style_transfer  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10,
                        help="training epochs (default: 10)")
    parser.add_argument("--data-home", default=os.environ.get("SKVAE_MNIST_DIR"),
                        help="folder holding the MNIST files, or a scikit-learn "
                             "data home (default: $SKVAE_MNIST_DIR, else "
                             "scikit-learn's data home)")
    parser.add_argument("--n-samples", type=int, default=None,
                        help="use only the first N test images, for a quick run")
    parser.add_argument("--latent-dim", type=int, default=2,
                        help="latent dimensions (default: 2: a small code leaves "
                             "the class to the label)")
    parser.add_argument("--n-judge", type=int, default=100,
                        help="samples per class for the classifier to judge; "
                             "twice as many held-out images are redrawn as every "
                             "class (default: 100)")
    parser.add_argument("--out", type=Path, default=Path("."),
                        help="folder to write the PNG files to (default: .)")
    parser.add_argument("--random-state", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    X, y = load_mnist("test", data_home=args.data_home, return_X_y=True)
    if args.n_samples:
        X, y = X[:args.n_samples], y[:args.n_samples]
    n_test = len(X) // 5
    X_train, y_train, X_test, y_test = X[:-n_test], y[:-n_test], X[-n_test:], y[-n_test:]

    vae = VAETransformer(n_components=args.latent_dim, conditional=True,
                         max_epochs=args.epochs, batch_size=128, verbose=1,
                         random_state=args.random_state)
    print(f"Training a conditional VAE (n_components={args.latent_dim}) on "
          f"{len(X_train)} MNIST test images for {args.epochs} epochs...")
    start = time.perf_counter()
    vae.fit(X_train, y_train)
    print(f"Trained in {time.perf_counter() - start:.1f} s; log p(x | y) >= "
          f"{vae.score(X_test, y_test):.2f} nats (ELBO) on {len(X_test)} held-out images.")

    args.out.mkdir(parents=True, exist_ok=True)
    fig = plot_style_transfer(vae, X_test[:8])
    fig.savefig(args.out / "conditional_transfer.png", dpi=100)
    fig = plot_conditional_samples(vae, n_per_class=8, random_state=args.random_state)
    fig.savefig(args.out / "conditional_samples.png", dpi=100)
    plt.close("all")
    print(f"Wrote {args.out / 'conditional_transfer.png'} and "
          f"{args.out / 'conditional_samples.png'}")

    # The judge: a linear classifier of real digits.
    judge = LogisticRegression(max_iter=500)
    judge.fit(X_train.reshape(len(X_train), -1), y_train)

    def labelled_as_asked(images, asked):
        return float(np.mean(judge.predict(images.reshape(len(images), -1)) == asked))

    classes = vae.classes_
    rng = np.random.RandomState(args.random_state)
    samples = np.concatenate([vae.sample(args.n_judge, random_state=rng, y=k)
                              for k in classes])
    asked_samples = np.repeat(classes, args.n_judge)
    n_redraw = min(len(X_test), 2 * args.n_judge)
    codes = vae.transform(X_test[:n_redraw])
    transfers = np.concatenate([vae.inverse_transform(codes, y=k) for k in classes])
    asked_transfers = np.repeat(classes, n_redraw)

    print(f"\nJudge: LogisticRegression trained on the {len(X_train)} real training "
          "images (chance: 10%)")
    rows = [
        ("real held-out images, labelled correctly",
         judge.score(X_test.reshape(len(X_test), -1), y_test), f"{len(X_test)} images"),
        ("samples, labelled as the class asked for",
         labelled_as_asked(samples, asked_samples),
         f"{args.n_judge} per class x {len(classes)} classes"),
        ("style transfers, labelled as the class asked for",
         labelled_as_asked(transfers, asked_transfers),
         f"{n_redraw} held-out images x {len(classes)} classes"),
    ]
    for what, fraction, n in rows:
        print(f"  {what:<50} {fraction:6.1%}  ({n})")


if __name__ == "__main__":
    main()
