"""Issue 8: grid searches and inference on a Dask cluster the tests start themselves."""

import os
import pickle

import numpy as np
import pytest
import torch

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
dask_ml_wrappers = pytest.importorskip("dask_ml.wrappers")

import joblib  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from conftest import TINY  # noqa: E402
from test_examples import run_example  # noqa: E402
from test_net import RecordThreads  # noqa: E402

from skvae import VAETransformer  # noqa: E402
from skvae import dask as skvae_dask  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with skvae_dask.torch_worker_config():
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, host="127.0.0.1")
    with cluster, distributed.Client(cluster) as client:
        yield client


def test_workers_get_the_mmap_threshold_only_from_the_config(client):
    expected = str(skvae_dask.MMAP_THRESHOLD)
    assert set(client.run(os.environ.get, "MALLOC_MMAP_THRESHOLD_").values()) == {expected}
    # Confined to the cluster made under it.
    assert "MALLOC_MMAP_THRESHOLD_" not in dask.config.get("distributed.nanny.pre-spawn-environ")


def test_dask_cluster_example(client):
    # On this module's cluster: starting a second one would double the
    # time, most of it workers importing torch.
    out = run_example("dask_cluster.py", "--dataset", "digits", "--epochs", 1,
                      "--n-samples", 300, "--latent-dims", 2, 3, "--cv", 2,
                      "--chunk-size", 70, "--scheduler", client.scheduler.address)
    assert "4 fits of 1 epoch(s) on 150 8x8 digit images" in out
    assert "Cluster of 2 workers ready" in out
    assert "Same scores: True" in out
    difference = float(out.split("max difference from the in-memory transform ")[1].split()[0])
    assert difference < 1e-5
    for job in ("Grid search", "Encoding"):
        line = next(line for line in out.splitlines() if line.startswith(job))
        assert float(line.split("speed-up ")[1].rstrip("x")) > 0


@pytest.fixture(scope="module")
def images(digits):
    return digits[0][:300]


@pytest.fixture(scope="module")
def fitted(images):
    return VAETransformer(n_components=3, **TINY).fit(images)


def test_grid_search_on_dask_matches_one_process(client, images):
    grid = {"n_components": [2, 3], "lr": [1e-3, 3e-3]}
    search = GridSearchCV(VAETransformer(**TINY), grid, cv=2)
    local = search.fit(images).cv_results_
    with joblib.parallel_backend("dask"):
        distributed_ = GridSearchCV(VAETransformer(**TINY), grid, cv=2, n_jobs=-1).fit(images)
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_allclose(distributed_.cv_results_[key], local[key], rtol=1e-6)
    assert distributed_.best_params_ == search.best_params_


def _threads_in_and_out_of_fit(images):
    """Torch's threads during a fit on a worker thread that asked for two, and after it."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        vae = VAETransformer(**{**TINY, "callbacks": [("threads", RecordThreads())]})
        vae.fit(images)
        return sorted(set(dict(vae.net_.callbacks_)["threads"].seen)), torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


def test_worker_torch_threads_follow_the_worker(client, images):
    during, after = client.submit(_threads_in_and_out_of_fit, images).result()
    assert during == [1]  # the worker's one thread
    assert after == 2  # the setting it found, restored


def test_fitted_model_pickles_small_and_loads_on_workers(client, fitted, images):
    weights = sum(p.numel() * p.element_size() for p in fitted.net_.module_.parameters())
    assert len(pickle.dumps(fitted)) < 1.5 * weights + 50_000
    future = client.scatter(fitted, broadcast=True)
    Z = client.submit(lambda vae, X: vae.transform(X), future, images).result()
    np.testing.assert_allclose(Z, fitted.transform(images), rtol=1e-5, atol=1e-6)


def test_parallel_post_fit_on_a_2d_dask_array(client, images):
    flat = images.reshape(len(images), -1)
    model = dask_ml_wrappers.ParallelPostFit(
        VAETransformer(n_components=3, image_shape=(8, 8), **TINY)).fit(flat[:100])
    X = da.from_array(flat, chunks=(70, 64))
    Z = model.transform(X)
    assert isinstance(Z, da.Array)
    # The lazy array claims X's 64 columns (dask-ml's map_blocks assumes
    # transform keeps the width); the computed one has the codes' 3.
    Z = Z.compute()
    assert Z.shape == (300, 3)
    np.testing.assert_allclose(Z, model.estimator.transform(flat), rtol=1e-5, atol=1e-6)
    assert model.score(X, None) == pytest.approx(model.estimator.score(flat), rel=1e-6)


@pytest.mark.parametrize("layout", ["hw", "chw", "flat-chunked-across-features"])
def test_skvae_dask_matches_in_memory(client, fitted, images, layout):
    data = {"hw": images, "chw": images[:, None],
            "flat-chunked-across-features": images.reshape(300, 64)}[layout]
    vae = fitted if layout != "flat-chunked-across-features" else \
        VAETransformer(n_components=3, image_shape=(8, 8), **TINY).fit(data)
    X = da.from_array(data, chunks=(70, *(max(1, s // 2) for s in data.shape[1:])))
    Z = skvae_dask.transform(vae, X)
    scores = skvae_dask.score_samples(vae, X, n_importance=3)
    assert Z.shape == (300, 3) and Z.dtype == np.float32 and Z.numblocks == (5, 1)
    assert scores.shape == (300,) and scores.dtype == np.float32
    np.testing.assert_allclose(Z.compute(), vae.transform(data), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores.compute(), vae.score_samples(data, n_importance=3),
                               rtol=1e-5)


def test_skvae_dask_puts_the_model_in_the_graph_once(fitted, images):
    X = da.from_array(images, chunks=(30, 8, 8))
    Z = skvae_dask.transform(fitted, X)
    weight = max(fitted.net_.module_.parameters(), key=torch.Tensor.numel)
    needle = weight.detach().numpy().tobytes()
    graph = dict(Z.__dask_graph__())
    holding_the_model = [key for key, task in graph.items() if needle in pickle.dumps(task)]
    assert len(holding_the_model) == 1
    assert len(graph) > 10  # ten blocks, each its own task


def test_skvae_dask_conditional_scores_with_labels(client, digits):
    X, y = digits[0][:200], digits[1][:200]
    vae = VAETransformer(conditional=True, **TINY).fit(X, y)
    scores = skvae_dask.score_samples(vae, da.from_array(X, chunks=50),
                                      da.from_array(y, chunks=80))
    np.testing.assert_allclose(scores.compute(), vae.score_samples(X, y), rtol=1e-5)


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.ones((4, 2, 2, 2, 2)), None, "got a dask array of 5 dimensions"),
        (np.ones((4, 8, 8)), np.ones(3), r"y must have shape \(4,\)"),
    ],
)
def test_skvae_dask_rejects_bad_input(fitted, X, y, message):
    with pytest.raises(ValueError, match=message):
        skvae_dask.score_samples(fitted, da.from_array(X), y)


def test_skvae_dask_needs_a_fitted_model(images):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        skvae_dask.transform(VAETransformer(), da.from_array(images))
