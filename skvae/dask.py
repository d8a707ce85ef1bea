"""Inference over dask arrays, on a Dask cluster or any dask scheduler.

:func:`transform` and :func:`score_samples` apply a fitted
:class:`skvae.VAETransformer` to a dask array of any layout it accepts
(2-D ``(n, n_features)``, or images as 3-D ``(n, H, W)`` or 4-D
``(n, C, H, W)``), block by block along the samples, and return lazy dask
arrays equal to the in-memory calls. The model enters the task graph once,
as a single key that every block's task depends on, so a distributed
scheduler ships it to each worker once rather than inside every block's
task (as ``dask_ml.wrappers.ParallelPostFit`` does); each worker's torch
uses the threads that worker was given.

:func:`torch_worker_config` makes the worker processes of a cluster
started under it train and infer at full speed.

Needs ``dask[array]`` (``pip install "skvae[dask]"``).

Examples
--------
>>> import dask.array as da
>>> from distributed import Client, LocalCluster
>>> from skvae import dask as skvae_dask
>>> with skvae_dask.torch_worker_config():
...     cluster = LocalCluster(n_workers=4, threads_per_worker=1)  # doctest: +SKIP
>>> client = Client(cluster)  # doctest: +SKIP
>>> images = da.from_zarr("images.zarr")  # (n, 28, 28), chunked along n  # doctest: +SKIP
>>> codes = skvae_dask.transform(vae, images).compute()  # doctest: +SKIP
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._layout import check_ndim

try:
    import dask
    import dask.array as da
except ImportError as error:
    raise ImportError(
        "skvae.dask needs dask arrays: pip install \"skvae[dask]\" (or \"dask[array]\")."
    ) from error

__all__ = ["transform", "score_samples", "torch_worker_config"]

#: glibc's mmap threshold, in bytes, that :func:`torch_worker_config` gives
#: Dask worker processes: above any batch-sized tensor, below glibc's 32 MiB cap.
MMAP_THRESHOLD = 16 * 2**20


def torch_worker_config():
    """Dask configuration under which new worker processes run torch at full speed.

    Dask starts its worker processes with ``MALLOC_TRIM_THRESHOLD_=65536``
    so that they hand freed memory back to the system. Setting it also fixes
    glibc's mmap threshold at its 128 KiB minimum, so every tensor larger
    than that (every batch) is a fresh, zero-filled mapping: skvae then
    trains at about half speed. This adds ``MALLOC_MMAP_THRESHOLD_``
    (``MMAP_THRESHOLD``, 16 MiB) to the environment Dask gives the worker
    processes it spawns (``distributed.nanny.pre-spawn-environ``), keeping
    the trimming. Workers started by hand (``dask worker``) take the
    variable from their shell instead.

    Returns
    -------
    config : dask.config.set
        Already in effect; use it as a context manager around the creation
        of a cluster (``LocalCluster``, ``dask_cuda.LocalCUDACluster``) to
        confine it to that cluster.
    """
    return dask.config.set(
        {"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": MMAP_THRESHOLD})


def transform(vae, X):
    """Posterior means of the latent codes of a dask array, block by block.

    Parameters
    ----------
    vae : VAETransformer
        A fitted model.
    X : dask array (or array-like) of shape (n_samples, ...)
        Data in a layout ``vae`` accepts; any chunking (blocks are joined
        along the feature axes, so each task sees whole samples).

    Returns
    -------
    Z : dask array of shape (n_samples, n_components), float32
        Lazy; equal to ``vae.transform(X)``.
    """
    check_is_fitted(vae)
    return _map_samples(_transform, vae, X, None, (vae.n_components_,), np.float32)


def score_samples(vae, X, y=None, n_importance=1):
    """The ELBO (or importance-weighted bound) of each row of a dask array.

    Scores do not depend on how the rows are split into blocks (the model
    uses the same posterior noise for every row), so they equal the
    in-memory :meth:`~skvae.VAETransformer.score_samples`; their mean is
    ``vae.score(X)``.

    Parameters
    ----------
    vae : VAETransformer
        A fitted model.
    X : dask array (or array-like) of shape (n_samples, ...)
        Data in a layout ``vae`` accepts.
    y : dask array (or array-like) of shape (n_samples,), default=None
        Class labels; required by a conditional model, ignored otherwise.
    n_importance : int, default=1
        Number of posterior samples K of the importance-weighted bound.

    Returns
    -------
    log_p : dask array of shape (n_samples,), float32
        Lazy; equal to ``vae.score_samples(X, y, n_importance)``.
    """
    check_is_fitted(vae)
    return _map_samples(_score_samples, vae, X, y, (), np.float32,
                        n_importance=n_importance)


def _map_samples(function, vae, X, y, row_shape, dtype, **kwargs):
    """``function(model, X_block, y_block, **kwargs)`` over the sample blocks of ``X``."""
    X = da.asarray(X)
    check_ndim(X.ndim, "a dask array")
    if np.isnan(X.shape).any():
        raise ValueError("X has unknown chunk sizes; call X.compute_chunk_sizes() first.")
    features = "abc"[:X.ndim - 1]
    extra = ()
    if y is not None:
        y = da.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), one label per row of X; "
                             f"got {y.shape}.")
        extra = (y, "i")
    out = "i" + "z" * len(row_shape)
    return da.blockwise(
        function, out,
        dask.delayed(vae), None,  # one graph key for the model, shared by all blocks
        X, "i" + features,
        *extra,
        new_axes=dict(zip("z", row_shape)),
        concatenate=True,
        dtype=dtype,
        meta=np.empty((0,) * len(out), dtype=dtype),
        **kwargs,
    )


def _transform(vae, X, y=None):
    return vae.transform(X)


def _score_samples(vae, X, y=None, n_importance=1):
    return vae.score_samples(X, y, n_importance=n_importance)
