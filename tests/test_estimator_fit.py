"""VAETransformer fit and partial_fit: atomic fits, continued training, divergence, devices and seeds."""

import multiprocessing
import pickle
import warnings

import numpy as np
import pytest
import torch
from joblib import Parallel, delayed
from skorch.callbacks import Callback
from skorch.dataset import ValidSplit
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from conftest import FAST, requires_cuda
from conftest import TINY as TINY_ONE_EPOCH
from skvae import TrainingDivergedError, VAETransformer
from skvae._net import resolve_device, warn_if_sharing_gpu

TINY = dict(channels=(4,), hidden_dim=8, max_epochs=2, batch_size=8, random_state=0)
#: 30 images and one epoch in batches of 16, for the divergence and warm-start tests.


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((40, 6, 6), dtype=np.float32)


def _state(vae, images):
    """What a user can observe of a fitted model."""
    return {
        "attributes": sorted(vars(vae)),
        "net": vae.net_,
        "codes": vae.transform(images),
        "samples": vae.sample(3, random_state=0),
        "scores": vae.score_samples(images),
        "n_iter": vae.n_iter_,
        "params": vae.get_params(),
    }


def _assert_same(before, after):
    assert after["attributes"] == before["attributes"]
    assert after["net"] is before["net"]
    for key in ("codes", "samples", "scores"):
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)
    assert after["n_iter"] == before["n_iter"]


class Explode(Callback):
    """A user callback that fails in the middle of training."""

    def on_epoch_end(self, net, **kwargs):
        raise RuntimeError("boom")


FAILED_REFITS = {
    "nan data": ({}, lambda X: np.where(X > 0.5, np.nan, X), ValueError, "NaN"),
    "8-bit pixels": ({"likelihood": "bernoulli"}, lambda X: (X * 255).astype(np.uint8),
                     ValueError, "divide 8-bit images by 255"),
    "image_shape mismatch": ({"image_shape": (4, 9)}, None, ValueError,
                             r"does not match|image_shape \(\(1, 6, 6\) when fitted"),
    "unknown device": ({"device": "nonsense"}, None, ValueError, "not a torch device"),
    "nan lr": ({"lr": float("nan")}, None, ValueError, "'lr' parameter"),
    "diverging lr": ({"lr": 1e12, "optimizer": torch.optim.SGD}, None,
                     TrainingDivergedError, "loss became"),
    "failing callback": ({"callbacks": [Explode()]}, None, RuntimeError, "boom"),
}


@pytest.mark.parametrize("case", FAILED_REFITS, ids=list(FAILED_REFITS))
@pytest.mark.parametrize("warm_start", [False, True])
def test_a_failed_refit_keeps_the_fitted_model(images, case, warm_start):
    params, transform_X, error, message = FAILED_REFITS[case]
    vae = VAETransformer(warm_start=warm_start, **TINY).fit(images)
    before = _state(vae, images)
    vae.set_params(**params)
    with pytest.raises(error, match=message):
        vae.fit(images if transform_X is None else transform_X(images))
    check_is_fitted(vae)
    _assert_same(before, _state(vae, images))


@pytest.mark.parametrize("case", FAILED_REFITS, ids=list(FAILED_REFITS))
def test_a_failed_first_fit_leaves_the_estimator_unfitted(images, case):
    params, transform_X, error, message = FAILED_REFITS[case]
    vae = VAETransformer(**{**TINY, **params})
    with pytest.raises(error, match=message):
        vae.fit(images if transform_X is None else transform_X(images))
    assert sorted(vars(vae)) == sorted(vae.get_params())
    with pytest.raises(NotFittedError):
        vae.transform(images)


def test_a_failed_partial_fit_keeps_the_model(images):
    vae = VAETransformer(**TINY)
    vae.partial_fit(images)
    before = _state(vae, images)
    with pytest.raises(ValueError, match="X has 20 features"):
        vae.partial_fit(images.reshape(40, -1)[:, :20])
    vae.set_params(lr=1e12, optimizer=torch.optim.SGD)
    with pytest.raises(TrainingDivergedError):
        vae.partial_fit(images)
    _assert_same(before, _state(vae, images))
    # And the model still trains once the cause is gone.
    vae.set_params(lr=2e-3, optimizer=torch.optim.AdamW).partial_fit(images)
    assert vae.n_iter_ == 2


STRUCTURAL = [
    ({"n_components": 5}, r"n_components \(2 when fitted, 5 now\)"),
    ({"hidden_dim": 16}, r"hidden_dim \(8 when fitted, 16 now\)"),
    ({"channels": (8,)}, r"channels \(\(4,\) when fitted, \(8,\) now\)"),
    ({"likelihood": "gaussian"}, r"likelihood \('bernoulli' when fitted, 'gaussian' now\)"),
    ({"architecture": "mlp"}, r"architecture \('conv' when fitted, 'mlp' now\)"),
    ({"image_shape": (4, 9)}, r"image_shape \(\(1, 6, 6\) when fitted, \(1, 4, 9\) now\)"),
    ({"conditional": True}, r"conditional \(False when fitted, True now\)"),
    ({"n_components": 3, "hidden_dim": 16}, r"n_components .*; hidden_dim"),
]


@pytest.mark.parametrize("params, message", STRUCTURAL)
@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_continuing_with_a_changed_structure_is_an_error(images, params, message, how):
    vae = VAETransformer(warm_start=how == "warm_start", **TINY).fit(images)
    before = _state(vae, images)
    vae.set_params(**params)
    call = vae.partial_fit if how == "partial_fit" else vae.fit
    with pytest.raises(ValueError, match=message + r".*fit and warm_start=False"):
        call(images, np.arange(40) % 2)
    _assert_same(before, _state(vae, images))
    # The outputs still agree with each other: no half-changed model.
    assert len(vae.get_feature_names_out()) == vae.transform(images).shape[1] == 2


def test_an_architecture_change_names_only_the_architecture(images):
    vae = VAETransformer(**TINY).fit(images).set_params(architecture="mlp")
    with pytest.raises(ValueError, match="architecture") as error:
        vae.partial_fit(images)
    assert "image_shape" not in str(error.value)


def test_image_shape_set_back_to_none_is_a_change(images):
    flat = images.reshape(len(images), -1)
    vae = VAETransformer(image_shape=(6, 6), **TINY).fit(flat).set_params(image_shape=None)
    with pytest.raises(ValueError, match="architecture .*'conv' when fitted, 'mlp' now"):
        vae.partial_fit(flat)
    # A model fitted on images keeps their shape when image_shape stays None.
    images_model = VAETransformer(**TINY).fit(images)
    images_model.partial_fit(flat)
    assert images_model.n_iter_ == 3


def test_a_warm_started_fit_validates_on_the_same_rows(images, monkeypatch):
    held_out = []
    split = ValidSplit.__call__
    monkeypatch.setattr(ValidSplit, "__call__", lambda self, dataset, y=None, **kw: held_out.append(
        split(self, dataset, y, **kw)[1].indices) or split(self, dataset, y, **kw))
    vae = VAETransformer(early_stopping=True, warm_start=True, **TINY).fit(images)
    vae.fit(images)
    assert len(held_out) == 2 and sorted(held_out[0]) == sorted(held_out[1])


def test_partial_fit_trains_without_early_stopping(images):
    vae = VAETransformer(early_stopping=True, **TINY)
    vae.partial_fit(images)
    assert "valid_loss" not in vae.net_.history[-1]
    assert sum(b["train_batch_size"] for b in vae.net_.history[-1, "batches"]) == 40


def test_a_cuda_fit_in_a_joblib_worker_is_warned(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(multiprocessing.current_process(), "name", "LokyProcess-1")
    with pytest.warns(RuntimeWarning, match="several processes share one GPU"):
        assert resolve_device("cuda") == "cuda"


def test_a_conditional_model_cannot_continue_unconditionally(images):
    y = np.arange(40) % 3
    vae = VAETransformer(conditional=True, **TINY).fit(images, y)
    vae.set_params(conditional=False)
    with pytest.raises(ValueError, match=r"conditional \(True when fitted, False now\)"):
        vae.partial_fit(images, y)
    vae.set_params(conditional=True, adversary_weight=1.0)
    with pytest.raises(ValueError, match=r"adversary_weight \(5.0 when fitted, 1.0 now\)"):
        vae.partial_fit(images, y)


def test_continued_training_holds_its_data_to_the_unit_interval_strictly(images):
    # New data a little past [0, 1] is clipped at transform time; training
    # data never is, whether the training starts or continues.
    vae = VAETransformer(**TINY).fit(images)
    shifted = images.copy()
    shifted[0, 0, 0] = 1.05
    with pytest.warns(UserWarning, match="clipped"):
        vae.transform(shifted)
    with pytest.raises(ValueError, match="needs data in"):
        vae.partial_fit(shifted)
    assert vae.n_iter_ == 2


def test_a_refit_may_change_the_structure(images):
    vae = VAETransformer(**TINY).fit(images)
    vae.set_params(n_components=5, hidden_dim=16).fit(images)
    assert vae.transform(images).shape == (40, 5) and vae.n_components_ == 5
    assert len(vae.get_feature_names_out()) == 5 and vae.sample(2).shape == (2, 6, 6)


def test_training_parameters_take_effect_when_continuing(images):
    vae = VAETransformer(warm_start=True, **TINY).fit(images)
    first = vae.net_.module_.state_dict()
    vae.set_params(beta=0.25, lr=1e-3, weight_decay=0.05, batch_size=20, max_epochs=3,
                   lr_schedule="constant", early_stopping=True, validation_fraction=0.5,
                   n_iter_no_change=5)
    vae.fit(images)
    net = vae.net_
    assert net.criterion_.beta == 0.25
    assert [g["lr"] for g in net.optimizer_.param_groups] == [1e-3]
    assert [g["weight_decay"] for g in net.optimizer_.param_groups] == [0.05]
    assert vae.n_iter_ == 5 and len(vae.loss_curve_) == 5
    assert {b["train_batch_size"] for b in net.history[-1, "batches"] if "train_loss" in b} \
        == {20}
    assert "valid_loss" in net.history[-1] and "valid_loss" not in net.history[0]
    # The weights carried over: training went on from the fitted network.
    assert not all(torch.equal(first[k], v) for k, v in net.module_.state_dict().items())


def test_continued_training_carries_the_optimizer_state(images):
    vae = VAETransformer(**TINY)
    vae.partial_fit(images)
    steps = vae.net_.optimizer_.state_dict()["state"][0]["step"]
    vae.partial_fit(images)
    assert vae.net_.optimizer_.state_dict()["state"][0]["step"] == 2 * steps
    # A cold fit drops it (the pickle is the weights), and partial_fit starts it anew.
    cold = VAETransformer(**TINY).fit(images)
    assert not cold.net_.optimizer_.state
    assert len(pickle.dumps(cold)) < len(pickle.dumps(vae))


class InterruptAt(Callback):
    def __init__(self, epoch, batch=None):
        self.epoch = epoch
        self.batch = batch

    def on_batch_end(self, net, training=False, **kwargs):
        batches = net.history[-1, "batches"]
        if len(net.history) == self.epoch and self.batch == len(batches):
            raise KeyboardInterrupt

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch and self.batch is None:
            raise KeyboardInterrupt


def test_ctrl_c_keeps_the_model_trained_so_far(images):
    vae = VAETransformer(**{**TINY, "max_epochs": 10, "callbacks": [InterruptAt(2)]})
    with pytest.warns(RuntimeWarning, match=r"interrupted after 2 complete epoch\(s\); keeping"):
        vae.fit(images)
    assert vae.n_iter_ == 2 and len(vae.net_.history) == 2
    assert np.all(np.isfinite(vae.transform(images)))


def test_ctrl_c_in_the_first_batch_says_no_epoch_completed(images):
    vae = VAETransformer(**{**TINY, "callbacks": [InterruptAt(1, batch=1)]})
    with pytest.warns(RuntimeWarning, match=r"after 0 complete epoch\(s\) and 1 batch\(es\) "
                                            "of epoch 1"):
        vae.fit(images)
    assert vae.n_iter_ == 0 and vae.loss_curve_ == []
    check_is_fitted(vae)


def test_early_stopping_is_not_reported_as_an_interruption(images):
    vae = VAETransformer(**{**TINY, "max_epochs": 40, "lr": 0.05, "early_stopping": True,
                            "n_iter_no_change": 2})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        vae.fit(images)
    assert vae.n_iter_ < 40


# -- training never silently fails --------------------------------------------
def test_divergence_stops_training_with_a_clear_error(images_30):
    vae = VAETransformer(optimizer=torch.optim.SGD, lr=1e12, max_epochs=3, batch_size=8,
                         channels=(4,), hidden_dim=8, random_state=0)
    with pytest.raises(TrainingDivergedError,
                       match=r"loss became (nan|inf) at epoch 1, batch \d+ of 4.*lower "
                             r"learning rate \(lr=1e\+12 now\)"):
        vae.fit(images_30)
    # No half-trained model is left behind to return NaN codes.
    assert not hasattr(vae, "net_")


def test_divergence_while_continuing_keeps_the_model_as_it_was(images_30):
    vae = VAETransformer(warm_start=True, optimizer=torch.optim.SGD, lr=1e-3,
                         channels=(4,), hidden_dim=8, max_epochs=2, batch_size=8,
                         neighbor_weight=0, random_state=0).fit(images_30)
    before = vae.transform(images_30)
    vae.set_params(lr=1e12)
    with pytest.raises(TrainingDivergedError):
        vae.fit(images_30)
    np.testing.assert_array_equal(vae.transform(images_30), before)


def test_warm_start_and_partial_fit_continue_training(images_30):
    vae = VAETransformer(warm_start=True, **{**TINY_ONE_EPOCH, "max_epochs": 2}).fit(images_30)
    vae.fit(images_30)
    assert vae.n_iter_ == 4 and len(vae.net_.history) == 4
    cold = VAETransformer(**{**TINY_ONE_EPOCH, "max_epochs": 2}).fit(images_30)
    cold.fit(images_30)
    assert len(cold.net_.history) == 2
    pf = VAETransformer(**TINY_ONE_EPOCH)
    for _ in range(3):
        pf.partial_fit(images_30)
    assert len(pf.net_.history) == 3
    with pytest.raises(ValueError, match="features"):
        pf.partial_fit(images_30.reshape(30, -1)[:, :20])


# -- seeds and devices --------------------------------------------------------
def test_same_seed_same_model_and_global_rng_untouched(digits):
    X, _ = digits
    X = X[:300]
    torch.manual_seed(123)
    np.random.seed(123)
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    a = VAETransformer(**FAST).fit(X)
    b = VAETransformer(**FAST).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)
    c = VAETransformer(**{**FAST, "random_state": 1}).fit(X)
    assert not np.allclose(a.transform(X), c.transform(X))


def test_cuda_requested_without_cuda_is_a_clear_error(monkeypatch, digits):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    X, _ = digits
    with pytest.raises(ValueError, match="CUDA is not available"):
        VAETransformer(device="cuda").fit(X[:10])
    assert VAETransformer(max_epochs=1).fit(X[:10]).device_ == "cpu"


@requires_cuda
def test_cuda_fit_and_device_auto(digits):
    X, _ = digits
    vae = VAETransformer(**FAST).fit(X)
    assert vae.device_ == "cuda"
    assert next(vae.net_.module_.parameters()).is_cuda
    cpu = VAETransformer(device="cpu", **FAST).fit(X)
    np.testing.assert_allclose(vae.transform(X), cpu.transform(X), atol=0.5)


def test_process_workers_on_one_gpu_are_warned():
    messages = Parallel(n_jobs=2)(delayed(_warnings_of)(warn_if_sharing_gpu) for _ in range(2))
    assert all("several processes share one GPU" in m for m in messages)
    assert _warnings_of(warn_if_sharing_gpu) == ""


def _warnings_of(function):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        function()
    return " ".join(str(w.message) for w in caught)


def test_verbose_fit_prints_the_choices_it_resolved(images_30, capsys):
    from conftest import TINY

    vae = VAETransformer(n_components=2, verbose=1, **{**TINY, "max_epochs": "auto"})
    vae.fit(images_30)
    first = capsys.readouterr().out.splitlines()[0]
    assert first == ("VAETransformer: a convolutional net for 1x6x6 images, bernoulli "
                     "likelihood, 2 latent dimensions, neighbor loss weight 200, 60 epochs, "
                     "learning rate 0.006, weight decay 0.03, on cpu.")
    # partial_fit trains, and says, one epoch.
    vae.partial_fit(images_30)
    first = capsys.readouterr().out.splitlines()[0]
    assert ", 1 epoch, " in first
    VAETransformer(n_components=8, neighbor_weight=0, verbose=1,
                   **{**TINY, "max_epochs": "auto"}).fit(images_30.reshape(len(images_30), -1))
    first = capsys.readouterr().out.splitlines()[0]
    assert first == ("VAETransformer: a fully connected net for 36 features (if the rows "
                     "are images, image_shape=(6, 6) trains the convolutional net), "
                     "bernoulli likelihood, 8 latent dimensions, no neighbor loss, 30 "
                     "epochs, learning rate 0.002, weight decay 0.3, on cpu.")
