"""Issue 8 without Dask: training on data larger than memory, small pickles,
torch threads that follow the Dask worker's."""

import os
import pickle
import subprocess
import sys
import tracemalloc
import types

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from skvae import VAETransformer
from skvae.net import MemmapDataset, is_memory_mapped

TINY = dict(channels=(4,), hidden_dim=8, max_epochs=1, batch_size=16, random_state=0)


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
    assert batch.dtype == torch.float32 and batch.shape == (16, 4)


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
    with pytest.raises(ValueError, match=r"ranges from 0 to 255.*divide 8-bit images by 255"):
        VAETransformer(**TINY).fit(pixels)


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
    params = {**TINY, "batch_size": 500}
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


# -- small pickles ---------------------------------------------------------------
def _weight_bytes(vae):
    return sum(p.numel() * p.element_size() for p in vae.net_.module_.parameters())


def test_pickle_is_about_the_size_of_the_weights():
    X = np.random.default_rng(0).random((64, 12, 12), dtype=np.float32)
    vae = VAETransformer(channels=(8, 16), max_epochs=2, random_state=0).fit(X)
    weights = _weight_bytes(vae)
    assert weights > 100_000
    size = len(pickle.dumps(vae))
    assert size < 1.1 * weights + 50_000, (size, weights)
    restored = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(restored.transform(X), vae.transform(X))
    assert restored.net_.module is restored.net_.module_
    # Training goes on from the restored weights, with a fresh optimizer state.
    assert len(restored.partial_fit(X).net_.history) == 3
    # warm_start keeps the optimizer's state (Adam's two moments) to continue with.
    warm = VAETransformer(channels=(8, 16), max_epochs=2, warm_start=True,
                          random_state=0).fit(X)
    assert len(pickle.dumps(warm)) > 2.5 * weights


# -- without Dask ------------------------------------------------------------------
def test_skvae_works_without_dask():
    # A fresh interpreter in which dask and distributed cannot be imported.
    code = (
        "import sys; sys.modules.update(dask=None, distributed=None)\n"
        "import torch, skvae\n"
        "from skvae.net import dask_worker_threads\n"
        "with dask_worker_threads():\n"
        "    print(torch.get_num_threads())\n"
        "import skvae.dask\n"
    )
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                            text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert result.stdout.strip() == "1"
    assert 'ImportError: skvae.dask needs dask arrays: pip install "skvae[dask]"' in result.stderr


# -- threads of a Dask worker --------------------------------------------------------
class RecordThreads(Callback):
    def initialize(self):
        self.seen = []
        return self

    def on_batch_begin(self, net, **kwargs):
        self.seen.append(torch.get_num_threads())


def test_torch_threads_follow_the_dask_worker_during_fit(monkeypatch):
    worker = types.SimpleNamespace(state=types.SimpleNamespace(nthreads=3))
    fake = types.SimpleNamespace(get_worker=lambda: worker)
    monkeypatch.setitem(sys.modules, "distributed", fake)
    X = np.random.default_rng(0).random((20, 6, 6), dtype=np.float32)
    before = torch.get_num_threads()
    vae = VAETransformer(**{**TINY, "callbacks": [("threads", RecordThreads())]}).fit(X)
    assert set(dict(vae.net_.callbacks_)["threads"].seen) == {3}
    assert torch.get_num_threads() == before


def test_outside_a_dask_worker_torch_threads_are_untouched(monkeypatch):
    def no_worker():
        raise ValueError("No worker found")

    monkeypatch.setitem(sys.modules, "distributed", types.SimpleNamespace(get_worker=no_worker))
    X = np.random.default_rng(0).random((20, 6, 6), dtype=np.float32)
    before = torch.get_num_threads()
    vae = VAETransformer(**{**TINY, "callbacks": [("threads", RecordThreads())]}).fit(X)
    assert set(dict(vae.net_.callbacks_)["threads"].seen) == {before}
