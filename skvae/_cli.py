"""The ``skvae`` command line: ``skvae demo`` trains a small VAE and draws it.

Run ``skvae demo --help`` for the options. The entry point is
:func:`main`, which returns the exit status instead of exiting, so it can
be called from Python (and tests) as ``main(["demo", "--epochs", "2"])``.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["main"]

#: Epochs the demo trains for when --epochs is not given, per dataset.
DEFAULT_EPOCHS = {"digits": 30, "mnist": 10}

#: Fraction of the data held out for evaluation, per dataset.
TEST_SIZE = {"digits": 0.25, "mnist": 0.2}

#: Model settings of the demo, per dataset, on top of the defaults. Both
#: train the convolutional net on images with pixels in [0, 1], so that
#: "auto" resolves to the Bernoulli likelihood. The digits train at the
#: defaults but for the epochs (30, where "auto" would give their map 60),
#: so that the demo takes seconds; MNIST's ten epochs take larger batches
#: to stay short.
MODEL_PARAMS = {
    "digits": {"image_shape": (8, 8)},
    "mnist": {"image_shape": (28, 28), "batch_size": 128},
}

#: Torch CPU threads the demo trains with when --threads is not given, per
#: dataset (None: torch's default). The digits network is so small that
#: more threads only add synchronisation, which turns into a several-fold
#: slowdown when other processes compete for the cores.
DEFAULT_THREADS = {"digits": 1, "mnist": None}

#: Images per side of manifold.png, per dataset: fewer, larger cells keep
#: the 8 x 8 digits legible.
MANIFOLD_SIZE = {"digits": 10, "mnist": 15}

FIGURES = ("latent.png", "manifold.png", "samples.png", "reconstructions.png",
           "history.png")

_DEMO_DESCRIPTION = """\
Train a convolutional variational autoencoder (Bernoulli pixels in [0, 1])
on a small image data set, compare it with PCA using the same number of
components, and save its figures. The model's resolved choices (architecture,
likelihood, latent dimensions, neighbor loss weight, learning rate, weight
decay, device) are printed after training.

Datasets:
  digits  scikit-learn's embedded 8x8 handwritten digits (1,797 images,
          pixels scaled to [0, 1]); nothing to download. 75% train the
          model, 25% are held out for the figures of merit.
  mnist   the 10,000 MNIST *test* images (the two t10k-*-idx3/idx1-ubyte.gz
          files): 8,000 train the model and 2,000 are held out. The demo
          uses the test split only, so that a folder holding just those
          two files (like a shared copy of the test set) is enough, and
          so that it trains in a few minutes on a CPU.

Figures of merit, on the held-out images, for the VAE and for PCA:
  test ELBO           mean evidence lower bound per image (nats; higher is
                      better). PCA has none: its score() is a Gaussian
                      log-likelihood, not comparable, so "-" is shown.
  reconstruction MSE  mean squared pixel error of decode(encode(x)).
  kNN-5 accuracy      accuracy of a 5-nearest-neighbour classifier on the
                      codes (fitted on the training codes).

Figures written to --out: latent.png (codes of the held-out images by
label), manifold.png (images decoded from a grid over the latent plane),
samples.png, reconstructions.png and history.png (loss per epoch).
"""


class _UsageError(Exception):
    """A bad command line; its message is printed as one line."""


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


def _int_at_least(minimum):
    """An argparse type: an integer no smaller than ``minimum``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
        return value

    return parse


_positive_int = _int_at_least(1)


def _build_parser():
    parser = _ArgumentParser(
        prog="skvae",
        description="skvae: a variational autoencoder for scikit-learn.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"skvae {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="train a VAE on digits or MNIST, compare it with PCA, save figures",
        description=_DEMO_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--dataset", choices=("digits", "mnist"), default="digits",
                      help="data set to train on (default: digits)")
    demo.add_argument(
        "--data-home", metavar="DIR",
        default=os.environ.get("SKVAE_MNIST_DIR"),
        help="for --dataset mnist: a folder holding the t10k MNIST files "
             "directly, or a scikit-learn data home with an 'mnist' subfolder "
             "(default: $SKVAE_MNIST_DIR if set, else scikit-learn's data home)",
    )
    demo.add_argument("--download", action="store_true",
                      help="for --dataset mnist: download missing MNIST files "
                           "(default: only read files already there)")
    demo.add_argument("--latent-dim", type=_positive_int, default=2, metavar="N",
                      help="number of latent dimensions (default: 2; figures "
                           "of more dimensions are drawn through a PCA projection "
                           "or a 2-D slice)")
    demo.add_argument("--epochs", type=_positive_int, default=None, metavar="N",
                      help=f"training epochs (default: {DEFAULT_EPOCHS['digits']} "
                           f"for digits, {DEFAULT_EPOCHS['mnist']} for mnist)")
    demo.add_argument("--out", type=Path, default=Path("."), metavar="DIR",
                      help="folder the PNG figures are written to, created if "
                           "missing (default: the current folder)")
    demo.add_argument("--n-samples", type=_positive_int, default=None, metavar="N",
                      help="use a random subset of N images of the data set "
                           "(at least 50), for quick runs (default: all)")
    demo.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                      help="torch CPU threads (default: 1 for digits, whose small "
                           "network runs fastest on one; torch's default for mnist)")
    demo.add_argument("--random-state", type=_int_at_least(0), default=0, metavar="N",
                      help="seed of the data split and of the model (default: 0)")
    # For errors found after parsing, in the same form as argparse's own.
    demo.set_defaults(parser=demo)
    return parser


def _out_problem(out):
    """Why the figures cannot be written to the folder ``out``, or None.

    Creates ``out`` if it is missing. Checked before training, so that a
    bad ``--out`` costs no training time.
    """
    for folder in (out, *out.parents):
        if folder.exists():
            if not folder.is_dir():
                return f"{folder} is a file, not a folder"
            break
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create the folder ({exc.strerror or exc})"
    try:
        # Permissions alone do not tell (root, read-only mounts, ACLs).
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        return f"cannot write to the folder ({exc.strerror or exc})"
    return None


def _resolved_choices(vae):
    """``(name, value)`` rows of what the fit resolved the demo's model to."""
    weight = vae.net_.criterion_.neighbor_weight
    source = f"neighbor_weight={vae.neighbor_weight!r}"
    return [
        ("architecture_", vae.architecture_),
        ("likelihood_", vae.likelihood_),
        ("n_components_", str(vae.n_components_)),
        ("neighbor loss weight", f"{weight:.3g} ({source})"),
        ("learning rate", f"{vae.net_.lr:.3g} (lr={vae.lr!r})"),
        ("weight decay", f"{vae.net_.optimizer_.param_groups[0]['weight_decay']:.3g} "
                         f"(weight_decay={vae.weight_decay!r})"),
        ("device_", str(vae.device_)),
    ]


def _load_data(args):
    """Return ``(X, y, description)`` with X as (n, H, W) floats in [0, 1]."""
    import numpy as np

    if args.dataset == "digits":
        from sklearn.datasets import load_digits

        data = load_digits()
        X = (data.images / 16.0).astype(np.float32)
        return X, data.target, "scikit-learn digits (8x8)"

    from .datasets import load_mnist

    if args.data_home is not None and not Path(args.data_home).expanduser().is_dir():
        raise _UsageError(f"skvae demo: error: --data-home {args.data_home}: no such folder")
    try:
        X, y = load_mnist("test", data_home=args.data_home, download=args.download,
                          return_X_y=True)
    except FileNotFoundError as exc:
        where = args.data_home or "scikit-learn's data home"
        hint = "" if args.download else ", or add --download to fetch them"
        raise _UsageError(
            f"skvae demo: error: MNIST test files (t10k-images-idx3-ubyte.gz, "
            f"t10k-labels-idx1-ubyte.gz) not found in {where}; pass --data-home DIR "
            f"holding them{hint}"
        ) from exc
    except (ValueError, OSError) as exc:  # malformed files; a file where a folder belongs
        raise _UsageError(f"skvae demo: error: cannot read MNIST: {exc}") from exc
    return X, y, "MNIST test split (28x28)"


def _figures_of_merit(model, X_train, y_train, X_test, y_test):
    """Reconstruction MSE on the test set and kNN-5 accuracy of the codes."""
    import numpy as np
    from sklearn.neighbors import KNeighborsClassifier

    Z_train, Z_test = model.transform(X_train), model.transform(X_test)
    recon = np.asarray(model.inverse_transform(Z_test)).reshape(len(X_test), -1)
    mse = float(np.mean((X_test.reshape(len(X_test), -1) - recon) ** 2))
    knn = KNeighborsClassifier(n_neighbors=5).fit(Z_train, y_train)
    return mse, knn.score(Z_test, y_test)


def _save(fig, path):
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=100)
    plt.close(fig)


def _demo(args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import torch
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split

    from . import VAETransformer
    from .plotting import (plot_history, plot_latent_space, plot_manifold,
                           plot_reconstructions, plot_samples)

    if args.n_samples is not None and args.n_samples < 50:
        raise _UsageError(f"skvae demo: error: --n-samples must be at least 50; "
                          f"got {args.n_samples}")
    X, y, description = _load_data(args)
    n_features = int(np.prod(X.shape[1:]))
    if args.latent_dim > n_features:
        raise _UsageError(f"skvae demo: error: --latent-dim {args.latent_dim} exceeds "
                          f"the {n_features} pixels of an image")
    out = args.out.expanduser()
    problem = _out_problem(out)
    if problem is not None:
        args.parser.error(f"--out {out}: {problem}")

    if args.n_samples is not None and args.n_samples < len(X):
        keep = np.random.RandomState(args.random_state).permutation(len(X))
        X, y = X[keep[:args.n_samples]], y[keep[:args.n_samples]]
    stratify = y if np.unique(y, return_counts=True)[1].min() >= 2 else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE[args.dataset], stratify=stratify,
        random_state=args.random_state)
    epochs = args.epochs or DEFAULT_EPOCHS[args.dataset]

    vae = VAETransformer(n_components=args.latent_dim, max_epochs=epochs, verbose=1,
                         random_state=args.random_state, **MODEL_PARAMS[args.dataset])
    print(f"Training a VAE (n_components={args.latent_dim}) on {len(X_train)} images "
          f"of {description} for {epochs} epoch{'s' * (epochs != 1)}; "
          f"{len(X_test)} held out.",
          flush=True)
    threads = args.threads or DEFAULT_THREADS[args.dataset]
    saved_threads = torch.get_num_threads()
    start = time.perf_counter()
    try:
        if threads:
            torch.set_num_threads(threads)
        vae.fit(X_train)
    finally:
        torch.set_num_threads(saved_threads)
    seconds = time.perf_counter() - start
    print(f"Trained in {seconds:.1f} s.", flush=True)
    print("\nModel, as the fit resolved it:")
    for name, value in _resolved_choices(vae):
        print(f"  {name:<26}{value}")

    flat_train = X_train.reshape(len(X_train), -1)
    flat_test = X_test.reshape(len(X_test), -1)
    vae_mse, vae_knn = _figures_of_merit(vae, X_train, y_train, X_test, y_test)
    if args.latent_dim <= min(flat_train.shape):
        pca = PCA(n_components=args.latent_dim, random_state=args.random_state)
        pca.fit(flat_train)
        pca_mse, pca_knn = _figures_of_merit(pca, flat_train, y_train, flat_test, y_test)
        pca_mse, pca_knn = f"{pca_mse:.4f}", f"{pca_knn:.3f}"
    else:  # more components than PCA can have
        pca_mse = pca_knn = "-"
    rows = [
        ("test ELBO (nats/image)", f"{vae.score(X_test):.2f}", "-"),
        ("reconstruction MSE", f"{vae_mse:.4f}", pca_mse),
        ("kNN-5 accuracy of codes", f"{vae_knn:.3f}", pca_knn),
    ]
    print(f"\nOn the {len(X_test)} held-out images, "
          f"{args.latent_dim} component(s) each:")
    print(f"  {'':<26}{'VAE':>10}{'PCA':>10}")
    for name, vae_value, pca_value in rows:
        print(f"  {name:<26}{vae_value:>10}{pca_value:>10}")
    print("  (PCA has no ELBO: its score() is a Gaussian log-likelihood, not "
          "comparable.)")

    _save(plot_latent_space(vae, X_test, y_test).figure, out / "latent.png")
    _save(plot_manifold(vae, n=MANIFOLD_SIZE[args.dataset]).figure, out / "manifold.png")
    _save(plot_samples(vae, n=64, random_state=args.random_state), out / "samples.png")
    _save(plot_reconstructions(vae, X_test, n=10), out / "reconstructions.png")
    _save(plot_history(vae).figure, out / "history.png")
    plt.close("all")
    print(f"\nFigures written to {out}: {', '.join(FIGURES)}")
    return 0


def main(argv=None):
    """Run the ``skvae`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 2 for a bad command line or missing data.

    Examples
    --------
    >>> from skvae._cli import main
    >>> main(["demo", "--epochs", "2", "--out", "figures"])  # doctest: +SKIP
    0
    """
    parser = _build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help and --version print, then exit
            return exc.code if isinstance(exc.code, int) else 0
        if args.command is None:
            raise _UsageError("skvae: error: missing command; try 'skvae demo' "
                              "(see 'skvae --help')")
        return _demo(args)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
