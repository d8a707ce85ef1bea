"""Shared test data (the digits, the MNIST test split), models fitted on the digits, skip rules."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from skvae import VAETransformer

#: The genuine MNIST test split, beside the project root unless overridden.
MNIST_DIR = Path(
    os.environ.get("SKVAE_MNIST_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")
)


#: The files of the MNIST test split.
MNIST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

HAVE_MNIST = all((MNIST_DIR / name).is_file() for name in MNIST_FILES)
_NO_MNIST = f"MNIST test split not found in {MNIST_DIR} (set SKVAE_MNIST_DIR)"

#: The one skip rule of every test that reads MNIST.
requires_mnist = pytest.mark.skipif(not HAVE_MNIST, reason=_NO_MNIST)

#: The one skip rule of every test that needs a CUDA device.
requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


#: A network that trains in a fraction of a second: for tests of behaviour.
TINY = dict(channels=(4,), hidden_dim=8, max_epochs=1, batch_size=16, random_state=0)
#: A short run of the default network.
FAST = dict(max_epochs=2, batch_size=64, random_state=0)


@pytest.fixture(scope="session")
def images_30():
    """30 random 6x6 images in [0, 1]."""
    return np.random.default_rng(0).random((30, 6, 6), dtype=np.float32)


@pytest.fixture(scope="session")
def fitted_30(images_30):
    """A TINY model of ``images_30``; tests must not change it."""
    from skvae import VAETransformer

    return VAETransformer(**TINY).fit(images_30)


@pytest.fixture(scope="session")
def digits():
    """Digits as (1797, 8, 8) images in [0, 1], and their labels."""
    data = load_digits()
    return (data.images / 16.0).astype(np.float32), data.target


@pytest.fixture(scope="session")
def mnist():
    """The 10,000 MNIST test images as (n, 28, 28) floats in [0, 1], and labels."""
    if not HAVE_MNIST:
        pytest.skip(_NO_MNIST)
    from skvae.datasets import load_mnist

    return load_mnist("test", data_home=MNIST_DIR, download=False, return_X_y=True)


@pytest.fixture(scope="session")
def fitted_digits(digits):
    """A small model fitted on the digits as (n, 8, 8) images."""
    X, _ = digits
    return VAETransformer(n_components=2, max_epochs=5, batch_size=64, random_state=0).fit(X)


@pytest.fixture(scope="session")
def model_and_held_out(digits):
    """A plain 4-component VAE fitted on the first 1,000 digits, and 300 digits it has not seen."""
    X, _ = digits
    vae = VAETransformer(n_components=4, max_epochs=20, batch_size=64, lr=3e-3,
                         lr_schedule="constant", neighbor_weight=0, random_state=0)
    return vae.fit(X[:1000]), X[1000:1300]
