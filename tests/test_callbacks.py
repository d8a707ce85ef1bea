"""skvae._callbacks, and skorch's own callbacks given through ``callbacks=`` (issue 15)."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import (Callback, Checkpoint, EarlyStopping, EpochScoring, LoadInitState,
                              LRScheduler)
from torch.optim.lr_scheduler import StepLR

from conftest import TINY as TINY_ONE_EPOCH
from skvae import VAETransformer

TINY = dict(channels=(4,), hidden_dim=8, max_epochs=3, batch_size=10, random_state=0)
#: 30 images in batches of 16, for the test of early stopping's best weights.


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((40, 6, 6), dtype=np.float32)


def _batch_lrs(vae):
    return [b["event_lr"] for epoch in vae.net_.history for b in epoch["batches"]
            if "event_lr" in b]


def test_onecycle_warms_up_linearly_then_anneals_along_a_cosine(images):
    vae = VAETransformer(lr=1e-2, **{**TINY, "max_epochs": 5}).fit(images)
    lrs = _batch_lrs(vae)
    assert len(lrs) == 20  # 5 epochs of 4 batches, one step each
    warmup = 6  # 30% of 20 steps
    expected = [1e-2 * (1 / 25 + (1 - 1 / 25) * s / warmup) for s in range(warmup)]
    expected += [1e-6 + (1e-2 - 1e-6) * 0.5 * (1 + np.cos(np.pi * s / (20 - warmup)))
                 for s in range(20 - warmup)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-6)


def test_constant_schedule_and_partial_fit_keep_the_learning_rate(images):
    vae = VAETransformer(lr=1e-2, lr_schedule="constant", **TINY).fit(images)
    assert [g["lr"] for g in vae.net_.optimizer_.param_groups] == [1e-2]
    assert _batch_lrs(vae) == []
    vae = VAETransformer(lr=1e-2, **TINY).partial_fit(images)
    assert [g["lr"] for g in vae.net_.optimizer_.param_groups] == [1e-2]


def test_a_users_scheduler_replaces_the_built_in_one(images):
    step = LRScheduler(policy=StepLR, step_size=4, gamma=0.5, step_every="batch")
    vae = VAETransformer(lr=1e-2, callbacks=[step], **TINY).fit(images)
    np.testing.assert_allclose(_batch_lrs(vae), [1e-2] * 4 + [5e-3] * 4 + [2.5e-3] * 4)


class RecordBatchLosses(Callback):
    def initialize(self):
        self.losses = []
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        self.losses.append(net.history[-1, "batches", -1, "train_loss"])


def test_every_batch_loss_is_in_the_history_at_batch_end(images):
    vae = VAETransformer(callbacks=[("rec", RecordBatchLosses())], **TINY).fit(images)
    seen = dict(vae.net_.callbacks_)["rec"].losses
    recorded = [b["train_loss"] for epoch in vae.net_.history for b in epoch["batches"]]
    assert len(seen) == 12 and seen == recorded and all(np.isfinite(seen))


def test_progress_bar_shows_the_batch_losses(capsys):
    # Enough batches for tqdm to redraw the bar (every 0.1 s) during the epoch.
    X = np.random.default_rng(0).random((1500, 6, 6), dtype=np.float32)
    VAETransformer(verbose=2, **{**TINY, "max_epochs": 1}).fit(X)
    err = capsys.readouterr().err
    assert "/150 [" in err
    losses = [float(part.split("=")[1].split(",")[0].split("]")[0])
              for part in err.split() if part.startswith("train_loss=")]
    assert losses and all(np.isfinite(losses))


def test_checkpoint_saves_the_best_epoch(images, tmp_path):
    checkpoint = Checkpoint(monitor="train_loss_best", dirname=tmp_path)
    vae = VAETransformer(callbacks=[checkpoint], **TINY).fit(images)
    assert (tmp_path / "params.pt").is_file()
    saved = torch.load(tmp_path / "params.pt")
    best = int(np.argmin(vae.loss_curve_))
    assert vae.net_.history[best, "event_cp"] is True
    assert saved.keys() == vae.net_.module_.state_dict().keys()


def test_checkpoint_of_a_validation_score_needs_validation_data(images, tmp_path):
    vae = VAETransformer(callbacks=[Checkpoint(dirname=tmp_path)], **TINY)
    with pytest.raises(ValueError, match=r"monitors 'valid_loss_best', but this call holds "
                                         r"out no validation data.*early_stopping=True.*"
                                         r"monitor='train_loss_best'"):
        vae.fit(images)
    vae.set_params(early_stopping=True).fit(images)
    assert (tmp_path / "params.pt").is_file()


class RecordStartingWeights(Callback):
    def on_train_begin(self, net, **kwargs):
        self.weights = {k: v.clone() for k, v in net.module_.state_dict().items()}


def test_load_init_state_resumes_from_a_checkpoint(images, tmp_path):
    checkpoint = Checkpoint(monitor=None, dirname=tmp_path)
    first = VAETransformer(callbacks=[checkpoint], **TINY).fit(images)
    resumed = VAETransformer(
        callbacks=[checkpoint, LoadInitState(checkpoint), ("start", RecordStartingWeights())],
        **{**TINY, "max_epochs": 1, "random_state": 1}).fit(images)
    # Training starts from the saved weights, and the history continues the saved one.
    start = dict(resumed.net_.callbacks_)["start"].weights
    for key, value in first.net_.module_.state_dict().items():
        torch.testing.assert_close(start[key], value)
    assert resumed.n_iter_ == first.n_iter_ + 1


def test_users_early_stopping_on_the_training_loss(images):
    stop = EarlyStopping(monitor="train_loss", patience=1, threshold=10.0)
    vae = VAETransformer(callbacks=[stop], **{**TINY, "max_epochs": 20}).fit(images)
    # A threshold no epoch can beat stops after patience + 1 epochs.
    assert vae.n_iter_ == 2


def test_epoch_scoring_records_a_users_score(images):
    held_out = images[:10]
    scoring = EpochScoring(lambda net, X, y: float(net.log_bound(held_out[:, None]).mean()),
                           name="held_out_elbo", lower_is_better=False, on_train=True,
                           use_caching=False)
    vae = VAETransformer(callbacks=[scoring], **{**TINY, "max_epochs": 4}).fit(images)
    scores = vae.net_.history[:, "held_out_elbo"]
    assert len(scores) == 4 and scores[-1] > scores[0]
    assert scores[-1] == pytest.approx(vae.score(held_out), rel=1e-4)


class RecordWeights(Callback):
    def initialize(self):
        self.states = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.states.append({k: v.clone() for k, v in net.module_.state_dict().items()})


def test_early_stopping_restores_the_best_weights(images_30):
    recorder = RecordWeights()
    vae = VAETransformer(**{**TINY_ONE_EPOCH, "max_epochs": 30, "lr": 0.05, "early_stopping": True,
                            "n_iter_no_change": 2, "callbacks": [("rec", recorder)]})
    with warnings.catch_warnings():
        # Early stopping is not an interruption: no warning about one.
        warnings.simplefilter("error", RuntimeWarning)
        vae.fit(images_30)
    recorded = dict(vae.net_.callbacks_)["rec"]
    valid = vae.net_.history[:, "valid_loss"]
    assert len(valid) < 30, "a high learning rate should stop early"
    best = int(np.argmin(valid))
    final = vae.net_.module_.state_dict()
    for key, value in recorded.states[best].items():
        torch.testing.assert_close(final[key], value)


class AppendLosses(Callback):
    """A logger that writes to an object of the user's, as skorch's loggers do."""

    def __init__(self, sink):
        self.sink = sink

    def on_epoch_end(self, net, **kwargs):
        self.sink.append(net.history[-1, "train_loss"])


def test_callbacks_are_used_as_given_not_copied(images):
    sink = []
    vae = VAETransformer(callbacks=[AppendLosses(sink)], **TINY).fit(images)
    assert sink == vae.loss_curve_


def test_fit_of_one_epoch_still_runs_the_schedule(images):
    vae = VAETransformer(lr=1e-2, **{**TINY, "max_epochs": 1}).fit(images)
    lrs = _batch_lrs(vae)
    assert len(lrs) == 4 and lrs[0] == pytest.approx(1e-2 / 25) and lrs[-1] < 1e-2


def test_a_users_scheduler_leaves_no_second_copy_of_the_weights_in_the_pickle(images):
    plain = VAETransformer(lr_schedule="constant", **TINY).fit(images)
    step = LRScheduler(policy=StepLR, step_size=4, gamma=0.5, step_every="batch")
    scheduled = VAETransformer(callbacks=[step], **TINY).fit(images)
    assert len(pickle.dumps(scheduled)) < 1.1 * len(pickle.dumps(plain))
    # And it schedules again when training continues.
    scheduled.set_params(warm_start=True).fit(images)
    assert len(_batch_lrs(scheduled)) == 24


def test_scoring_the_validation_data_needs_validation_data(images):
    scoring = EpochScoring(lambda net, X, y: 0.0, name="s")
    with pytest.raises(ValueError, match=r"EpochScoring\('s'\) scores the validation data.*"
                                         "on_train=True"):
        VAETransformer(callbacks=[scoring], **TINY).fit(images)
    vae = VAETransformer(callbacks=[scoring], early_stopping=True, **TINY).fit(images)
    assert len(vae.net_.history[:, "s"]) == 3



def _net_after_epochs(*means):
    """A stand-in net whose history has epochs of these mean training losses, then a new one."""
    from skorch.history import History

    class Net:
        lr = 6e-3
        history = History()

        def get_iterator(self, dataset, training=False):
            return [None] * 5

    net = Net()
    for mean in means:
        net.history.new_epoch()
        net.history.record("train_loss", mean)
    net.history.new_epoch()
    return net


@pytest.mark.parametrize("best, loss, exploded", [
    (380.0, 380.0 + 1000 * 380.0 + 1.0, True),
    (380.0, 380.0 * 2, False),
    (-500.0, -500.0 + 1000 * 500.0 + 1.0, True),   # a Gaussian model's negative losses
    (-500.0, 10.0, False),
    (0.2, 1000.0 + 1.0, True),                     # small losses: units of at least 1
])
def test_divergence_check_stops_a_loss_that_exploded(best, loss, exploded):
    from skvae._callbacks import DivergenceCheck, TrainingDivergedError

    net = _net_after_epochs(best + 50.0, best)
    check = DivergenceCheck()
    check.on_epoch_begin(net, dataset_train=[])
    net.history.new_batch()
    net.history.record_batch("train_loss", loss)
    if not exploded:
        check.on_batch_end(net, training=True)
        return
    with pytest.raises(TrainingDivergedError,
                       match=r"train loss exploded to .* than 1000 times the best epoch's "
                             r"mean \(" + f"{best:.4g}".replace("-", r"\-") + r"\) above it, at "
                             r"epoch 3, batch 1 of 5.*lower learning rate \(lr=0.006 now\)"):
        check.on_batch_end(net, training=True)


def test_divergence_check_leaves_the_first_epoch_and_validation_to_nan_and_inf():
    from skvae._callbacks import DivergenceCheck

    net = _net_after_epochs()
    check = DivergenceCheck()
    check.on_epoch_begin(net, dataset_train=[], dataset_valid=[])
    net.history.new_batch()
    net.history.record_batch("train_loss", 1e12)  # nothing to compare with yet
    check.on_batch_end(net, training=True)
    net.history.record("train_loss", 10.0)
    net.history.new_epoch()
    check.on_epoch_begin(net, dataset_train=[], dataset_valid=[])
    net.history.new_batch()
    net.history.record_batch("valid_loss", 1e12)  # validation losses are not training's
    check.on_batch_end(net, training=False)
