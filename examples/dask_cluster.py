"""
A grid search and inference on a Dask cluster, against one process
==================================================================

Starts a ``distributed.LocalCluster`` of single-threaded worker processes
on this machine (under :func:`skvae.dask.torch_worker_config`, without which
Dask's workers run torch at half speed) and runs two jobs twice, in this
process and on the cluster, then prints and draws both times:

1. ``GridSearchCV`` over ``n_components`` (scored by the VAE's own held-out
   ELBO), on the cluster through joblib's Dask backend. With a fixed
   ``random_state`` both runs find the same scores.
2. Encoding the images as a dask array chunked along the images, with
   :func:`skvae.dask.transform` (the model travels to each worker once),
   against ``vae.transform`` on the in-memory array. The codes agree.

The same code runs on a real cluster: ``--scheduler ADDRESS`` connects to
a running one instead. On a machine with several GPUs, replace the
``LocalCluster`` by ``dask_cuda.LocalCUDACluster()`` (one worker per GPU;
each fit then runs on its worker's GPU with ``device="auto"``). Needs
``pip install "skvae[dask]"``.

The documentation builds this page with small settings: two workers, a grid
of two sizes over scikit-learn's 8x8 digits, or over the first 2,000 MNIST
test images when the environment variable ``SKVAE_MNIST_DIR`` names a folder
holding the MNIST test split. So little work barely pays for shipping it to
the workers: the speed-ups below say more about the overheads than about
Dask. A run with enough work to measure (the figures of
:doc:`/benchmarks`)::

    python examples/dask_cluster.py --dataset mnist --n-samples 4000 \\
        --latent-dims 2 4 8 16 --chunk-size 1000
"""

import contextlib
import os
import time
import warnings

import joblib
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

import dask.array as da
from distributed import Client, LocalCluster
from skvae import VAETransformer
from skvae import dask as skvae_dask
from skvae.datasets import load_mnist

# What the documentation build runs; as a script, ``--epochs 1`` or
# ``--scheduler ADDRESS`` change them (DATASET: "mnist" or "digits").
DATASET = "mnist" if os.environ.get("SKVAE_MNIST_DIR") else "digits"
N_SAMPLES = None      # None: all digits, the first 2,000 MNIST images
EPOCHS = 2            # training epochs of every fit
LATENT_DIMS = [2, 8]  # the grid of n_components
CV = 2                # cross-validation folds
N_WORKERS = 2         # worker processes of the local cluster, 1 thread each
SCHEDULER = None      # address of a running scheduler to use instead
CHUNK_SIZE = 500      # images per block of the dask array
RANDOM_STATE = 0

# sphinx_gallery_start_ignore
# Run as a script, ``--name value`` replaces a setting above
# (``--n-samples 500`` sets N_SAMPLES); see _settings.py.
from _settings import override  # noqa: E402

override(globals())
# sphinx_gallery_end_ignore

# %%
# Dask starts each worker as a new Python process, which imports this
# script again (Python's multiprocessing "spawn"), so the work below runs
# only ``if __name__ == "__main__"``: in the process you started. The
# definitions above are cheap to repeat.


def timed(function):
    """``function()``'s result and its wall-clock time in seconds."""
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def warm_up():
    """One tiny fit, so that torch's one-off lazy set-up is not timed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a model this small collapses
        X = np.zeros((8, 8, 8), dtype=np.float32)
        VAETransformer(max_epochs=1).fit(X)


# %%
# The data and the search
# -----------------------
if __name__ == "__main__":
    if DATASET == "mnist":  # (n, 28, 28)
        X, _ = load_mnist("test", return_X_y=True,
                          data_home=os.environ.get("SKVAE_MNIST_DIR"))
        X, name = X[:N_SAMPLES or 2000], "MNIST"
    else:  # (n, 8, 8)
        X = (load_digits().images / 16).astype(np.float32)[:N_SAMPLES]
        name = "8x8 digit"
    # neighbor_weight=0: every size trains on the ELBO alone, so that
    # their scores compare (see the model-selection guide).
    vae = VAETransformer(max_epochs=EPOCHS, neighbor_weight=0,
                         random_state=RANDOM_STATE)
    # refit=False: the refit on all of X runs in this process either way.
    search = GridSearchCV(vae, {"n_components": LATENT_DIMS}, cv=CV,
                          refit=False)
    print(f"{len(LATENT_DIMS) * CV} fits of {EPOCHS} epoch(s) on "
          f"{len(X) - len(X) // CV} {name} images; this process uses "
          f"{torch.get_num_threads()} torch thread(s).")

# %%
# In this process
# ---------------
if __name__ == "__main__":
    warm_up()
    local, local_time = timed(lambda: search.fit(X).cv_results_)
    best = LATENT_DIMS[int(np.argmin(local["rank_test_score"]))]
    model = vae.set_params(n_components=best).fit(X)
    Z, encode_time = timed(lambda: model.transform(X))

# %%
# On the cluster
# --------------
# The images go to the cluster once, ahead of the encoding job and outside
# its time (like loading them into this process): embedded in its task
# graph they would travel with the graph, which Dask warns about past
# 10 MB. They land on one worker, and the rechunk spreads them. Data on
# storage the workers can read would be loaded there instead, e.g. with
# ``da.from_zarr``.
if __name__ == "__main__":
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        with skvae_dask.torch_worker_config():
            cluster = SCHEDULER or stack.enter_context(LocalCluster(
                n_workers=N_WORKERS, threads_per_worker=1, processes=True,
                dashboard_address=None, host="127.0.0.1"))
        client = stack.enter_context(Client(cluster))
        # Start-up (each worker imports torch and skvae) is not timed.
        client.run(warm_up)
        n_workers = len(client.nthreads())
        print(f"Cluster of {n_workers} workers ready in "
              f"{time.perf_counter() - start:.1f} s.")
        with joblib.parallel_backend("dask"):
            remote, remote_time = timed(
                lambda: search.set_params(n_jobs=-1).fit(X).cv_results_)
        images = da.from_delayed(client.scatter(X), X.shape, X.dtype)
        images = images.rechunk((CHUNK_SIZE, *X.shape[1:]))
        Z_dask, dask_time = timed(
            lambda: skvae_dask.transform(model, images).compute())

# %%
# Same results, and the times
# ---------------------------
if __name__ == "__main__":
    print("GridSearchCV, mean held-out ELBO (nats per image):")
    for dim, one, many in zip(LATENT_DIMS, local["mean_test_score"],
                              remote["mean_test_score"]):
        print(f"  n_components={dim:<3d} one process {one:9.3f}   "
              f"cluster {many:9.3f}")
    same = np.allclose(local["mean_test_score"], remote["mean_test_score"],
                       rtol=1e-5)
    print(f"Same scores: {same}; best n_components: {best}")
    print(f"Codes of {len(X)} images in blocks of {CHUNK_SIZE}: max "
          "difference from the in-memory transform "
          f"{np.abs(Z_dask - Z).max():.1e}")
    for job, serial, parallel in [("Grid search", local_time, remote_time),
                                  ("Encoding   ", encode_time, dask_time)]:
        print(f"{job}: one process {serial:.2f} s, {n_workers} workers "
              f"{parallel:.2f} s, speed-up {serial / parallel:.3g}x")

    fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
    jobs = ["grid search", "encoding"]
    heights = np.arange(len(jobs))
    ax.barh(heights + 0.2, [local_time, encode_time], height=0.4,
            label="one process")
    ax.barh(heights - 0.2, [remote_time, dask_time], height=0.4,
            label=f"{n_workers} Dask workers")
    ax.set_yticks(heights, jobs)
    ax.invert_yaxis()
    ax.set_xlabel("wall-clock time (s)")
    ax.legend()
    plt.show()
