"""skvae._data: training data as datasets and batches, in memory or memory-mapped."""

import tracemalloc

import numpy as np
import pytest
import torch

from conftest import TINY
from skvae import VAETransformer
from skvae._data import IndexBatches, MemmapDataset, TensorDataset, is_memory_mapped


def test_no_training_batch_of_one():
    data = TensorDataset(torch.zeros(33, 2))
    train = IndexBatches(data, 16, shuffle=True, transfer=lambda x: x)
    assert sorted(len(b[0]) for b in train) == [16, 17] and len(train) == 2
    # Evaluation keeps the natural batches: no gradient statistics there.
    valid = IndexBatches(data, 16, shuffle=False, transfer=lambda x: x)
    assert [len(b[0]) for b in valid] == [16, 16, 1] and len(valid) == 3


def test_compiled_training_has_one_batch_shape():
    data = TensorDataset(torch.zeros(40, 2))
    batches = IndexBatches(data, 16, shuffle=True, transfer=lambda x: x, drop_ragged=True)
    assert [len(b[0]) for b in batches] == [16, 16] and len(batches) == 2
    few = IndexBatches(TensorDataset(torch.zeros(5, 2)), 16, True, lambda x: x, drop_ragged=True)
    assert [len(b[0]) for b in few] == [5] and len(few) == 1


def test_fewer_samples_than_batch_size_and_single_sample(images_30):
    vae = VAETransformer(**{**TINY, "batch_size": 256}).fit(images_30[:3])
    assert vae.transform(images_30[:1]).shape == (1, 2)
    assert vae.score_samples(images_30[:1]).shape == (1,)
    one = VAETransformer(**TINY).fit(images_30[:1])
    assert np.all(np.isfinite(one.transform(images_30)))


# -- memory-mapped training data ---------------------------------------------------
def _memmap(path, X):
    """``X`` saved to ``path`` and loaded back memory-mapped, read-only."""
    np.save(path, X)
    return np.load(path, mmap_mode="r")


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_fit_on_a_memmap_matches_fit_in_memory(tmp_path, dtype):
    X = (np.random.default_rng(0).random((40, 6, 6)) > 0.5).astype(dtype)
    mapped = _memmap(tmp_path / "X.npy", X)
    in_memory = VAETransformer(**TINY).fit(X)
    streamed = VAETransformer(**TINY).fit(mapped)
    # Same seed, same shuffles on the CPU: the same model, batch for batch.
    np.testing.assert_array_equal(streamed.transform(X), in_memory.transform(X))
    np.testing.assert_array_equal(streamed.net_.history[:, "train_loss"],
                                  in_memory.net_.history[:, "train_loss"])


def test_memmap_training_reads_batches_from_the_map(tmp_path):
    X = _memmap(tmp_path / "X.npy", np.zeros((33, 4), dtype=np.uint8))
    assert is_memory_mapped(X) and is_memory_mapped(np.asarray(X).reshape(33, 2, 2))
    assert not is_memory_mapped(np.zeros(3)) and not is_memory_mapped([1.0])
    net = VAETransformer(**TINY).fit(X).net_
    dataset = net.get_dataset(np.asarray(X))
    assert isinstance(dataset, MemmapDataset) and dataset.X.base is not None
    batch, _ = next(iter(net.get_iterator(dataset, training=True)))
    assert batch.x.dtype == torch.float32 and batch.x.shape == (16, 4)


def test_gaussian_and_conditional_models_train_on_uint8_memmaps(tmp_path):
    rng = np.random.default_rng(0)
    pixels = _memmap(tmp_path / "pixels.npy", rng.integers(0, 256, (30, 6, 6), dtype=np.uint8))
    vae = VAETransformer(likelihood="gaussian", **TINY).fit(pixels)
    assert np.all(np.isfinite(vae.score_samples(pixels)))
    binary = _memmap(tmp_path / "binary.npy", (np.asarray(pixels) > 127).astype(np.uint8))
    y = np.arange(30) % 3
    cvae = VAETransformer(conditional=True, early_stopping=True, **TINY).fit(binary, y)
    assert cvae.sample(2, y=1, random_state=0).shape == (2, 6, 6)


def test_bernoulli_rejects_an_8_bit_memmap_with_the_usual_hint(tmp_path):
    pixels = _memmap(tmp_path / "pixels.npy", np.full((10, 6, 6), 255, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"ranges from 255 to 255.*divide 8-bit images by 255"):
        VAETransformer(likelihood="bernoulli", **TINY).fit(pixels)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_fit_on_a_memmap_larger_than_its_memory_budget(tmp_path, dtype):
    n, side = 60_000, 12
    X = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=dtype,
                                  shape=(n, side, side))
    for start in range(0, n, 10_000):
        X[start:start + 10_000] = np.random.default_rng(start).random(
            (10_000, side, side)) > 0.5
    X.flush()
    del X
    X = np.load(tmp_path / "big.npy", mmap_mode="r")
    budget = 2_000_000
    assert X.nbytes > 4 * budget  # 8.6 MB as uint8, 35 MB as float32
    # Training batches only: the neighbor graph (n_components=2's default)
    # holds a few dozen numbers per row, and the "gmm" sampler a code per
    # row (see test_neighbors and test_codes).
    params = {**TINY, "batch_size": 500, "neighbor_weight": 0, "sampler": "prior"}
    # A first fit imports what torch loads lazily, which is no part of the bound.
    VAETransformer(**params).fit(X[:100])
    tracemalloc.start()
    try:
        vae = VAETransformer(**params).fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A few batches (0.3 MB each as float32) and the 1,024 rows the code
    # statistics are estimated on (0.6 MB), never a copy of X.
    assert peak < budget
    assert vae.net_.history[-1, "train_batch_count"] == 120
    assert np.isfinite(vae.net_.history[-1, "train_loss"])
