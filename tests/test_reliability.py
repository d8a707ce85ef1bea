"""Issue 5: bad input gets a clear answer, training never silently fails,
nothing is lost on interruption or on disk."""

import pickle
import tracemalloc
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joblib import Parallel, delayed
from skorch.callbacks import Callback

from skvae import VAETransformer, __version__
from skvae import net as net_module
from skvae.estimator import warn_if_sharing_gpu
from skvae.net import IndexBatches, TensorDataset, TrainingDivergedError

DATA = Path(__file__).parent / "data"
TINY = dict(channels=(4,), hidden_dim=8, max_epochs=1, batch_size=16, random_state=0)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((30, 6, 6), dtype=np.float32)


@pytest.fixture(scope="module")
def fitted(images):
    return VAETransformer(latent_dim=2, **TINY).fit(images)


# -- bad input ---------------------------------------------------------------
@pytest.mark.parametrize(
    "bad, message",
    [
        (np.full((4, 6, 6), np.nan), "Input X contains NaN"),
        (np.full((4, 6, 6), np.inf), "Input X contains infinity"),
        (np.ones((4, 36)) * 1j, "Complex data not supported"),
        (np.array([["a"] * 36] * 4), "dtype='numeric' is not compatible"),
        (np.ones(36), "Expected 2D array, got 1D array"),
        (np.ones((0, 6, 6)), "0 sample"),
        (np.ones((4, 36, 1, 1, 1)), "got an array of 5 dimensions"),
    ],
    ids=["nan", "inf", "complex", "strings", "1d", "empty", "5d"],
)
@pytest.mark.parametrize("method", ["fit", "transform", "score"])
def test_bad_data_is_a_value_error(fitted, method, bad, message):
    call = VAETransformer(**TINY).fit if method == "fit" else getattr(fitted, method)
    with pytest.raises(ValueError, match=message):
        call(bad)


def test_object_array_of_numbers_is_converted(fitted, images):
    as_object = images.reshape(30, -1).astype(object)
    np.testing.assert_allclose(fitted.transform(as_object), fitted.transform(images),
                               rtol=1e-6)


def test_sparse_input_is_rejected_with_a_hint(fitted):
    with pytest.raises(TypeError, match=r"dense data is required. Use '.toarray\(\)'"):
        fitted.transform(sp.csr_matrix(np.ones((3, 36))))


@pytest.mark.parametrize("scale", [255, 16])
def test_bernoulli_out_of_range_says_how_to_scale(images, fitted, scale):
    pixels = (images * scale).astype(np.uint8)
    for call in (VAETransformer(**TINY).fit, fitted.transform, fitted.score_samples):
        with pytest.raises(ValueError, match=r"divide 8-bit images by 255.*MinMaxScaler"
                                             r".*likelihood='gaussian'"):
            call(pixels)


def test_slightly_out_of_range_new_data_is_clipped_with_a_warning(fitted, images):
    shifted = images.copy()
    shifted[0, 0, 0] = 1.05
    with pytest.warns(UserWarning, match="clipped to"):
        Z = fitted.transform(shifted)
    np.testing.assert_array_equal(Z, fitted.transform(np.clip(shifted, 0, 1)))


def test_gaussian_likelihood_accepts_any_real_values():
    X = np.random.default_rng(0).normal(size=(20, 5)) * 100
    vae = VAETransformer(likelihood="gaussian", **TINY).fit(X)
    assert np.isfinite(vae.score(X))


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.ones((3, 6, 5)), r"images of shape \(1, 6, 5\).*fitted on images of shape \(1, 6, 6\)"),
        (np.ones((3, 3, 6, 6)), r"images of shape \(3, 6, 6\).*fitted on images of shape \(1, 6, 6\)"),
        (np.ones((3, 35)), "X has 35 features, but VAETransformer is expecting 36"),
    ],
)
def test_wrong_shape_at_transform_time(fitted, bad, message):
    for method in (fitted.transform, fitted.score_samples):
        with pytest.raises(ValueError, match=message):
            method(bad)


@pytest.mark.parametrize(
    "Z, message",
    [
        (np.ones((3, 3)), r"Z has 3 columns but the model has latent_dim=2"),
        (np.array([[0.0, np.nan]]), "Input Z contains NaN"),
        (np.array([[0.0, np.inf]]), "Input Z contains infinity"),
        (np.ones(2), "Expected 2D array"),
    ],
)
def test_bad_codes_to_inverse_transform(fitted, Z, message):
    with pytest.raises(ValueError, match=message):
        fitted.inverse_transform(Z)


@pytest.mark.parametrize("n", [-1, 0])
def test_sample_needs_a_positive_count(fitted, n):
    with pytest.raises(ValueError, match=f"n_samples == {n}, must be >= 1"):
        fitted.sample(n)


def test_awkward_but_valid_inputs(images):
    X = images.reshape(30, -1)
    reference = VAETransformer(image_shape=(6, 6), **TINY).fit(X).transform(X)
    variants = {
        "list": X.tolist(),
        "float64": X.astype(np.float64),
        "fortran": np.asfortranarray(X),
        "non-contiguous": np.repeat(X, 2, axis=1)[:, ::2],
        "dataframe": pd.DataFrame(X, columns=[f"p{i}" for i in range(36)]),
    }
    for name, variant in variants.items():
        vae = VAETransformer(image_shape=(6, 6), **TINY).fit(variant)
        np.testing.assert_allclose(vae.transform(variant), reference, rtol=1e-5, err_msg=name)
    binary = (images > 0.5).astype(np.int64)
    assert VAETransformer(**TINY).fit(binary).transform(binary).shape == (30, 2)


def test_fewer_samples_than_batch_size_and_single_sample(images):
    vae = VAETransformer(**{**TINY, "batch_size": 256}).fit(images[:3])
    assert vae.transform(images[:1]).shape == (1, 2)
    assert vae.score_samples(images[:1]).shape == (1,)
    one = VAETransformer(**TINY).fit(images[:1])
    assert np.all(np.isfinite(one.transform(images)))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 9),
    layout=st.sampled_from(["tabular", "flat-images", "hw", "chw"]),
    dtype=st.sampled_from([np.float32, np.float64, np.uint8, np.bool_]),
    fortran=st.booleans(),
)
def test_any_layout_and_dtype_round_trips(n, layout, dtype, fortran):
    rng = np.random.default_rng(n)
    shape = {"tabular": (n, 7), "flat-images": (n, 20), "hw": (n, 4, 5), "chw": (n, 2, 4, 5)}[layout]
    X = (rng.random(shape) > 0.5) if dtype in (np.uint8, np.bool_) else rng.random(shape)
    X = X.astype(dtype)
    X = np.asfortranarray(X) if fortran else X
    params = {"image_shape": (4, 5)} if layout == "flat-images" else {}
    vae = VAETransformer(latent_dim=3, **params, **TINY).fit(X)
    Z = vae.transform(X)
    assert Z.shape == (n, 3) and Z.dtype == np.float32 and np.all(np.isfinite(Z))
    assert vae.inverse_transform(Z).shape == shape
    assert vae.sample(2, random_state=0).shape == (2, *shape[1:])
    assert np.all(np.isfinite(vae.score_samples(X)))


# -- training never silently fails --------------------------------------------
def test_divergence_stops_training_with_a_clear_error(images):
    vae = VAETransformer(optimizer=torch.optim.SGD, lr=1e12, max_epochs=3, batch_size=8,
                         channels=(4,), hidden_dim=8, random_state=0)
    with pytest.raises(TrainingDivergedError,
                       match=r"loss became (nan|inf) at epoch 1, batch \d+ of 4.*lower "
                             r"learning rate \(lr=1e\+12 now\)"):
        vae.fit(images)
    # No half-trained model is left behind to return NaN codes.
    assert not hasattr(vae, "net_")


def test_divergence_while_continuing_restores_the_last_good_epoch(images):
    vae = VAETransformer(warm_start=True, optimizer=torch.optim.SGD, lr=1e-3,
                         channels=(4,), hidden_dim=8, max_epochs=2, batch_size=8,
                         random_state=0).fit(images)
    before = vae.transform(images)
    vae.set_params(lr=1e12)
    with pytest.raises(TrainingDivergedError):
        vae.fit(images)
    np.testing.assert_array_equal(vae.transform(images), before)


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


class InterruptAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


def test_ctrl_c_keeps_the_model_trained_so_far(images):
    vae = VAETransformer(**{**TINY, "max_epochs": 10, "callbacks": [InterruptAt(2)]})
    with pytest.warns(RuntimeWarning, match="interrupted after 2 epoch"):
        vae.fit(images)
    assert len(vae.net_.history) == 2
    assert np.all(np.isfinite(vae.transform(images)))


class RecordWeights(Callback):
    def initialize(self):
        self.states = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.states.append({k: v.clone() for k, v in net.module_.state_dict().items()})


def test_early_stopping_restores_the_best_weights(images):
    recorder = RecordWeights()
    vae = VAETransformer(**{**TINY, "max_epochs": 30, "lr": 0.05, "early_stopping": True,
                            "n_iter_no_change": 2, "callbacks": [("rec", recorder)]})
    with warnings.catch_warnings():
        # Early stopping is not an interruption: no warning about one.
        warnings.simplefilter("error", RuntimeWarning)
        vae.fit(images)
    recorded = dict(vae.net_.callbacks_)["rec"]
    valid = vae.net_.history[:, "valid_loss"]
    assert len(valid) < 30, "a high learning rate should stop early"
    best = int(np.argmin(valid))
    final = vae.net_.module_.state_dict()
    for key, value in recorded.states[best].items():
        torch.testing.assert_close(final[key], value)


def test_warm_start_and_partial_fit_continue_training(images):
    vae = VAETransformer(warm_start=True, **{**TINY, "max_epochs": 2}).fit(images)
    first = vae.net_
    vae.fit(images)
    assert vae.net_ is first and len(vae.net_.history) == 4
    cold = VAETransformer(**{**TINY, "max_epochs": 2}).fit(images)
    cold.fit(images)
    assert len(cold.net_.history) == 2
    pf = VAETransformer(**TINY)
    for _ in range(3):
        pf.partial_fit(images)
    assert len(pf.net_.history) == 3
    with pytest.raises(ValueError, match="features"):
        pf.partial_fit(images.reshape(30, -1)[:, :20])


# -- persistence ---------------------------------------------------------------
def test_saved_model_from_the_repository_loads_and_predicts():
    """A model saved by skvae 0.1.0 (tests/data) still gives its stored codes."""
    expected = np.load(DATA / "vae-0.1.0-expected.npz")
    if __version__ == "0.1.0":
        vae = joblib.load(DATA / "vae-0.1.0.joblib")
    else:
        with pytest.warns(UserWarning, match=rf"saved by skvae 0.1.0 .* skvae {__version__}"):
            vae = joblib.load(DATA / "vae-0.1.0.joblib")
    np.testing.assert_allclose(vae.transform(expected["X"]), expected["Z"], rtol=1e-5, atol=1e-6)


def test_version_mismatch_names_both_versions(fitted, monkeypatch):
    blob = pickle.dumps(fitted)
    monkeypatch.setattr("skvae.estimator.__version__", "99.0")
    with pytest.warns(UserWarning, match=rf"saved by skvae {__version__} and is loaded by "
                                         r"skvae 99\.0"):
        pickle.loads(blob)


def test_process_workers_on_one_gpu_are_warned():
    messages = Parallel(n_jobs=2)(delayed(_warnings_of)(warn_if_sharing_gpu) for _ in range(2))
    assert all("several processes share one GPU" in m for m in messages)
    assert _warnings_of(warn_if_sharing_gpu) == ""


def _warnings_of(function):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        function()
    return " ".join(str(w.message) for w in caught)


def test_large_memmap_streams_in_batches(tmp_path, fitted, monkeypatch):
    n = 20_000
    X = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.float32,
                                  shape=(n, 6, 6))
    X[:] = 0.5
    X.flush()
    X = np.load(tmp_path / "big.npy", mmap_mode="r")
    monkeypatch.setitem(net_module.INFERENCE_BATCH_SIZE, "cpu", 1000)
    seen = []
    encoder = fitted.net_.module_.encoder
    hook = encoder.register_forward_pre_hook(lambda mod, args: seen.append(len(args[0])))
    try:
        tracemalloc.start()
        Z = fitted.transform(X)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        hook.remove()
    assert Z.shape == (n, 2)
    assert max(seen) == 1000 and sum(seen) == n
    # X is 2.9 MB; the codes take 0.16 MB. Streaming never holds a copy of X.
    assert peak < X.nbytes / 2


def test_accelerations_keep_results_and_pickling(images):
    base = VAETransformer(**TINY).fit(images)
    fast = VAETransformer(channels_last=True, **TINY).fit(images)
    np.testing.assert_allclose(fast.transform(images), base.transform(images), atol=1e-4)
    assert fast.net_.module_.encoder.body[0].weight.is_contiguous(
        memory_format=torch.channels_last)
    bf16 = VAETransformer(precision="bf16", **TINY).fit(images)
    assert np.all(np.isfinite(bf16.score_samples(images)))
    np.testing.assert_allclose(bf16.transform(images), base.transform(images), atol=0.1)


def test_compiled_training_pickles_and_matches_eager_inference(images):
    vae = VAETransformer(compile=True, **{**TINY, "batch_size": 8}).fit(images)
    # 30 samples in batches of 8: the ragged 6 are left out of each epoch.
    assert vae.net_.history[-1, "train_batch_count"] == 3
    restored = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(restored.transform(images), vae.transform(images))
