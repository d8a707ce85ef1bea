"""Tests of skvae.plotting on tiny models fitted to scikit-learn's digits."""

import copy
import subprocess
import sys
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy.stats import norm  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from skvae import VAETransformer  # noqa: E402
from skvae import plotting  # noqa: E402
from skvae.plotting import _grid  # noqa: E402
from skvae.plotting import (  # noqa: E402
    plot_history,
    plot_latent_space,
    plot_manifold,
    plot_reconstructions,
    plot_samples,
)

N = 240  # digits used by the tests
TINY = {"hidden_dim": 32, "batch_size": 64, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    digits = load_digits()
    rng = np.random.RandomState(0)
    idx = rng.permutation(len(digits.target))[:N]
    return (digits.images[idx] / 16.0).astype(np.float32), digits.target[idx]


@pytest.fixture(scope="module")
def models(data):
    """Tiny models of every kind the figures must handle, fitted once."""
    X, _ = data
    rng = np.random.RandomState(0)
    with warnings.catch_warnings():
        # Models this small may warn that latent dimensions collapsed.
        warnings.simplefilter("ignore", UserWarning)
        return _fit_models(X, rng)


def _fit_models(X, rng):
    return {
        # 1-channel images, given as (n, 8, 8)
        "mlp2": VAETransformer(2, architecture="mlp", max_epochs=3, **TINY).fit(X),
        "mlp3": VAETransformer(3, architecture="mlp", max_epochs=1, neighbor_weight=0,
                               **TINY).fit(X),
        "mlp1": VAETransformer(1, architecture="mlp", max_epochs=1, **TINY).fit(X),
        # 1-channel images, given flat with image_shape, through the conv net
        "conv": VAETransformer(2, channels=(4,), max_epochs=1, image_shape=(8, 8),
                               **TINY).fit(X.reshape(N, 64)),
        # 3-channel images (n, 3, 8, 8) in [0, 1]
        "rgb": VAETransformer(2, channels=(4,), max_epochs=1, **TINY).fit(
            rng.uniform(size=(60, 3, 8, 8)).astype(np.float32)),
        # standardized images under the Gaussian likelihood
        "gauss": VAETransformer(2, likelihood="gaussian", architecture="mlp",
                                max_epochs=1, **TINY).fit((X - 0.3) / 0.4),
        # tabular data
        "tabular": VAETransformer(2, max_epochs=1, **TINY).fit(
            rng.uniform(size=(60, 5))),
        # with a validation split, so the history has valid_loss
        "valid": VAETransformer(2, architecture="mlp", max_epochs=3,
                                early_stopping=True, validation_fraction=0.2,
                                **TINY).fit(X),
    }


@pytest.fixture(autouse=True)
def _close_figures(monkeypatch):
    def no_show(*args, **kwargs):
        raise AssertionError("plotting functions must not call plt.show()")

    monkeypatch.setattr(plt, "show", no_show)
    yield
    plt.close("all")


def _mosaic(ax):
    return np.asarray(ax.images[0].get_array())


def _cell(mosaic, i, j, h, w, pad=0):
    return mosaic[i * (h + pad):i * (h + pad) + h, j * (w + pad):j * (w + pad) + w]


# -- the library module ------------------------------------------------------
def test_import_leaves_backend_and_pyplot_alone():
    # rcParams' raw "backend" entry: get_backend() would resolve it (and
    # import pyplot) itself.
    code = ("import sys, matplotlib; "
            "raw = lambda: dict.__getitem__(matplotlib.rcParams, 'backend'); "
            "before = raw(); import skvae.plotting; "
            "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
            "assert raw() == before, (before, raw())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# -- plot_latent_space -----------------------------------------------------
def test_latent_space_2d(models, data):
    X, y = data
    ax = plot_latent_space(models["mlp2"], X, y)
    assert isinstance(ax, Axes)
    points = ax.collections[0].get_offsets()
    assert len(points) == N
    np.testing.assert_allclose(points, models["mlp2"].transform(X), rtol=1e-5)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [str(c) for c in np.unique(y)]
    assert "PCA" not in ax.get_title()
    assert ax.get_xlabel() == "z[0]" and ax.get_ylabel() == "z[1]"


def test_latent_space_colours_follow_classes(models, data):
    X, y = data
    ax = plot_latent_space(models["mlp2"], X, y)
    points = ax.collections[0]
    face = points.to_rgba(points.get_array())[:, :3]
    handles = ax.get_legend().legend_handles
    for cls, handle in zip(np.unique(y), handles):
        expected = matplotlib.colors.to_rgb(handle.get_color())
        np.testing.assert_allclose(face[y == cls], np.tile(expected, ((y == cls).sum(), 1)))


def test_latent_space_projects_higher_dims(models, data):
    X, y = data
    ax = plot_latent_space(models["mlp3"], X, y)
    assert "PCA" in ax.get_title() and "3-D" in ax.get_title()
    assert len(ax.collections[0].get_offsets()) == N


@pytest.mark.parametrize("with_labels", [True, False])
def test_latent_space_1d(models, data, with_labels):
    X, y = data
    ax = plot_latent_space(models["mlp1"], X, y if with_labels else None)
    points = ax.collections[0].get_offsets()
    assert len(points) == N
    if with_labels:
        assert "label" in ax.get_title()
        np.testing.assert_array_equal(points[:, 1], np.searchsorted(np.unique(y), y))
    else:
        assert "zero" in ax.get_title()
        assert np.all(points[:, 1] == 0)


def test_latent_space_without_labels_has_no_legend(models, data):
    X, _ = data
    ax = plot_latent_space(models["mlp2"], X)
    assert ax.get_legend() is None
    assert len(ax.collections[0].get_offsets()) == N


def test_latent_space_draws_into_given_axes(models, data):
    X, y = data
    fig, ax = plt.subplots()
    assert plot_latent_space(models["mlp2"], X, y, ax=ax) is ax
    assert len(fig.axes) == 1


@pytest.mark.parametrize("name", ["mlp2", "mlp3"])
@pytest.mark.parametrize("words", [False, True])
def test_latent_space_legend_stays_inside_a_given_axes(models, data, name, words):
    """Side by side, a legend must not lie over the neighbouring plot."""
    X, y = data
    if words:
        y = np.array(["zero", "one", "two", "three", "four", "five", "six",
                      "seven", "eight", "nine"])[y]
    fig, (left, right) = plt.subplots(1, 2)
    plot_latent_space(models[name], X, y, ax=left)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = left.get_legend().get_window_extent(renderer)
    assert _inside(legend, left.get_window_extent(renderer))
    assert not legend.overlaps(right.get_window_extent(renderer))
    assert len(left.get_legend().get_texts()) == 10


def test_latent_space_legend_beside_the_scatter_in_its_own_figure(models, data):
    """A figure made here is sized for the legend right of the points."""
    X, y = data
    ax = plot_latent_space(models["mlp2"], X, y)
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.x0 >= ax.get_window_extent(renderer).x1
    assert _inside(legend, fig.bbox)


def test_latent_space_string_labels(models, data):
    X, y = data
    names = np.array(["zero", "one", "two", "three", "four", "five", "six",
                      "seven", "eight", "nine"])[y]
    ax = plot_latent_space(models["mlp2"], X, names)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == sorted(set(names))


def test_latent_space_rejects_bad_y(models, data):
    X, y = data
    with pytest.raises(ValueError, match="one label per sample"):
        plot_latent_space(models["mlp2"], X, y[:-1])


# -- plot_manifold -----------------------------------------------------------
@pytest.mark.parametrize("name", ["mlp2", "conv"])
def test_manifold_grayscale_shape_and_ticks(models, name):
    n = 5
    ax = plot_manifold(models[name], n=n)
    assert isinstance(ax, Axes)
    assert _mosaic(ax).shape == (n * 8, n * 8)
    image = ax.images[0]
    assert image.get_cmap().name == "gray" and image.get_clim() == (0.0, 1.0)
    # The grid spans where the training codes lie, along each axis.
    lo, hi = models[name].code_range_
    xticks = [float(t.get_text()) for t in ax.get_xticklabels()]
    yticks = [float(t.get_text()) for t in ax.get_yticklabels()]
    np.testing.assert_allclose(xticks, np.linspace(lo[0], hi[0], n), atol=0.051)
    np.testing.assert_allclose(yticks, np.linspace(lo[1], hi[1], n)[::-1], atol=0.051)
    assert ax.get_xlabel() == "z[0]" and ax.get_ylabel() == "z[1]"
    assert "where the training codes lie" in ax.get_title()


def test_manifold_of_a_model_without_code_range_spans_the_prior(models):
    """Models pickled before code_range_ existed had N(0, 1)-shaped codes."""
    vae = copy.copy(models["mlp2"])
    del vae.code_range_
    ax = plot_manifold(vae, n=5)
    xticks = [float(t.get_text()) for t in ax.get_xticklabels()]
    np.testing.assert_allclose(xticks, np.linspace(norm.ppf(0.05), norm.ppf(0.95), 5),
                               atol=0.051)
    assert "prior's 5%-95% quantiles" in ax.get_title()


def test_manifold_cells_are_decoded_grid(models):
    vae, n = models["mlp2"], 4
    ax = plot_manifold(vae, n=n, extent=(-2, 2))
    mosaic = _mosaic(ax)
    grid = np.linspace(-2, 2, n)
    for i, j in [(0, 0), (0, n - 1), (n - 1, 0), (2, 1)]:
        # Row 0 is the top, where the vertical coordinate is highest.
        z = np.array([[grid[j], grid[::-1][i]]], dtype=np.float32)
        expected = vae.inverse_transform(z)[0]
        np.testing.assert_allclose(_cell(mosaic, i, j, 8, 8), expected, atol=1e-6)
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "-2.0"
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "2.0"


def test_manifold_rgb_shape(models):
    n = 6
    ax = plot_manifold(models["rgb"], n=n)
    mosaic = _mosaic(ax)
    assert mosaic.shape == (n * 8, n * 8, 3)
    assert mosaic.min() >= 0 and mosaic.max() <= 1


def test_manifold_higher_dims_hold_others_at_the_middle_of_the_codes(models):
    vae = models["mlp3"]
    ax = plot_manifold(vae, n=3, dims=(2, 0), extent=(-1, 1))
    assert "held at the middle of the codes" in ax.get_title()
    assert ax.get_xlabel() == "z[2]" and ax.get_ylabel() == "z[0]"
    middle = vae.code_range_.mean(axis=0)[1]
    z = np.array([[1.0, middle, -1.0]], dtype=np.float32)  # top-left: z2=-1, z0=1
    np.testing.assert_allclose(_cell(_mosaic(ax), 0, 0, 8, 8),
                               vae.inverse_transform(z)[0], atol=1e-6)


def test_manifold_one_latent_dim_is_one_row(models):
    ax = plot_manifold(models["mlp1"], n=7)
    assert _mosaic(ax).shape == (8, 7 * 8)


def test_manifold_needs_images(models):
    with pytest.raises(ValueError, match="fitted on images"):
        plot_manifold(models["tabular"])


@pytest.mark.parametrize("kwargs, match", [
    ({"dims": (0, 0)}, "dims"),
    ({"dims": (0, 2)}, "dims"),
    ({"extent": (1, -1)}, "extent"),
    ({"extent": 3}, "extent"),
    ({"n": 0}, "n"),
])
def test_manifold_rejects_bad_arguments(models, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_manifold(models["mlp2"], **kwargs)


# -- plot_samples and plot_reconstructions -------------------------------------
def test_samples_grid(models):
    vae = models["mlp2"]
    fig = plot_samples(vae, n=9, random_state=0)
    assert isinstance(fig, Figure)
    mosaic = _mosaic(fig.axes[0])
    pad = _grid.pad_for(vae)
    assert mosaic.shape == (3 * 8 + 2 * pad, 3 * 8 + 2 * pad)
    samples = vae.sample(9, random_state=0)
    np.testing.assert_allclose(_cell(mosaic, 1, 2, 8, 8, pad), samples[5], atol=1e-6)
    again = _mosaic(plot_samples(vae, n=9, random_state=0).axes[0])
    np.testing.assert_array_equal(mosaic, again)


def test_samples_draws_into_given_figure(models):
    fig = plt.figure()
    assert plot_samples(models["rgb"], n=5, fig=fig) is fig
    mosaic = _mosaic(fig.axes[0])
    assert mosaic.ndim == 3 and mosaic.shape[2] == 3  # 3 x 2 grid of RGB images


def test_samples_gaussian_images_are_rescaled(models):
    fig = plot_samples(models["gauss"], n=4, random_state=0)
    mosaic = _mosaic(fig.axes[0])
    pad = _grid.pad_for(models["gauss"])
    for k in range(4):
        cell = _cell(mosaic, k // 2, k % 2, 8, 8, pad)
        assert cell.min() == pytest.approx(0.0) and cell.max() == pytest.approx(1.0)


def test_reconstructions_rows_align(models, data):
    X, _ = data
    vae, n = models["conv"], 6
    flat = X.reshape(N, 64)
    fig = plot_reconstructions(vae, flat, n=n)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    mosaic = _mosaic(ax)
    pad = _grid.pad_for(vae)
    assert mosaic.shape == (2 * 8 + pad, n * 8 + (n - 1) * pad)
    recon = vae.inverse_transform(vae.transform(flat[:n])).reshape(n, 8, 8)
    for j in range(n):
        np.testing.assert_allclose(_cell(mosaic, 0, j, 8, 8, pad), X[j], atol=1e-6)
        np.testing.assert_allclose(_cell(mosaic, 1, j, 8, 8, pad), recon[j], atol=1e-6)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["original", "reconstruction"]


def test_reconstructions_rgb_and_short_input(models):
    rng = np.random.RandomState(1)
    X = rng.uniform(size=(3, 3, 8, 8)).astype(np.float32)
    fig = plot_reconstructions(models["rgb"], X, n=8)  # only 3 available
    pad = _grid.pad_for(models["rgb"])
    assert _mosaic(fig.axes[0]).shape == (2 * 8 + pad, 3 * 8 + 2 * pad, 3)


@pytest.mark.parametrize("func", [plot_samples, plot_reconstructions])
def test_image_figures_need_images(models, func):
    args = (np.zeros((2, 5)),) if func is plot_reconstructions else ()
    with pytest.raises(ValueError, match="fitted on images"):
        func(models["tabular"], *args)


# -- plot_history --------------------------------------------------------------
def _inside(inner, outer, tol=1.0):
    """Whether display-space box ``inner`` lies within ``outer`` (to ``tol`` pixels)."""
    return (inner.x0 >= outer.x0 - tol and inner.x1 <= outer.x1 + tol
            and inner.y0 >= outer.y0 - tol and inner.y1 <= outer.y1 + tol)


def _legends_inside(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return all(_inside(ax.get_legend().get_window_extent(renderer),
                       ax.get_window_extent(renderer))
               for ax in fig.axes)


def _with_history(vae, rows):
    """A shallow copy of ``vae`` whose net has the history ``rows``."""
    from types import SimpleNamespace

    from skorch.history import History

    vae = copy.copy(vae)
    vae.net_ = SimpleNamespace(history=History(
        [{"epoch": i + 1, **row} for i, row in enumerate(rows)]))
    return vae


def test_history_plots_the_nelbo_not_the_objective(models):
    """A 2-D model trains on -ELBO + neighbor term; the -ELBO axis shows the -ELBO."""
    vae = models["mlp2"]
    history = vae.net_.history
    assert "train_neighbor" in history[-1]  # the neighbor loss is on at 2-D
    ax = plot_history(vae)
    assert isinstance(ax, Axes)
    assert ax.get_ylabel() == "-ELBO per sample (nats)"
    assert ax.get_title() == "Training history"
    assert [line.get_label() for line in ax.lines] == ["train"]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), history[:, "train_nelbo"])
    assert not np.allclose(ax.lines[0].get_ydata(), history[:, "train_loss"])


def test_history_draws_the_neighbor_term_in_a_panel_below(models):
    vae = models["mlp2"]
    history = vae.net_.history
    ax = plot_history(vae)
    fig = ax.figure
    assert len(fig.axes) == 2
    neighbor = fig.axes[-1]
    assert neighbor.get_ylabel() == "weighted neighbor term"
    assert [line.get_label() for line in neighbor.lines] == ["train"]
    np.testing.assert_allclose(neighbor.lines[0].get_ydata(), history[:, "train_neighbor"])
    # The two parts add up to the objective trained on.
    np.testing.assert_allclose(ax.lines[0].get_ydata() + neighbor.lines[0].get_ydata(),
                               history[:, "train_loss"], rtol=1e-5)
    # One epoch axis, labelled once, under the lower panel.
    assert neighbor.get_shared_x_axes().joined(ax, neighbor)
    assert neighbor.get_xlabel() == "epoch" and ax.get_xlabel() == ""
    fig.canvas.draw()
    assert neighbor.get_position().y1 <= ax.get_position().y0
    assert _legends_inside(fig)


def test_history_without_neighbor_term_has_one_axes(models):
    vae = models["mlp3"]  # trained without the neighbor term
    history = vae.net_.history
    assert "train_neighbor" not in history[-1]
    ax = plot_history(vae)
    assert ax.figure.axes == [ax]
    assert ax.get_xlabel() == "epoch"
    assert ax.get_ylabel() == "-ELBO per sample (nats)"
    assert [line.get_label() for line in ax.lines] == ["train"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), history[:, "train_nelbo"])
    assert _legends_inside(ax.figure)


def test_history_with_validation(models):
    vae = models["valid"]
    history = vae.net_.history
    fig, given = plt.subplots()
    ax = plot_history(vae, ax=given)
    assert ax is given
    assert [line.get_label() for line in ax.lines] == ["train", "validation"]
    n_epochs = len(history)
    assert all(len(line.get_xdata()) == n_epochs for line in ax.lines)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), history[:, "train_nelbo"])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), history[:, "valid_loss"])
    assert fig.axes[-1].get_ylabel() == "weighted neighbor term"
    assert _legends_inside(fig)


def test_history_in_a_subplot_keeps_to_its_cell(models):
    fig, (left, right) = plt.subplots(1, 2, layout="constrained")
    plot_history(models["mlp2"], ax=left)
    plot_history(models["mlp3"], ax=right)
    assert len(fig.axes) == 3
    neighbor = fig.axes[-1]
    fig.canvas.draw()
    # The neighbor panel sits under the -ELBO panel it belongs to, in the
    # left column, clear of the right-hand plot.
    assert neighbor.get_position().x0 == pytest.approx(left.get_position().x0)
    assert neighbor.get_position().x1 < right.get_position().x0
    assert neighbor.get_position().y1 <= left.get_position().y0
    assert neighbor.get_position().y0 >= right.get_position().y0 - 0.05
    assert _legends_inside(fig)


def test_history_in_axes_placed_by_hand_splits_its_rectangle(models):
    fig = plt.figure()
    rect = [0.1, 0.1, 0.8, 0.8]
    ax = plot_history(models["mlp2"], ax=fig.add_axes(rect))
    top, bottom = ax.get_position(), fig.axes[-1].get_position()
    assert top.x0 == pytest.approx(0.1) and top.y1 == pytest.approx(0.9)
    assert bottom.x0 == pytest.approx(0.1) and bottom.y0 == pytest.approx(0.1)
    assert bottom.width == pytest.approx(0.8) and bottom.y1 < top.y0


def test_history_of_a_net_without_train_nelbo_draws_the_objective(models):
    """A net trained elsewhere records only train_loss: drawn, and labelled so."""
    vae = _with_history(models["mlp3"], [{"train_loss": 50.0}, {"train_loss": 40.0}])
    ax = plot_history(vae)
    assert [line.get_label() for line in ax.lines] == ["train (objective)"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [50.0, 40.0])
    assert ax.figure.axes == [ax]


def test_history_neighbor_term_only_over_the_epochs_that_had_it(models):
    """A neighbor weight switched off between calls leaves epochs without the term."""
    rows = [{"train_loss": 230.0, "train_nelbo": 30.0, "train_neighbor": 200.0},
            {"train_loss": 220.0, "train_nelbo": 28.0, "train_neighbor": 192.0},
            {"train_loss": 27.0, "train_nelbo": 27.0}]
    ax = plot_history(_with_history(models["mlp3"], rows))
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [30.0, 28.0, 27.0])
    neighbor = ax.figure.axes[-1]
    np.testing.assert_array_equal(neighbor.lines[0].get_xdata(), [1, 2])
    np.testing.assert_allclose(neighbor.lines[0].get_ydata(), [200.0, 192.0])


def test_history_needs_fitted_model():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        plot_history(VAETransformer())


# -- the image helper ------------------------------------------------------------
def test_to_images_accepts_every_layout(models, data):
    X, _ = data
    vae = models["mlp2"]
    ref, kwargs = _grid.to_images(vae, X[:4])
    assert ref.shape == (4, 8, 8) and kwargs["cmap"] == "gray"
    for layout in (X[:4].reshape(4, 64), X[:4].reshape(4, 1, 8, 8)):
        np.testing.assert_array_equal(_grid.to_images(vae, layout)[0], ref)
    with pytest.raises(ValueError, match="as images"):
        _grid.to_images(vae, np.zeros((4, 63)))


def test_to_images_rgb_channels_last_and_clipped(models):
    vae = models["rgb"]
    X = np.linspace(-0.5, 1.5, 2 * 3 * 8 * 8).reshape(2, 3, 8, 8)
    images, kwargs = _grid.to_images(vae, X)
    assert images.shape == (2, 8, 8, 3) and kwargs == {}
    assert images.min() == 0 and images.max() == 1
    np.testing.assert_array_equal(images[0, 2, 3], np.clip(X[0, :, 2, 3], 0, 1))


def test_tile_lays_out_row_by_row():
    images = np.arange(5 * 2 * 3, dtype=float).reshape(5, 2, 3)
    mosaic = _grid.tile(images, 2, 3, pad=1, fill=-1)
    assert mosaic.shape == (2 * 2 + 1, 3 * 3 + 2)
    np.testing.assert_array_equal(mosaic[3:5, 4:7], images[4])
    assert np.all(mosaic[3:5, 8:11] == -1)  # the empty sixth cell
    assert np.all(mosaic[2] == -1)  # the separator row


# -- conditional models: plot_conditional_samples and plot_style_transfer --------
@pytest.fixture(scope="module")
def cvae(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # collapsed latent dimensions
        return VAETransformer(conditional=True, max_epochs=2, batch_size=64,
                              random_state=0).fit(X, y)


def test_conditional_samples_one_row_per_class(cvae):
    n = 5
    fig = plotting.plot_conditional_samples(cvae, n_per_class=n, random_state=0)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    mosaic = _mosaic(ax)
    pad = _grid.pad_for(cvae)
    assert mosaic.shape == (10 * 8 + 9 * pad, n * 8 + (n - 1) * pad)
    assert [t.get_text() for t in ax.get_yticklabels()] == [str(k) for k in range(10)]
    assert ax.get_ylabel() == "class"
    for k in (0, 3, 9):
        row = cvae.sample(n, random_state=0, y=k)  # an int seed is passed as it is
        for j in (0, n - 1):
            np.testing.assert_allclose(_cell(mosaic, k, j, 8, 8, pad), row[j], atol=1e-6)
    again = _mosaic(plotting.plot_conditional_samples(cvae, n_per_class=n,
                                                      random_state=0).axes[0])
    np.testing.assert_array_equal(mosaic, again)


def test_conditional_samples_into_given_figure_with_rng(cvae):
    fig = plt.figure()
    rng = np.random.RandomState(0)
    assert plotting.plot_conditional_samples(cvae, n_per_class=3, random_state=rng,
                                             fig=fig) is fig
    pad = _grid.pad_for(cvae)
    assert _mosaic(fig.axes[0]).shape == (10 * 8 + 9 * pad, 3 * 8 + 2 * pad)


def test_style_transfer_layout(cvae, data):
    X, _ = data
    n = 4
    fig = plotting.plot_style_transfer(cvae, X[:n])
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    mosaic = _mosaic(ax)
    pad = _grid.pad_for(cvae)
    assert mosaic.shape == (n * 8 + (n - 1) * pad, 11 * 8 + 10 * pad)
    assert [t.get_text() for t in ax.get_xticklabels()] == \
        ["input"] + [str(k) for k in range(10)]
    codes = cvae.transform(X[:n])
    for i in range(n):
        np.testing.assert_allclose(_cell(mosaic, i, 0, 8, 8, pad), X[i], atol=1e-6)
    for k in (0, 4, 9):
        redrawn = cvae.inverse_transform(codes, y=k)
        for i in (0, n - 1):
            np.testing.assert_allclose(_cell(mosaic, i, 1 + k, 8, 8, pad), redrawn[i],
                                       atol=1e-6)


def test_style_transfer_chosen_classes_flat_input(cvae, data):
    X, _ = data
    fig = plt.figure()
    flat = X[:3].reshape(3, 64)
    assert plotting.plot_style_transfer(cvae, flat, classes=[7, 1], fig=fig) is fig
    ax = fig.axes[0]
    mosaic = _mosaic(ax)
    pad = _grid.pad_for(cvae)
    assert mosaic.shape == (3 * 8 + 2 * pad, 3 * 8 + 2 * pad)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["input", "7", "1"]
    np.testing.assert_allclose(_cell(mosaic, 2, 1, 8, 8, pad),
                               cvae.inverse_transform(cvae.transform(X[2:3]), y=7)[0],
                               atol=1e-6)
    with pytest.raises(ValueError, match=r"Unknown label\(s\) \[12\]"):
        plotting.plot_style_transfer(cvae, X[:2], classes=[1, 12])
    with pytest.raises(ValueError, match="no images"):
        plotting.plot_style_transfer(cvae, X[:0])


@pytest.mark.parametrize("func", ["plot_conditional_samples", "plot_style_transfer"])
def test_conditional_figures_need_a_conditional_model(models, data, func):
    X, _ = data
    transfer = func == "plot_style_transfer"
    with pytest.raises(ValueError, match="needs a model fitted with conditional=True"):
        getattr(plotting, func)(models["mlp2"], *([X[:2]] if transfer else []))
    with pytest.raises(ValueError, match="fitted on images"):
        getattr(plotting, func)(models["tabular"], *([np.zeros((2, 5))] if transfer else []))
