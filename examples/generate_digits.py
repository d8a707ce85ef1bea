"""Generate new handwritten digits with a VAE.

Fits a :class:`skvae.VAETransformer` to handwritten digits, then draws new
digits from it: ``vae.sample(n)`` takes codes from the N(0, I) prior and
passes them through the decoder, and returns the decoder's mean (pixel
probabilities) for each. The generated digits are saved as a grid in
``generated_digits.png``.

``--dataset digits`` (the default) uses scikit-learn's embedded 8x8 digits
and takes seconds; ``--dataset mnist`` uses the 10,000 28x28 MNIST test
images from ``--data-home`` (or the environment variable
``SKVAE_MNIST_DIR``) and takes minutes.

Run it with::

    python examples/generate_digits.py --out figures
    python examples/generate_digits.py --dataset mnist \\
        --data-home ../shared/data/mnist --epochs 10 --out figures
"""

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from skvae import VAETransformer  # noqa: E402
from skvae.datasets import load_mnist  # noqa: E402
from skvae.plotting import plot_samples  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=("digits", "mnist"), default="digits")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (default: 80 for digits, 10 for mnist)")
    parser.add_argument("--data-home", default=os.environ.get("SKVAE_MNIST_DIR"),
                        help="for mnist: folder holding the MNIST t10k files, or a "
                             "scikit-learn data home (default: $SKVAE_MNIST_DIR)")
    parser.add_argument("--n-samples", type=int, default=None,
                        help="train on only the first N images, for a quick run")
    parser.add_argument("--latent-dim", type=int, default=8,
                        help="latent dimensions (default: 8)")
    parser.add_argument("--n-generate", type=int, default=64,
                        help="number of digits to generate (default: 64)")
    parser.add_argument("--out", type=Path, default=Path("."),
                        help="folder to write the PNG files to (default: .)")
    parser.add_argument("--random-state", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.dataset == "digits":
        X = (load_digits().images / 16.0).astype(np.float32)  # (n, 8, 8) in [0, 1]
        params = {"architecture": "mlp", "batch_size": 128, "lr": 3e-3}
        epochs = args.epochs or 80
    else:
        X, _ = load_mnist("test", data_home=args.data_home, return_X_y=True)
        params = {"batch_size": 128}
        epochs = args.epochs or 10
    if args.n_samples:
        X = X[:args.n_samples]

    vae = VAETransformer(n_components=args.latent_dim, max_epochs=epochs, verbose=1,
                         random_state=args.random_state, **params)
    vae.fit(X)
    print(f"Fitted on {len(X)} images of shape {X.shape[1:]}: "
          f"ELBO {vae.score(X):.2f} nats per image.")

    generated = vae.sample(args.n_generate, random_state=args.random_state)
    print(f"Generated {len(generated)} images of shape {generated.shape[1:]}, "
          f"pixel values in [{generated.min():.2f}, {generated.max():.2f}].")

    args.out.mkdir(parents=True, exist_ok=True)
    fig = plot_samples(vae, n=args.n_generate, random_state=args.random_state)
    fig.savefig(args.out / "generated_digits.png", dpi=100)

    plt.close("all")
    print(f"Wrote {args.out / 'generated_digits.png'}")


if __name__ == "__main__":
    main()
