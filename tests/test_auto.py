"""skvae._auto: what the "auto" training parameters resolve to, and what fit trains with."""

import pytest

from skvae import VAETransformer
from skvae import _auto


def test_auto_weight_halves_with_every_two_dimensions_and_sets_lr_and_decay():
    vae = VAETransformer()
    weights = {d: vae._neighbor_weight(d) for d in (1, 2, 4, 8, 10, 11, 16)}
    assert weights == {1: 200.0, 2: 200.0, 4: 100.0, 8: 25.0, 10: 12.5, 11: 0.0, 16: 0.0}
    assert VAETransformer(conditional=True)._neighbor_weight(2) == 0.0
    assert VAETransformer(neighbor_weight=7)._neighbor_weight(16) == 7.0
    # lr="auto": larger steps while the neighbor loss is on; weight_decay="auto":
    # less decay; max_epochs="auto": for a 2-D map, more epochs for fewer rows.
    assert vae._training(2, 8000) == (200.0, 6e-3, 0.03, 45)
    assert vae._training(10, 8000) == (12.5, 6e-3, 0.03, 30)
    assert vae._training(16, 8000) == (0.0, 2e-3, 0.3, 30)
    assert VAETransformer(neighbor_weight=0)._training(2, 8000) == (0.0, 2e-3, 0.3, 30)
    set_ = VAETransformer(lr=1e-3, weight_decay=0.5, max_epochs=7)
    assert set_._training(2, 8000) == (200.0, 1e-3, 0.5, 7)
    # partial_fit trains one epoch.
    assert vae._training(2, 8000, incremental=True).max_epochs == 1


@pytest.mark.parametrize("n_samples, epochs", [
    (1, 60), (1437, 60), (6000, 60), (6001, 60), (7200, 50), (8000, 45), (10_000, 36),
    (12_000, 30), (10**7, 30)])
def test_auto_epochs_give_a_small_map_more_steps(n_samples, epochs):
    assert VAETransformer()._training(2, n_samples).max_epochs == epochs
    assert VAETransformer(n_components=1)._training(1, n_samples).max_epochs == epochs
    # Not without the loss, nor above 2 dimensions, nor when set.
    assert VAETransformer(neighbor_weight=0)._training(2, n_samples).max_epochs == 30
    assert VAETransformer()._training(3, n_samples).max_epochs == 30
    assert VAETransformer(max_epochs=3)._training(2, n_samples).max_epochs == 3


def test_fitted_net_trains_at_the_resolved_learning_rate_and_decay(images_30):
    from conftest import TINY

    params = {**TINY, "lr_schedule": "constant"}
    on = VAETransformer(n_components=2, **params).fit(images_30)
    off = VAETransformer(n_components=2, neighbor_weight=0, **params).fit(images_30)
    assert on.net_.lr == 6e-3 and off.net_.lr == 2e-3
    assert on.net_.optimizer_.param_groups[0]["lr"] == 6e-3
    assert [g["weight_decay"] for g in on.net_.optimizer_.param_groups] == [0.03]
    assert [g["weight_decay"] for g in off.net_.optimizer_.param_groups] == [0.3]
    assert on.get_params()["lr"] == on.get_params()["weight_decay"] == "auto"
    # partial_fit continues at the same rate and decay.
    group = on.partial_fit(images_30).net_.optimizer_.param_groups[0]
    assert group["lr"] == 6e-3 and group["weight_decay"] == 0.03


def test_auto_epochs_are_the_epochs_trained_and_resolved_again_when_continuing(images_30):
    from conftest import TINY

    params = {**TINY, "max_epochs": "auto"}
    on = VAETransformer(n_components=2, **params).fit(images_30)
    off = VAETransformer(n_components=2, neighbor_weight=0, **params).fit(images_30)
    assert (on.n_iter_, on.net_.max_epochs, off.n_iter_) == (60, 60, 30)
    assert on.get_params()["max_epochs"] == "auto"
    # warm_start trains as many more, for the neighbor weight of the call.
    off.set_params(warm_start=True, neighbor_weight=200).fit(images_30)
    assert off.n_iter_ == 30 + 60
    # partial_fit trains one epoch, whatever max_epochs says.
    assert on.partial_fit(images_30).n_iter_ == 61


def test_auto_epochs_count_the_rows_left_after_early_stopping_holds_some_out(
        images_30, monkeypatch):
    from conftest import TINY

    # 1,200 row visits: 40 epochs of the 30 rows, 45 of the 27 left to train on.
    monkeypatch.setattr(_auto, "AUTO_MAP_ROW_VISITS", 1200)
    params = {**TINY, "max_epochs": "auto", "n_components": 2}
    assert VAETransformer(**params).fit(images_30).net_.max_epochs == 40
    stopped = VAETransformer(early_stopping=True, validation_fraction=0.1, **params)
    assert stopped.fit(images_30).net_.max_epochs == 45


def test_continued_training_resolves_auto_again_after_set_params(images_30):
    from conftest import TINY

    vae = VAETransformer(n_components=2, neighbor_weight=0, warm_start=True,
                         lr_schedule="constant", **TINY)
    group = vae.fit(images_30).net_.optimizer_.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (2e-3, 0.3)
    vae.set_params(neighbor_weight=5)
    group = vae.fit(images_30).net_.optimizer_.param_groups[0]
    assert (group["lr"], group["weight_decay"]) == (6e-3, 0.03)
    assert vae.net_.criterion_.neighbor_weight == 5.0 and vae.n_iter_ == 2
