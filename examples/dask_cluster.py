"""A grid search and inference on a Dask cluster, against one process.

Starts a ``distributed.LocalCluster`` of single-threaded worker processes
on this machine (under :func:`skvae.dask.torch_worker_config`, without which
Dask's workers run torch at half speed) and runs two jobs twice, in this
process and on the cluster, then prints both times and the speed-up:

1. ``GridSearchCV`` over ``n_components`` (scored by the VAE's own held-out
   ELBO), on the cluster through joblib's Dask backend. With a fixed
   ``random_state`` both runs find the same scores.
2. Encoding MNIST as a dask array chunked along the images, with
   :func:`skvae.dask.transform` (the model travels to each worker once),
   against ``vae.transform`` on the in-memory array. The codes agree.

The same code runs on a real cluster: ``--scheduler ADDRESS`` connects to a
running one instead. On a machine with several GPUs, replace the
``LocalCluster`` by ``dask_cuda.LocalCUDACluster()`` (one worker per GPU;
each fit then runs on its worker's GPU with ``device="auto"``).

Data: the 10,000 MNIST test images, from ``--data-home``, else the
environment variable ``SKVAE_MNIST_DIR``, else scikit-learn's data home
(where missing files are downloaded). Needs ``pip install "skvae[dask]"``.

Run it with::

    python examples/dask_cluster.py --data-home ../shared/data/mnist \\
        --n-workers 4 --epochs 5
"""

import argparse
import contextlib
import os
import time
import warnings

import joblib
import numpy as np
import torch
from sklearn.model_selection import GridSearchCV

import dask.array as da
from distributed import Client, LocalCluster
from skvae import VAETransformer
from skvae import dask as skvae_dask
from skvae.datasets import load_mnist


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5,
                        help="training epochs of every fit (default: 5)")
    parser.add_argument("--data-home", default=os.environ.get("SKVAE_MNIST_DIR"),
                        help="folder holding the MNIST t10k files, or a scikit-learn "
                             "data home (default: $SKVAE_MNIST_DIR)")
    parser.add_argument("--n-samples", type=int, default=None,
                        help="use only the first N images, for a quick run")
    parser.add_argument("--n-workers", type=int, default=os.cpu_count(),
                        help="worker processes of the local cluster, one thread each "
                             "(default: one per core)")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running Dask scheduler to use instead of "
                             "starting a local cluster")
    parser.add_argument("--latent-dims", type=int, nargs="+", default=[2, 4, 8, 16],
                        help="latent dimensions to compare (default: 2 4 8 16)")
    parser.add_argument("--cv", type=int, default=3, help="cross-validation folds (default: 3)")
    parser.add_argument("--chunk-size", type=int, default=1000,
                        help="images per block of the dask array (default: 1000)")
    parser.add_argument("--random-state", type=int, default=0)
    return parser.parse_args(argv)


def timed(function):
    """``function()``'s result and its wall-clock time in seconds."""
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def warm_up():
    """One tiny fit, so that torch's one-off lazy set-up is not timed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a model this small collapses
        VAETransformer(max_epochs=1).fit(np.zeros((8, 28, 28), dtype=np.float32))


def report(job, serial, parallel, n_workers):
    print(f"{job}: one process {serial:.1f} s, {n_workers} workers {parallel:.1f} s, "
          f"speed-up {serial / parallel:.2f}x")


def main(argv=None):
    args = parse_args(argv)
    X, _ = load_mnist("test", data_home=args.data_home, return_X_y=True)  # (n, 28, 28)
    X = X[:args.n_samples]
    vae = VAETransformer(max_epochs=args.epochs, random_state=args.random_state)
    # refit=False: the refit on all of X runs in this process either way.
    search = GridSearchCV(vae, {"n_components": args.latent_dims}, cv=args.cv, refit=False)
    print(f"{len(args.latent_dims) * args.cv} fits of {args.epochs} epoch(s) on "
          f"{len(X) - len(X) // args.cv} MNIST images; this process uses "
          f"{torch.get_num_threads()} torch thread(s).")

    warm_up()
    local, local_time = timed(lambda: search.fit(X).cv_results_)
    best = args.latent_dims[int(np.argmin(local["rank_test_score"]))]
    model = vae.set_params(n_components=best).fit(X)
    Z, encode_time = timed(lambda: model.transform(X))

    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        with skvae_dask.torch_worker_config():
            cluster = args.scheduler or stack.enter_context(LocalCluster(
                n_workers=args.n_workers, threads_per_worker=1, processes=True,
                dashboard_address=None, host="127.0.0.1"))
        client = stack.enter_context(Client(cluster))
        # Start-up (each worker imports torch and skvae) is not part of the jobs.
        client.run(warm_up)
        n_workers = len(client.nthreads())
        print(f"Cluster of {n_workers} workers ready in {time.perf_counter() - start:.1f} s.")
        with joblib.parallel_backend("dask"):
            remote, remote_time = timed(lambda: search.set_params(n_jobs=-1).fit(X).cv_results_)
        # The images go to the cluster once, ahead of the job and outside
        # its time (like loading them into this process): embedded in its
        # task graph they would travel with the graph, which Dask warns
        # about past 10 MB. They land on one worker, and the rechunk spreads
        # them. Data on storage the workers can read would be loaded there
        # instead, e.g. with da.from_zarr.
        images = da.from_delayed(client.scatter(X), X.shape, X.dtype).rechunk(
            (args.chunk_size, 28, 28))
        Z_dask, dask_time = timed(lambda: skvae_dask.transform(model, images).compute())

    print("\nGridSearchCV, mean held-out ELBO (nats per image):")
    for dim, one, many in zip(args.latent_dims, local["mean_test_score"],
                              remote["mean_test_score"]):
        print(f"  n_components={dim:<3d} one process {one:9.3f}   cluster {many:9.3f}")
    same = np.allclose(local["mean_test_score"], remote["mean_test_score"], rtol=1e-5)
    print(f"Same scores: {same}; best n_components: {best}")
    print(f"Codes of {len(X)} images in blocks of {args.chunk_size}: max difference "
          f"from the in-memory transform {np.abs(Z_dask - Z).max():.1e}\n")
    report("Grid search", local_time, remote_time, n_workers)
    report("Encoding   ", encode_time, dask_time, n_workers)


if __name__ == "__main__":
    main()
