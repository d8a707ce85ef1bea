"""skvae._net: VAENet, the skorch net (bounds, batched inference, threads, optimizer, speed-ups)."""

import functools
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

from conftest import FAST, TINY
from skvae import VAETransformer
from skvae import _net as net_module



# -- bounds ----------------------------------------------------------------------
def test_importance_weighted_bound_rises_above_the_elbo(model_and_held_out):
    vae, X = model_and_held_out
    X = X[:, None]
    elbo = np.mean([vae.net_.log_bound(X, seed=s).mean() for s in range(10)])
    iw = {k: np.mean([vae.net_.log_bound(X, n_importance=k, seed=s).mean() for s in range(3)])
          for k in (10, 200)}
    assert elbo < iw[10] < iw[200]
    # The ELBO is a visibly looser bound than K = 200 samples give.
    assert iw[200] - elbo > 0.2


def test_many_importance_samples_are_batched_exactly(model_and_held_out, monkeypatch):
    vae, X = model_and_held_out
    X = X[:5, None]
    whole = vae.net_.log_bound(X, n_importance=300)
    # A small budget splits both the rows and the 300 samples into chunks.
    monkeypatch.setitem(net_module.INFERENCE_BATCH_SIZE, "cpu", 64)
    np.testing.assert_allclose(vae.net_.log_bound(X, n_importance=300), whole, atol=1e-5)


# -- inference streams in batches --------------------------------------------------
def test_large_memmap_streams_in_batches(tmp_path, fitted_30, monkeypatch):
    n = 20_000
    X = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.float32,
                                  shape=(n, 6, 6))
    X[:] = 0.5
    X.flush()
    X = np.load(tmp_path / "big.npy", mmap_mode="r")
    monkeypatch.setitem(net_module.INFERENCE_BATCH_SIZE, "cpu", 1000)
    seen = []
    encoder = fitted_30.net_.module_.encoder
    hook = encoder.register_forward_pre_hook(lambda mod, args: seen.append(len(args[0])))
    try:
        tracemalloc.start()
        Z = fitted_30.transform(X)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        hook.remove()
    assert Z.shape == (n, 2)
    assert max(seen) == 1000 and sum(seen) == n
    # X is 2.9 MB; the codes take 0.16 MB. Streaming never holds a copy of X.
    assert peak < X.nbytes / 2


# -- training ---------------------------------------------------------------------
def test_history_records_every_batch_and_the_epoch_mean(digits):
    X, _ = digits
    vae = VAETransformer(max_epochs=2, batch_size=500, random_state=0).fit(X)
    batches = vae.net_.history[-1, "batches"]
    assert [b["train_batch_size"] for b in batches] == [500, 500, 500, 297]
    losses = [b["train_loss"] for b in batches]
    assert len(set(losses)) == 4
    assert vae.net_.history[-1, "train_loss"] == pytest.approx(
        np.average(losses, weights=[500, 500, 500, 297]))


fused_cpu_adam = pytest.mark.skipif(
    tuple(int(p) for p in torch.__version__.split(".")[:2]) < (2, 4),
    reason="torch has fused Adam kernels for the CPU from 2.4")


@fused_cpu_adam
def test_adam_runs_fused_unless_told_otherwise(digits):
    X, _ = digits
    fused = VAETransformer(**FAST).fit(X)
    assert fused.net_.optimizer_.defaults["fused"] is True
    # An explicit foreach (which excludes fused) and an optimizer without a
    # fused kernel are built as asked.
    foreach = VAETransformer(optimizer=functools.partial(torch.optim.AdamW, foreach=True),
                             **FAST).fit(X)
    assert not foreach.net_.optimizer_.defaults["fused"]
    assert foreach.net_.optimizer_.defaults["foreach"] is True
    rmsprop = VAETransformer(optimizer=torch.optim.RMSprop, **FAST).fit(X)
    assert isinstance(rmsprop.net_.optimizer_, torch.optim.RMSprop)
    for vae in (fused, foreach, rmsprop):
        assert np.isfinite(vae.score(X))
    # Fused and per-tensor AdamW take the same steps, up to rounding.
    np.testing.assert_allclose(fused.transform(X), foreach.transform(X), atol=1e-3)


def test_accelerations_keep_results_and_pickling(images_30):
    base = VAETransformer(**TINY).fit(images_30)
    fast = VAETransformer(channels_last=True, **TINY).fit(images_30)
    np.testing.assert_allclose(fast.transform(images_30), base.transform(images_30), atol=1e-4)
    assert fast.net_.module_.encoder.body[0].weight.is_contiguous(
        memory_format=torch.channels_last)
    bf16 = VAETransformer(precision="bf16", **TINY).fit(images_30)
    assert np.all(np.isfinite(bf16.score_samples(images_30)))
    np.testing.assert_allclose(bf16.transform(images_30), base.transform(images_30), atol=0.1)


def test_compiled_training_pickles_and_matches_eager_inference(images_30):
    vae = VAETransformer(compile=True, **{**TINY, "batch_size": 8}).fit(images_30)
    # 30 samples in batches of 8: the ragged 6 are left out of each epoch.
    assert vae.net_.history[-1, "train_batch_count"] == 3
    restored = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(restored.transform(images_30), vae.transform(images_30))


# -- without Dask ------------------------------------------------------------------
def test_skvae_works_without_dask():
    # A fresh interpreter in which dask and distributed cannot be imported.
    code = (
        "import sys; sys.modules.update(dask=None, distributed=None)\n"
        "import torch, skvae\n"
        "from skvae._net import dask_worker_threads\n"
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
