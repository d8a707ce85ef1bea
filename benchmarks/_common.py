"""Shared pieces of skvae's benchmarks: data, the plain PyTorch port, metrics.

Plain PyTorch and scikit-learn only (no skvae internals), so the reference
numbers do not move when skvae changes; umap-learn where it is installed.
"""

import argparse
import ast
import functools
import importlib.util
import os
import platform
import time
from pathlib import Path

import numpy as np
import sklearn
import skorch
import torch
from torch import nn
from torch.nn import functional as F

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_HOME = os.environ.get(
    "SKVAE_MNIST_DIR", str(REPO_ROOT.parent / "shared" / "data" / "mnist")
)


def add_common_args(parser: argparse.ArgumentParser, *, epochs):
    parser.add_argument("--data-home", default=DEFAULT_DATA_HOME,
                        help="folder with t10k-images-idx3-ubyte.gz "
                             "(default: $SKVAE_MNIST_DIR or ../shared/data/mnist)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    # "auto" only where the estimator trains every model and resolves it.
    auto = epochs == "auto"
    parser.add_argument("--epochs", type=epochs_arg if auto else positive_int, default=epochs,
                        help="training epochs" + (", or auto: the estimator's max_epochs='auto'"
                                                  if auto else "") + f" (default: {epochs})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="torch threads for every model (default: torch's, one per core)")
    return parser


#: The estimator parameters the benchmarks set from their own options.
SET_BY_OPTIONS = {"max_epochs": "--epochs", "device": "--device", "random_state": "--seed",
                  "n_components": "--latent-dims or --n-components"}


def add_estimator_args(parser):
    """``--set NAME=VALUE``: parameters of the skvae models other than their defaults."""
    parser.add_argument("--set", dest="estimator_params", action="append", default=[],
                        type=estimator_param, metavar="NAME=VALUE",
                        help="a VAETransformer parameter for the skvae models, e.g. "
                             "--set weight_decay=0.1 (repeatable; the value is read as a "
                             "Python literal, else as a string)")
    return parser


def estimator_param(text):
    """An argparse type: ``NAME=VALUE``, a parameter of ``VAETransformer``, as a pair."""
    from skvae import VAETransformer

    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE; got {text!r}")
    if name not in VAETransformer().get_params():
        raise argparse.ArgumentTypeError(f"{name!r} is not a VAETransformer parameter")
    if name in SET_BY_OPTIONS:
        raise argparse.ArgumentTypeError(
            f"{name!r} is set by the benchmark's own options; use {SET_BY_OPTIONS[name]}")
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass
    return name, value


def print_estimator_params(params):
    """Say which ``--set`` parameters the skvae models train with, if any."""
    if params:
        print("skvae models with " + ", ".join(f"{k}={v!r}" for k, v in params.items()))


def model_names(parser, text, choices):
    """The models ``--models`` names, in order and once each; an unknown one is an error."""
    names = list(dict.fromkeys(text.split(",")))
    unknown = set(names) - set(choices)
    if unknown:
        parser.error(f"--models: unknown model(s) {', '.join(sorted(unknown))}; "
                     f"choose from {', '.join(choices)}")
    return names


def without_missing_umap(names):
    """``names`` without "umap" if umap-learn is not installed, saying so."""
    if "umap" in names and importlib.util.find_spec("umap") is None:
        print("UMAP: umap-learn is not installed (pip install umap-learn); skipped")
        return [name for name in names if name != "umap"]
    return names


@functools.cache
def warm_up_umap():
    """Compile UMAP's numba functions on random rows, so no timed fit pays for it.

    Call it just before the first UMAP fit, not at start: the 2-D map's
    training amplifies the smallest numeric differences, and its results
    move (within the spread of the seeds) in a process that has run
    umap-learn's compiled code first. Models that run before UMAP's first
    fit therefore come out as they would without UMAP.
    """
    import umap

    rng = np.random.RandomState(0)
    # Enough rows for the approximate neighbor search (pynndescent) that
    # umap-learn uses from 4,096 rows on, as well as for the exact one.
    for n in (200, 5000):
        umap.UMAP(n_epochs=10, random_state=0).fit(rng.rand(n, 8)).transform(rng.rand(20, 8))


def positive_int(text):
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return value


def epochs_arg(text):
    """An argparse type: "auto" or an integer of at least 1."""
    if text == "auto":
        return text
    try:
        return positive_int(text)
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"expected auto or an integer of at least 1; got {text!r}") from None


def describe_epochs(epochs):
    """``--epochs`` as the runs' header line says it."""
    return "max_epochs='auto'" if epochs == "auto" else f"{epochs} epochs"


def apply_common_args(args):
    """Check that the device exists and set the torch thread count."""
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda was asked for but CUDA is not available")
    if args.threads is not None:
        torch.set_num_threads(args.threads)


def header(device):
    # The thread count on CUDA too: the data loading and the Python side of
    # each step run on the CPU.
    chip = (torch.cuda.get_device_name(0) if device == "cuda"
            else platform.processor() or platform.machine())
    where = f"{chip}, {torch.get_num_threads()} torch threads"
    return (f"device: {device} ({where}) | torch {torch.__version__} | "
            f"sklearn {sklearn.__version__} | skorch {skorch.__version__}")


def load_mnist_test(data_home):
    """The 10,000 MNIST test images, float32 (n, 28, 28) in [0, 1], and labels."""
    from skvae.datasets import load_mnist

    return load_mnist("test", data_home=data_home, download=False, return_X_y=True)


def sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


# -- the tutorial's network, ported to plain PyTorch (bugs fixed) -------------
class TutorialVAE(nn.Module):
    """The Keras tutorial's conv VAE for 28x28 images, in plain PyTorch.

    Fixed with respect to the tutorial: the decoder outputs logits (the
    likelihood applies the sigmoid), std = exp(log_var / 2), and the loss
    is the full ELBO (summed binary cross-entropy plus KL).
    """

    def __init__(self, latent_dim=2):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, 32), nn.ReLU(),
        )
        self.mu = nn.Linear(32, latent_dim)
        self.log_var = nn.Linear(32, latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 32), nn.ReLU(),
            nn.Linear(32, 32 * 7 * 7), nn.ReLU(),
            nn.Unflatten(1, (32, 7, 7)),
            nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.Conv2d(16, 1, 3, padding=1),
        )

    def encode(self, x):
        h = self.encoder(x.unsqueeze(1) if x.dim() == 3 else x)
        return self.mu(h), self.log_var(h)

    def decode(self, z):
        return self.decoder(z)  # logits, (n, 1, 28, 28)

    def forward(self, x, eps=None):
        x = x.unsqueeze(1) if x.dim() == 3 else x
        mu, log_var = self.encode(x)
        eps = torch.randn_like(mu) if eps is None else eps
        z = mu + torch.exp(0.5 * log_var) * eps
        logits = self.decode(z)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
        kl = 0.5 * (mu.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)
        return rec, kl


def train_plain_port(X, latent_dim, epochs, *, batch_size=256, lr=1e-3, seed=0,
                     device="cpu"):
    """The hand-written loop: Adam, shuffled batches by index, mean -ELBO loss."""
    torch.manual_seed(seed)
    model = TutorialVAE(latent_dim).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
    n = len(Xt)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(n, device=device).split(batch_size):
            rec, kl = model(Xt[idx])
            loss = (rec + kl).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    sync(device)
    return model


@torch.inference_mode()
def plain_port_metrics(model, X, device="cpu", batch_size=1024):
    """Codes (posterior means), reconstructions and per-sample -ELBO."""
    model.eval()
    gen = torch.Generator().manual_seed(0)
    codes, recons, nelbo = [], [], []
    for start in range(0, len(X), batch_size):
        xb = torch.as_tensor(X[start:start + batch_size], dtype=torch.float32, device=device)
        mu, log_var = model.encode(xb.unsqueeze(1))
        codes.append(mu.cpu())
        recons.append(torch.sigmoid(model.decode(mu)).reshape(xb.shape).cpu())
        eps = torch.randn(mu.shape, generator=gen).to(device)
        rec, kl = model(xb, eps=eps)
        nelbo.append((rec + kl).double().cpu())
    return torch.cat(codes).numpy(), torch.cat(recons).numpy(), torch.cat(nelbo).numpy()


def knn_accuracy(Z_train, y_train, Z_test, y_test, k=5):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=k).fit(Z_train, y_train).score(Z_test, y_test)


def recon_mse(X_rec, X):
    return float(np.mean((np.asarray(X_rec, dtype=np.float64).reshape(X.shape) - X) ** 2))


class Timer:
    def __init__(self, device="cpu"):
        self.device = device

    def __enter__(self):
        sync(self.device)
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        sync(self.device)
        self.seconds = time.perf_counter() - self.start
