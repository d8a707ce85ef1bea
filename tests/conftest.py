"""Shared test data: scikit-learn's digits and the shared MNIST test split."""

import os
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

#: The genuine MNIST test split, beside the project root unless overridden.
MNIST_DIR = Path(
    os.environ.get("SKVAE_MNIST_DIR", Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")
)


@pytest.fixture(scope="session")
def digits():
    """Digits as (1797, 8, 8) images in [0, 1], and their labels."""
    data = load_digits()
    return (data.images / 16.0).astype(np.float32), data.target


@pytest.fixture(scope="session")
def mnist():
    """The 10,000 MNIST test images as (n, 28, 28) floats in [0, 1], and labels."""
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"MNIST test split not found in {MNIST_DIR} (set SKVAE_MNIST_DIR)")
    from skvae.datasets import load_mnist

    return load_mnist("test", data_home=MNIST_DIR, download=False, return_X_y=True)
