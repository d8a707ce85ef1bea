"""The estimator's state across calls: fit, fail, then use the model.

Each test pins one behaviour of ``VAETransformer`` that depends on what an
earlier call left behind (or must not have left behind): the code
statistics of ``partial_fit``, the rollback of failed calls, where warnings
point, the validation split of warm starts, and so on.
"""

import copy
import math
import re
import tracemalloc
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.neighbors import KNeighborsClassifier
from skorch.callbacks import Callback, EpochScoring

import skvae
from skvae import VAETransformer

from conftest import TINY

@pytest.fixture(scope="module")
def digits_flat():
    """The digits as a (1797, 64) table in [0, 1], float64, and their labels."""
    data = load_digits()
    return data.data / 16.0, data.target


@pytest.fixture(scope="module")
def table_model(digits_flat):
    """A Bernoulli MLP fitted on the first 300 digits as a 64-column table."""
    X, _ = digits_flat
    return VAETransformer(**TINY).fit(X[:300])


@pytest.fixture(scope="module")
def digits_600_model(digits_flat):
    """A 2-D model of 600 digits (as 8x8 images) whose codes separate the classes."""
    X, _ = digits_flat
    return VAETransformer(image_shape=(8, 8), channels=(4,), hidden_dim=8, max_epochs=10,
                          batch_size=64, lr=1e-2, random_state=0).fit(X[:600])


def _copy(vae):
    """A deep copy of a fitted estimator, to change without touching a fixture."""
    return copy.deepcopy(vae)


def _classes_of_sampler(vae, X_train, y_train, n=500):
    """The share of each digit among ``n`` codes drawn from ``vae.sampler_``.

    The codes are classified by 5-NN on the codes of the labelled training
    digits (a tiny decoder's samples are too blurry to classify as pixels).
    """
    knn = KNeighborsClassifier(n_neighbors=5).fit(vae.transform(X_train), y_train)
    vae.sampler_.set_params(random_state=0)
    drawn, _ = vae.sampler_.sample(n)
    return np.bincount(knn.predict(drawn), minlength=10) / n


# -- 1. partial_fit's code statistics describe all the data seen ------------------------
def test_partial_fit_statistics_describe_all_rows_seen(digits_600_model, digits_flat):
    X, y = digits_flat
    vae = _copy(digits_600_model)
    before = _classes_of_sampler(vae, X[:600], y[:600])
    assert np.sum(before >= 0.05) >= 5, before  # the fit's samples cover the classes
    width_before = np.ptp(vae.code_range_, axis=0)

    zeros = X[:600][y[:600] == 0][:20]
    vae.partial_fit(zeros)
    after = _classes_of_sampler(vae, X[:600], y[:600])
    # The sampler still describes all 620 rows seen, not the 20 zeros alone.
    assert np.sum(after >= 0.05) >= 5, after
    assert after[0] < 0.5, after
    width_after = np.ptp(vae.code_range_, axis=0)
    assert np.all(width_after > 0.8 * width_before), (width_before, width_after)


def test_partial_fit_one_row_keeps_sampler_and_code_range(digits_600_model, digits_flat):
    X, _ = digits_flat
    vae = _copy(digits_600_model)
    vae.partial_fit(X[600:601])
    assert hasattr(vae, "sampler_")
    assert vae.sampler_.n_components > 1
    assert np.all(np.ptp(vae.code_range_, axis=0) > 0.1), vae.code_range_
    assert vae.sample(5, random_state=0).shape == (5, 64)


# -- 2. memory stays bounded over a stream of partial_fit calls --------------------------
def test_partial_fit_keeps_bounded_code_sample():
    from skvae._codes import KEPT_CODES

    rng = np.random.default_rng(0)
    vae = VAETransformer(hidden_dim=8, batch_size=512, neighbor_weight=0, random_state=0)
    seen = 0
    for n in (KEPT_CODES + 200, 300, 1):
        vae.partial_fit(rng.random((n, 4)))
        seen += n
        assert len(vae._code_sample.codes) <= KEPT_CODES
        assert vae._code_sample.n_rows == seen
    assert len(vae._code_sample.codes) == KEPT_CODES
    assert hasattr(vae, "sampler_")


# -- 3. early stopping on one row ------------------------------------------------------
def test_early_stopping_on_one_row_raises_and_leaves_model(images_30):
    vae = VAETransformer(**TINY).fit(images_30)
    codes = vae.transform(images_30)
    state = dict(vars(vae))
    vae.set_params(early_stopping=True)
    with pytest.raises(ValueError) as info:
        vae.fit(images_30[:1])
    message = str(info.value)
    assert "early_stopping" in message
    assert "validation_fraction" in message
    assert "early_stopping=False" in message and "at least 2 samples" in message
    assert vars(vae).keys() == state.keys()
    assert all(vars(vae)[key] is state[key] for key in state if key != "early_stopping")
    np.testing.assert_array_equal(vae.transform(images_30), codes)

    # A new estimator raises the same, and stays unfitted.
    fresh = VAETransformer(**TINY, early_stopping=True)
    with pytest.raises(ValueError, match="validation_fraction"):
        fresh.fit(images_30[:1])
    assert not hasattr(fresh, "net_")


# -- 4. images outside [0, 1] under likelihood="auto" ----------------------------------
@pytest.mark.parametrize("layout", ["image_shape", "3d"])
def test_images_outside_unit_interval_warn(digits_flat, layout):
    X = digits_flat[0][:100] * 16.0  # 0..16
    kwargs = dict(TINY)
    if layout == "image_shape":
        kwargs["image_shape"] = (8, 8)
    else:
        X = X.reshape(-1, 8, 8)
    with pytest.warns(UserWarning, match=r"likelihood_='gaussian'") as record:
        vae = VAETransformer(**kwargs).fit(X)
    assert vae.likelihood_ == "gaussian"
    message = " ".join(str(w.message) for w in record)
    assert "scale" in message and "[0, 1]" in message


def test_tables_outside_unit_interval_do_not_warn(digits_flat):
    X = digits_flat[0][:100] * 16.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        vae = VAETransformer(**TINY).fit(X)
    assert vae.likelihood_ == "gaussian"


# -- 5. clipping new data --------------------------------------------------------------
def test_transform_clips_few_entries_and_leaves_X(table_model, digits_flat):
    X = digits_flat[0][300:400].copy()
    X[[0, 5, 50], [3, 10, 40]] = 1.2
    original = X.copy()
    with pytest.warns(UserWarning, match="clipped") as record:
        codes = table_model.transform(X)
    np.testing.assert_array_equal(X, original)
    np.testing.assert_array_equal(codes, table_model.transform(np.clip(X, 0, 1)))
    assert "3 of its 6400 entries" in str(record[0].message)


def test_transform_clips_memmap_without_copying_it(table_model, digits_flat, tmp_path):
    rows = digits_flat[0]
    X = np.memmap(tmp_path / "X.dat", dtype=np.float64, mode="w+", shape=(20_000, 64))
    for start in range(0, len(X), len(rows)):
        part = X[start:start + len(rows)]
        part[:] = rows[:len(part)]
    X[[1, 7, 19_999], [0, 30, 63]] = 1.2
    X.flush()
    X = np.memmap(tmp_path / "X.dat", dtype=np.float64, mode="r", shape=(20_000, 64))
    with pytest.warns(UserWarning, match="clipped"):
        table_model.transform(X[:10])  # warm up lazy imports and allocations
    tracemalloc.start()
    try:
        with pytest.warns(UserWarning, match="clipped") as record:
            codes = table_model.transform(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert codes.shape == (20_000, 2)
    assert peak < X.nbytes / 3, (peak, X.nbytes)
    assert "3 of its 1280000 entries" in str(record[0].message)
    np.testing.assert_array_equal(codes[:1797],
                                  table_model.transform(np.clip(np.asarray(X[:1797]), 0, 1)))


# -- 6. warnings point at the user's line ----------------------------------------------
def test_clipping_warning_points_at_user_line_under_pandas_output(table_model, digits_flat):
    pytest.importorskip("pandas")
    vae = _copy(table_model).set_output(transform="pandas")
    X = digits_flat[0][300:350].copy()
    X[0, 0] = 1.2
    with pytest.warns(UserWarning, match="clipped") as record:
        out = vae.transform(X)
    assert type(out).__name__ == "DataFrame"
    clipping = [w for w in record if "clipped" in str(w.message)]
    assert [w.filename for w in clipping] == [__file__]


@pytest.mark.parametrize("how", ["fit", "partial_fit", "pipeline", "grid_search"])
def test_collapse_warning_points_at_user_line(images_30, how):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    X = 0.5 + 0.01 * images_30  # next to no variation: the codes collapse
    vae = VAETransformer(n_components=8, **TINY)
    with pytest.warns(UserWarning, match="latent dimensions are active") as record:
        if how == "fit":
            vae.fit(X)
        elif how == "partial_fit":
            vae.partial_fit(X)
        elif how == "pipeline":
            make_pipeline(vae).fit(X.reshape(len(X), -1))
        else:
            GridSearchCV(vae, {"lr": [1e-3]}, cv=2).fit(X)
    collapsed = [w for w in record if "latent dimensions are active" in str(w.message)]
    assert collapsed and {w.filename for w in collapsed} == {__file__}


# -- 7. random_state=None leaves numpy's global RNG alone ------------------------------
def test_random_state_none_leaves_global_numpy_rng(images_30):
    np.random.seed(1234)
    before = np.random.get_state()
    torch_before = torch.random.get_rng_state()
    kwargs = dict(TINY, random_state=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the tiny fit's collapsed units
        VAETransformer(**kwargs).fit(images_30)
    after = np.random.get_state()
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]
    assert torch.equal(torch_before, torch.random.get_rng_state())


# -- 8. warm-started early stopping validates on the same rows -------------------------
class RecordValidRows(Callback):
    """Records the rows of the validation split of each training call."""

    def __init__(self):
        self.calls = []

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.calls.append(None)

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if self.calls[-1] is None:
            self.calls[-1] = np.sort(np.asarray(dataset_valid.indices))


@pytest.mark.filterwarnings("ignore:Only .* latent dimensions are active")
def test_warm_start_early_stopping_validates_on_same_rows(images_30):
    recorder = RecordValidRows()
    vae = VAETransformer(**dict(TINY, random_state=None), early_stopping=True,
                         validation_fraction=0.3, warm_start=True,
                         callbacks=[("record", recorder)])
    vae.fit(images_30)
    vae.fit(images_30)
    vae.fit(images_30)
    first, second, third = recorder.calls
    assert len(first) == 9
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, third)
    # A new fit (not warm) draws a new split: the seed is not stuck.
    splits = set()
    for _ in range(4):
        fresh_recorder = RecordValidRows()
        VAETransformer(**dict(TINY, random_state=None), early_stopping=True,
                       validation_fraction=0.3,
                       callbacks=[("record", fresh_recorder)]).fit(images_30)
        splits.add(tuple(fresh_recorder.calls[0]))
    assert len(splits) > 1


# -- 9. callbacks ----------------------------------------------------------------------
@pytest.mark.parametrize("entry", [("a",), (1, EpochScoring("train_loss", on_train=True))],
                         ids=["one-element", "int-name"])
def test_malformed_callback_tuple_raises_showing_it(images_30, entry):
    vae = VAETransformer(**TINY, callbacks=[entry])
    with pytest.raises(ValueError, match=re.escape(repr(entry))):
        vae.fit(images_30)
    assert not hasattr(vae, "net_")


def test_callback_name_taken_raises(images_30, fitted_30):
    cb = EpochScoring("train_loss", on_train=True, name="my_score")
    vae = VAETransformer(**TINY, callbacks=[("lr_schedule", cb)])
    with pytest.raises(ValueError, match=r"'lr_schedule' is taken"):
        vae.fit(images_30)
    assert not hasattr(vae, "net_")
    # A fitted model given the taken name keeps what it had.
    fitted = _copy(fitted_30)
    codes = fitted.transform(images_30)
    fitted.set_params(callbacks=[("lr_schedule", cb)], warm_start=True)
    with pytest.raises(ValueError, match=r"is taken"):
        fitted.fit(images_30)
    np.testing.assert_array_equal(fitted.transform(images_30), codes)


# -- 10. layouts of new data -----------------------------------------------------------
def test_table_model_refuses_images(table_model, digits_flat):
    X = digits_flat[0][:10]
    with pytest.raises(ValueError, match=r"reshape"):
        table_model.transform(X.reshape(10, 8, 8))
    assert table_model.transform(X).shape == (10, 2)


def test_image_shape_model_accepts_images(digits_600_model, digits_flat):
    X = digits_flat[0][600:610]
    codes = digits_600_model.transform(X)
    np.testing.assert_array_equal(digits_600_model.transform(X.reshape(10, 8, 8)), codes)


# -- 11. the net is not a predictor ----------------------------------------------------
@pytest.mark.parametrize("method", ["forward", "predict"])
def test_net_forward_and_predict_point_to_transform(fitted_30, images_30, method):
    with pytest.raises(TypeError, match=r"VAETransformer") as info:
        getattr(fitted_30.net_, method)(images_30)
    assert "transform" in str(info.value)


# -- 12. the history's loss parts ------------------------------------------------------
def test_history_loss_parts_two_components(images_30):
    vae = VAETransformer(**dict(TINY, max_epochs=3)).fit(images_30)
    history = vae.net_.history
    for epoch in history:
        assert "train_nelbo" in epoch and "train_neighbor" in epoch
        assert epoch["train_neighbor"] > 0
        assert epoch["train_loss"] == pytest.approx(
            epoch["train_nelbo"] + epoch["train_neighbor"], rel=1e-6)
    assert vae.loss_curve_ == [epoch["train_loss"] for epoch in history]


def test_history_loss_parts_above_ten_components(images_30):
    # neighbor_weight="auto" is off above 10 dimensions.
    vae = VAETransformer(n_components=12, **dict(TINY, max_epochs=2)).fit(images_30)
    for epoch in vae.net_.history:
        assert "train_neighbor" not in epoch
        assert epoch["train_loss"] == pytest.approx(epoch["train_nelbo"], rel=1e-6)


def test_valid_loss_is_nelbo_scale(digits_flat):
    X = digits_flat[0][:150].reshape(-1, 8, 8)
    vae = VAETransformer(**dict(TINY, max_epochs=2, batch_size=32), early_stopping=True).fit(X)
    for epoch in vae.net_.history:
        nelbo, loss, valid = epoch["train_nelbo"], epoch["train_loss"], epoch["valid_loss"]
        assert loss - nelbo > 0.2 * nelbo  # the neighbor loss weighs in training
        assert abs(valid - nelbo) < abs(valid - loss), (valid, nelbo, loss)
        assert 0.5 * nelbo < valid < 1.5 * nelbo, (valid, nelbo)


# -- 13. a class never seen ------------------------------------------------------------
def test_conditional_score_with_unseen_class_no_runtime_warning(images_30):
    y = np.array([0, 1] * 15)
    vae = VAETransformer(conditional=True, **TINY)
    vae.partial_fit(images_30, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(vae.classes_, [0, 1, 2])
    assert vae.class_prior_[2] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        score = vae.score(images_30)
        per_row = vae.score_samples(images_30)
    assert math.isfinite(score)
    assert np.isfinite(per_row).all()


# -- 14. a divergence on the last step -------------------------------------------------
class PoisonLastStep(Callback):
    """After the loss of the very last training batch is recorded, sets a weight to NaN."""

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        self.n_batches_ = len(net.get_iterator(dataset_train, training=True))
        self.seen_ = 0
        self.epoch_ = getattr(self, "epoch_", 0) + 1

    def on_train_begin(self, net, **kwargs):
        self.epoch_ = 0

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        self.seen_ += 1
        if self.epoch_ == net.max_epochs and self.seen_ == self.n_batches_:
            assert math.isfinite(net.history[-1, "batches", -1, "train_loss"])
            with torch.no_grad():
                # The decoder's last weights: the codes stay finite.
                list(net.module_.parameters())[-1].fill_(float("nan"))


@pytest.mark.parametrize("sampler", ["gmm", "prior"])
def test_divergence_on_last_step_is_not_committed(images_30, sampler):
    vae = VAETransformer(**dict(TINY, max_epochs=2), sampler=sampler, warm_start=True)
    vae.fit(images_30)
    codes = vae.transform(images_30)
    n_iter = vae.n_iter_
    vae.set_params(callbacks=[("poison", PoisonLastStep())])
    with pytest.raises(skvae.TrainingDivergedError):
        vae.fit(images_30)
    assert vae.n_iter_ == n_iter
    assert all(torch.isfinite(p).all() for p in vae.net_.module_.parameters())
    np.testing.assert_array_equal(vae.transform(images_30), codes)
    assert np.isfinite(vae.sample(3, random_state=0)).all()
    # partial_fit's one epoch ends the same way, and is discarded the same way.
    with pytest.raises(skvae.TrainingDivergedError):
        vae.partial_fit(images_30)
    assert vae.n_iter_ == n_iter
    np.testing.assert_array_equal(vae.transform(images_30), codes)

    fresh = VAETransformer(**dict(TINY, max_epochs=2), sampler=sampler,
                           callbacks=[("poison", PoisonLastStep())])
    with pytest.raises(skvae.TrainingDivergedError):
        fresh.fit(images_30)
    assert not hasattr(fresh, "net_")


# -- review follow-ups ------------------------------------------------------------------
def test_a_callback_class_is_checked_as_skorch_builds_it(images_30):
    from skorch.callbacks import EarlyStopping

    vae = VAETransformer(callbacks=[EarlyStopping], **TINY)
    with pytest.raises(ValueError, match="monitors 'valid_loss'.*early_stopping=True"):
        vae.fit(images_30)
    assert not hasattr(vae, "net_")


def test_a_column_of_labels_warns_at_the_users_line(images_30):
    y = (np.arange(30) % 3).reshape(-1, 1)
    with pytest.warns(UserWarning, match=r"column-vector y.*ravel") as record:
        vae = VAETransformer(conditional=True, **TINY).fit(images_30, y)
    assert [w.filename for w in record if "column-vector" in str(w.message)] == [__file__]
    assert vae.classes_.tolist() == [0, 1, 2]


def test_a_label_sorted_stream_is_told_to_name_its_classes(images_30):
    vae = VAETransformer(conditional=True, **TINY).partial_fit(images_30[:10], np.zeros(10, int))
    codes = vae.transform(images_30)
    with pytest.raises(ValueError, match=r"Unknown label.*\[1\].*classes=\[\.\.\.\]"):
        vae.partial_fit(images_30[10:20], np.ones(10, int))
    np.testing.assert_array_equal(vae.transform(images_30), codes)
    with pytest.raises(ValueError, match=r"label\(s\) \[2\] that classes= does not list"):
        VAETransformer(conditional=True, **TINY).partial_fit(
            images_30[:3], [0, 1, 2], classes=[0, 1])


def test_new_data_past_the_clipping_share_is_told_the_share(table_model, digits_flat):
    X, _ = digits_flat
    shifted = X[:100] - 1e-3 * (np.arange(64) == 0)  # 100 of 6400 entries just below 0
    with pytest.raises(ValueError, match=r"100 of its 6400 entries outside \[0, 1\].*up to "
                                         r"1%.*np.clip"):
        table_model.transform(shifted)


def test_a_scheduler_class_replaces_the_default_schedule(images_30):
    from skorch.callbacks import LRScheduler

    vae = VAETransformer(callbacks=[LRScheduler], **TINY).fit(images_30)
    names = [name for name, _ in vae.net_.callbacks_]
    assert "LRScheduler" in names and "lr_schedule" not in names


def test_a_callback_class_that_needs_arguments_is_told_to_pass_an_instance(images_30):
    vae = VAETransformer(callbacks=[EpochScoring], **TINY)
    with pytest.raises(ValueError, match=r"class EpochScoring.*pass an instance"):
        vae.fit(images_30)
    with pytest.raises(ValueError, match=r"EpochScoring\('r2'\) scores the validation data"):
        vae.set_params(callbacks=[EpochScoring("r2")]).fit(images_30)


def test_a_conditional_models_loss_parts_add_up(images_30):
    vae = VAETransformer(conditional=True, **TINY).fit(images_30, np.arange(30) % 3)
    epoch = vae.net_.history[-1]
    assert "train_neighbor" not in epoch and epoch["train_adversary"] > 0
    assert math.isclose(epoch["train_loss"], epoch["train_nelbo"] + epoch["train_adversary"],
                        rel_tol=1e-6)
