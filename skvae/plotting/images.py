"""Figures of images: samples, reconstructions, per-class samples, style transfer."""

from numbers import Integral

import numpy as np

from ._grid import (MIN_TITLED_WIDTH, cell_centers, check_conditional_model,
                    check_image_model, check_n, grid_figsize, new_figure, pad_for,
                    show_grid)


def plot_samples(vae, n=16, random_state=None, fig=None):
    """A grid of ``n`` images drawn from the model with ``vae.sample``.

    Parameters
    ----------
    vae : fitted VAETransformer
        Must be fitted on images.
    n : int, default=16
        Number of samples, laid out on a grid of ``ceil(sqrt(n))`` columns.
    random_state : int, RandomState instance or None, default=None
        Passed to ``vae.sample``.
    fig : matplotlib Figure, default=None
        Figure to draw into (one Axes is added); a new figure is created
        when None.

    Returns
    -------
    fig : matplotlib Figure
        Its Axes holds the grid of samples in ``ax.images[0]``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skvae import VAETransformer
    >>> from skvae.plotting import plot_samples
    >>> X = load_digits().images / 16
    >>> vae = VAETransformer(architecture="mlp", max_epochs=5,
    ...                      random_state=0).fit(X)
    >>> fig = plot_samples(vae, n=9, random_state=0)
    """
    check_image_model(vae, "plot_samples")
    n = check_n(n)
    n_cols = int(np.ceil(np.sqrt(n)))
    n_rows = int(np.ceil(n / n_cols))
    if fig is None:
        fig = new_figure(grid_figsize(vae, n_rows, n_cols))
    ax = fig.add_subplot(1, 1, 1)
    show_grid(ax, vae, vae.sample(n, random_state=random_state), n_rows, n_cols,
               pad=pad_for(vae))
    ax.set_axis_off()
    ax.set_title(f"{n} samples from the model")
    return fig


def plot_reconstructions(vae, X, n=8, fig=None):
    """The first ``n`` images of ``X`` (top row) above their reconstructions.

    The reconstruction of ``x`` is ``vae.inverse_transform(vae.transform(x))``:
    the decoder's mean at the posterior mean of the code.

    Parameters
    ----------
    vae : fitted VAETransformer
        Must be fitted on images.
    X : array-like
        Images in a layout ``vae.transform`` accepts; the first ``n`` are
        used (all of them if there are fewer).
    n : int, default=8
        Number of images.
    fig : matplotlib Figure, default=None
        Figure to draw into (one Axes is added); a new figure is created
        when None.

    Returns
    -------
    fig : matplotlib Figure
        Its Axes holds the two rows, originals above reconstructions, in
        ``ax.images[0]``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skvae import VAETransformer
    >>> from skvae.plotting import plot_reconstructions
    >>> X = load_digits().images / 16
    >>> vae = VAETransformer(architecture="mlp", max_epochs=5,
    ...                      random_state=0).fit(X)
    >>> fig = plot_reconstructions(vae, X, n=8)
    """
    check_image_model(vae, "plot_reconstructions")
    n = check_n(n)
    # Keep a DataFrame a DataFrame, so its column names reach transform.
    X = X.iloc[:n] if hasattr(X, "iloc") else np.asarray(X)[:n]
    if len(X) == 0:
        raise ValueError("X holds no samples to reconstruct.")
    n = len(X)
    recon = vae.inverse_transform(vae.transform(X))
    originals = np.asarray(X, dtype=np.float64).reshape(n, -1)
    both = np.concatenate([originals, np.asarray(recon).reshape(n, -1)])
    if fig is None:
        fig = new_figure(grid_figsize(vae, 2, n, extra_width=1.2))
    ax = fig.add_subplot(1, 1, 1)
    pad = pad_for(vae)
    show_grid(ax, vae, both, 2, n, pad=pad)
    _, H, _ = vae.image_shape_
    ax.set_xticks([])
    ax.set_yticks(cell_centers(2, H, pad), ["original", "reconstruction"])
    ax.tick_params(axis="y", length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title("Reconstructions")
    return fig


def plot_conditional_samples(vae, n_per_class=8, random_state=None, fig=None):
    """One row of samples per class, drawn from a conditional model.

    Row ``k`` shows ``vae.sample(n_per_class, y=vae.classes_[k])``. Every
    row is drawn from the same latent codes, so the rows differ only in
    the class the decoder was asked for and each column shows one style
    (slant, stroke width) drawn as every class.

    Parameters
    ----------
    vae : fitted VAETransformer
        Must be fitted on images with ``conditional=True``.
    n_per_class : int, default=8
        Number of samples in each row.
    random_state : int, RandomState instance or None, default=None
        Seeds the codes. An int is passed to ``vae.sample`` as it is, so row
        ``k`` equals ``vae.sample(n_per_class, random_state, y=vae.classes_[k])``;
        otherwise one seed for all rows is drawn from it.
    fig : matplotlib Figure, default=None
        Figure to draw into (one Axes is added); a new figure is created
        when None.

    Returns
    -------
    fig : matplotlib Figure
        Its Axes holds the mosaic in ``ax.images[0]``, ``n_classes`` rows of
        ``n_per_class`` images, and one y tick label per row: the class.

    Raises
    ------
    ValueError
        If the model was fitted on tabular data or is not conditional.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skvae import VAETransformer
    >>> from skvae.plotting import plot_conditional_samples
    >>> X, y = load_digits(return_X_y=True)
    >>> vae = VAETransformer(conditional=True, image_shape=(8, 8), architecture="mlp",
    ...                      max_epochs=5, random_state=0).fit(X / 16, y)
    >>> fig = plot_conditional_samples(vae, n_per_class=6, random_state=0)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()][:3]
    ['0', '1', '2']
    """
    from sklearn.utils import check_random_state

    check_conditional_model(vae, "plot_conditional_samples")
    n = check_n(n_per_class, "n_per_class")
    if isinstance(random_state, Integral):
        seed = int(random_state)
    else:
        seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    classes = vae.classes_
    samples = np.concatenate([
        np.asarray(vae.sample(n, random_state=seed, y=k)).reshape(n, -1)
        for k in classes
    ])
    n_rows = len(classes)
    if fig is None:
        width, height = grid_figsize(vae, n_rows, n, extra_width=0.8)
        fig = new_figure((max(width, MIN_TITLED_WIDTH), height))
    ax = fig.add_subplot(1, 1, 1)
    pad = pad_for(vae)
    show_grid(ax, vae, samples, n_rows, n, pad=pad)
    _, H, _ = vae.image_shape_
    ax.set_xticks([])
    ax.set_yticks(cell_centers(n_rows, H, pad), [str(k) for k in classes])
    ax.tick_params(axis="y", length=0)
    ax.set_ylabel("class")
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(f"{n} samples per class\n(each column shares one latent code)")
    return fig


def plot_style_transfer(vae, X, classes=None, fig=None):
    """Images of ``X`` redrawn as every class by a conditional model.

    Row ``i`` starts with the image ``X[i]`` and continues with
    ``vae.inverse_transform(vae.transform(X[i]), y=k)`` for each class
    ``k``: the code of the image carries its style, the label the class,
    so every row shows one handwriting writing every digit.

    Parameters
    ----------
    vae : fitted VAETransformer
        Must be fitted on images with ``conditional=True``.
    X : array-like
        Images in a layout ``vae.transform`` accepts; one row each, so
        pass a handful (e.g. ``X[:8]``).
    classes : array-like, default=None
        Labels to redraw the images as, one column each, in this order;
        None uses every class of the model (``vae.classes_``).
    fig : matplotlib Figure, default=None
        Figure to draw into (one Axes is added); a new figure is created
        when None.

    Returns
    -------
    fig : matplotlib Figure
        Its Axes holds the mosaic in ``ax.images[0]``, ``len(X)`` rows of
        ``1 + len(classes)`` images, and one x tick label per column:
        "input", then the classes.

    Raises
    ------
    ValueError
        If the model was fitted on tabular data or is not conditional, if
        ``X`` is empty, or if ``classes`` holds a label the model does not
        know.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skvae import VAETransformer
    >>> from skvae.plotting import plot_style_transfer
    >>> X, y = load_digits(return_X_y=True)
    >>> vae = VAETransformer(conditional=True, image_shape=(8, 8), architecture="mlp",
    ...                      max_epochs=5, random_state=0).fit(X / 16, y)
    >>> fig = plot_style_transfer(vae, X[:4] / 16, classes=[1, 7])
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['input', '1', '7']
    """
    check_conditional_model(vae, "plot_style_transfer")
    classes = vae.classes_ if classes is None else np.atleast_1d(np.asarray(classes))
    if classes.ndim != 1 or len(classes) == 0:
        raise ValueError(f"classes must be a non-empty list of labels; got {classes!r}.")
    n = len(X)
    if n == 0:
        raise ValueError("X holds no images to redraw.")
    codes = vae.transform(X)
    originals = np.asarray(X, dtype=np.float64).reshape(n, 1, -1)
    redrawn = np.stack(
        [np.asarray(vae.inverse_transform(codes, y=k)).reshape(n, -1)
         for k in classes],
        axis=1,
    )
    n_cols = 1 + len(classes)
    cells = np.concatenate([originals, redrawn], axis=1).reshape(n * n_cols, -1)
    if fig is None:
        width, height = grid_figsize(vae, n, n_cols, extra_height=0.6)
        fig = new_figure((max(width, MIN_TITLED_WIDTH), height))
    ax = fig.add_subplot(1, 1, 1)
    pad = pad_for(vae)
    show_grid(ax, vae, cells, n, n_cols, pad=pad)
    _, _, W = vae.image_shape_
    # A line between the inputs and the redrawn images.
    ax.axvline(W - 0.5 + pad / 2, color="0.3", linewidth=1.0)
    ax.xaxis.tick_top()
    ax.set_xticks(cell_centers(n_cols, W, pad), ["input", *(str(k) for k in classes)])
    ax.set_yticks([])
    ax.tick_params(axis="x", length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title("Inputs redrawn as each class")
    return fig
