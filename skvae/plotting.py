"""Figures for a fitted :class:`~skvae.VAETransformer`.

The functions follow matplotlib's conventions: each draws into the Axes
(``ax``) or Figure (``fig``) it is given, creates one with
:mod:`matplotlib.pyplot` only when none is given, returns what it drew
into, and never calls ``plt.show()``. The backend is left alone, so pick a
non-interactive one (``matplotlib.use("Agg")``) yourself for scripts
that only save files.

* :func:`plot_latent_space` -- the codes of ``X`` as a scatter coloured by
  label;
* :func:`plot_manifold` -- images decoded from a regular grid over the
  latent plane (the figure of Kingma and Welling, and of the Keras VAE
  tutorial);
* :func:`plot_samples` -- images drawn from the model;
* :func:`plot_reconstructions` -- images above their reconstructions;
* :func:`plot_history` -- the training (and validation) loss per epoch;
* :func:`plot_conditional_samples` -- for a conditional model, a row of
  samples per class;
* :func:`plot_style_transfer` -- for a conditional model, images redrawn
  as every class.
"""

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted, check_scalar

__all__ = [
    "plot_conditional_samples",
    "plot_history",
    "plot_latent_space",
    "plot_manifold",
    "plot_reconstructions",
    "plot_samples",
    "plot_style_transfer",
]

#: Inches of figure per image cell when a function creates the figure.
_CELL_INCHES = 0.8

#: Inches of width a created figure needs for a title of about 35 characters.
_MIN_TITLED_WIDTH = 4.0

#: plot_manifold draws lines between the cells of images smaller than this.
_SEPARATE_BELOW = 16


# -- helpers ---------------------------------------------------------------
def _pyplot():
    import matplotlib.pyplot as plt

    return plt


def _new_axes(figsize):
    fig, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def _new_figure(figsize):
    return _pyplot().figure(figsize=figsize, layout="constrained")


def _check_image_model(vae, what):
    check_is_fitted(vae)
    if getattr(vae, "image_shape_", None) is None:
        raise ValueError(
            f"{what} needs a model fitted on images, but this "
            f"{type(vae).__name__} was fitted on tabular data (image_shape_ is "
            "None). Fit it on (n, H, W) or (n, C, H, W) arrays, or pass "
            "image_shape=(H, W) or (C, H, W) for flattened images."
        )


def _check_conditional_model(vae, what):
    _check_image_model(vae, what)
    if not getattr(vae, "conditional", False) or getattr(vae, "classes_", None) is None:
        raise ValueError(
            f"{what} needs a model fitted with conditional=True, but this "
            f"{type(vae).__name__} is not conditional. Fit "
            "VAETransformer(conditional=True) on (X, y) with class labels y."
        )


def _to_images(vae, X):
    """Turn samples of any layout into images ready for ``imshow``.

    Parameters
    ----------
    vae : fitted VAETransformer with ``image_shape_`` (C, H, W)
    X : array-like of shape (n, C * H * W), (n, H, W) or (n, C, H, W)
        Data as given to ``fit`` or as returned by ``inverse_transform``
        and ``sample``, channels first.

    Returns
    -------
    images : ndarray of shape (n, H, W) or (n, H, W, 3), float in [0, 1]
        Grayscale for one channel, RGB for three; other channel counts
        are shown as the grayscale mean of their channels. Bernoulli data
        (probabilities) is clipped to [0, 1]; Gaussian-likelihood data has
        no fixed range, so each image is rescaled to [0, 1] on its own.
    imshow_kwargs : dict
        Colormap and value range for :meth:`~matplotlib.axes.Axes.imshow`.
    """
    C, H, W = vae.image_shape_
    X = np.asarray(X, dtype=np.float64)
    if X.size != len(X) * C * H * W:
        raise ValueError(
            f"Cannot view samples of shape {X.shape} as images of shape "
            f"{(C, H, W)} (C, H, W)."
        )
    images = X.reshape(len(X), C, H, W)
    if getattr(vae, "likelihood", "bernoulli") == "gaussian":
        lo = images.min(axis=(1, 2, 3), keepdims=True)
        span = images.max(axis=(1, 2, 3), keepdims=True) - lo
        images = (images - lo) / np.where(span > 0, span, 1.0)
    images = np.clip(images, 0.0, 1.0)
    if C == 3:
        return images.transpose(0, 2, 3, 1), {}
    images = images[:, 0] if C == 1 else images.mean(axis=1)
    return images, {"cmap": "gray", "vmin": 0.0, "vmax": 1.0}


def _pad_for(vae):
    """Separator width, in pixels, between cells of a sample grid."""
    _, H, W = vae.image_shape_
    return max(1, min(H, W) // 14)


def _tile(images, n_rows, n_cols, pad=0, fill=1.0):
    """Lay ``images`` (n, H, W[, 3]) out row by row on an ``n_rows x n_cols`` grid.

    Cells are separated by ``pad`` pixels of value ``fill``; cells beyond
    the last image are left at ``fill``. Returns one array of shape
    ``(n_rows * H + (n_rows - 1) * pad, n_cols * W + (n_cols - 1) * pad[, 3])``.
    """
    n, H, W = images.shape[:3]
    mosaic = np.full(
        (n_rows * H + (n_rows - 1) * pad, n_cols * W + (n_cols - 1) * pad,
         *images.shape[3:]),
        fill, dtype=np.float64,
    )
    for k in range(min(n, n_rows * n_cols)):
        i, j = divmod(k, n_cols)
        top, left = i * (H + pad), j * (W + pad)
        mosaic[top:top + H, left:left + W] = images[k]
    return mosaic


def _cell_centers(n_cells, size, pad):
    """Pixel coordinates of the centres of ``n_cells`` cells along one axis."""
    return np.arange(n_cells) * (size + pad) + (size - 1) / 2


def _show_grid(ax, vae, X, n_rows, n_cols, pad):
    """Draw samples ``X`` as an ``n_rows x n_cols`` image grid on ``ax``."""
    images, imshow_kwargs = _to_images(vae, X)
    mosaic = _tile(images, n_rows, n_cols, pad=pad)
    return ax.imshow(mosaic, **imshow_kwargs)


def _grid_figsize(vae, n_rows, n_cols, extra_width=0.0, extra_height=0.4):
    _, H, W = vae.image_shape_
    cell = _CELL_INCHES * max(1.0, min(H, W) / 28) ** 0.5
    return (n_cols * cell * W / max(H, W) + extra_width,
            n_rows * cell * H / max(H, W) + extra_height)


def _tick_labels(values):
    """Short labels for evenly spaced ``values``, with just enough decimals."""
    values = np.asarray(values, dtype=np.float64)
    gaps = np.abs(np.diff(values))
    gap = gaps.min() if gaps.size else abs(values[0]) or 1.0
    decimals = int(np.clip(np.ceil(-np.log10(gap)) if gap > 0 else 1, 1, 6))
    # "+ 0.0" turns a rounded -0.0 into 0.0.
    return [f"{np.round(v, decimals) + 0.0:.{decimals}f}" for v in values]


def _check_n(n, name="n"):
    check_scalar(n, name, Integral, min_val=1)
    return int(n)


# -- public functions --------------------------------------------------------
def plot_latent_space(vae, X, y=None, ax=None):
    """Scatter plot of the latent codes of ``X``, coloured by label.

    The codes are ``vae.transform(X)``, the posterior means. Two-dimensional
    codes are drawn as they are. Codes with more dimensions are first
    projected on their first two principal components (the title says
    so); one-dimensional codes are drawn against the label ``y``, or
    against zero when there are no labels.

    Parameters
    ----------
    vae : fitted VAETransformer
        Any fitted transformer with a ``transform`` method works too.
    X : array-like
        Data in a layout ``vae.transform`` accepts.
    y : array-like of shape (n_samples,), default=None
        Class labels. Each class gets its own colour (``tab10`` for up to
        10 classes, ``tab20`` for up to 20) and its own legend entry.
        None draws every point in one colour, without a legend.
    ax : matplotlib Axes, default=None
        Axes to draw into; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn into. Its first collection holds one point per
        sample of ``X``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skvae import VAETransformer
    >>> from skvae.plotting import plot_latent_space
    >>> X, y = load_digits(return_X_y=True)
    >>> vae = VAETransformer(image_shape=(8, 8), architecture="mlp",
    ...                      max_epochs=5, random_state=0).fit(X / 16)
    >>> ax = plot_latent_space(vae, X / 16, y)
    >>> len(ax.get_legend().get_texts())
    10
    """
    import matplotlib.colors as mcolors
    from matplotlib import colormaps
    from matplotlib.lines import Line2D

    codes = np.asarray(vae.transform(X), dtype=np.float64)
    if codes.ndim != 2 or len(codes) == 0:
        raise ValueError(f"transform returned codes of shape {codes.shape}; "
                         "expected (n_samples, n_components) with n_samples >= 1.")
    n, dim = codes.shape
    if y is not None:
        y = np.asarray(y)
        if y.shape != (n,):
            raise ValueError(f"y must have shape ({n},), one label per sample of X; "
                             f"got shape {y.shape}.")
        classes, class_index = np.unique(y, return_inverse=True)
    if ax is None:
        ax = _new_axes((7.0, 6.0) if y is not None else (6.0, 6.0))

    equal_aspect = True
    if dim == 1:
        if y is None:
            xy = np.column_stack([codes[:, 0], np.zeros(n)])
            title, ylabel = "1-D latent codes (plotted against zero)", ""
            ax.set_yticks([])
        else:
            xy = np.column_stack([codes[:, 0], class_index])
            title, ylabel = "1-D latent codes (plotted against the label)", "label"
            ax.set_yticks(np.arange(len(classes)), [str(c) for c in classes])
        xlabel = "z[0]"
        equal_aspect = False
    elif dim == 2:
        xy = codes
        title, xlabel, ylabel = "Latent space", "z[0]", "z[1]"
    else:
        from sklearn.decomposition import PCA

        xy = PCA(n_components=2).fit_transform(codes)
        title = f"Latent space: PCA projection of the {dim}-D codes"
        xlabel, ylabel = "PC 1 of the codes", "PC 2 of the codes"

    size = float(np.clip(6000 / n, 4, 30))
    if y is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=size, alpha=0.7, linewidths=0)
    else:
        k = len(classes)
        if k <= 10:
            colors = colormaps["tab10"].colors[:k]
        elif k <= 20:
            colors = colormaps["tab20"].colors[:k]
        else:
            colors = colormaps["turbo"](np.linspace(0, 1, k))
        cmap = mcolors.ListedColormap(colors)
        points = ax.scatter(xy[:, 0], xy[:, 1], c=class_index, cmap=cmap,
                            vmin=-0.5, vmax=k - 0.5, s=size, alpha=0.7,
                            linewidths=0)
        handles = [
            Line2D([], [], linestyle="", marker="o", markersize=6,
                   color=cmap(i), label=str(c))
            for i, c in enumerate(classes)
        ]
        ax.legend(handles=handles, title="label", loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), ncol=int(np.ceil(k / 20)),
                  frameon=False)
        points.set_label("_codes")
    if equal_aspect:
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def plot_manifold(vae, n=15, extent=None, dims=(0, 1), ax=None):
    """Images decoded from a regular ``n x n`` grid over the latent plane.

    The figure of Kingma and Welling (2014) and of the Keras VAE
    tutorial: cell ``(i, j)`` shows ``vae.inverse_transform`` of the code
    whose ``dims[0]`` coordinate is the ``j``-th grid value (left to right)
    and whose ``dims[1]`` coordinate is the ``i``-th from the top (highest
    at the top, as on a scatter plot). The tick labels give these
    coordinates.

    Parameters
    ----------
    vae : fitted VAETransformer
        Must be fitted on images (``vae.image_shape_`` not None).
    n : int, default=15
        Number of grid values along each axis.
    extent : tuple of (float, float), default=None
        ``(lo, hi)``: the grid runs evenly from ``lo`` to ``hi`` along both
        axes. None places it at the 5%, ..., 95% quantiles of the N(0, 1)
        prior (``scipy.stats.norm.ppf(np.linspace(0.05, 0.95, n))``, as in
        Kingma and Welling's figure), which is where the codes lie.
    dims : tuple of (int, int), default=(0, 1)
        The latent dimensions along the horizontal and vertical axes. The
        other dimensions are held at 0, the prior's mean. For a model with
        ``latent_dim=1`` this is ignored and a single row is drawn.
    ax : matplotlib Axes, default=None
        Axes to draw into; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn into; ``ax.images[0]`` holds the mosaic, of shape
        ``(n * H, n * W)`` for one-channel images and ``(n * H, n * W, 3)``
        for RGB images. For images smaller than 16 pixels, thin lines drawn
        over the mosaic separate the cells.

    Raises
    ------
    ValueError
        If the model was fitted on tabular data, or ``extent`` or ``dims``
        are invalid.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skvae import VAETransformer
    >>> from skvae.plotting import plot_manifold
    >>> X = load_digits().images / 16
    >>> vae = VAETransformer(architecture="mlp", max_epochs=5,
    ...                      random_state=0).fit(X)
    >>> ax = plot_manifold(vae, n=10)
    >>> ax.images[0].get_array().shape
    (80, 80)
    """
    _check_image_model(vae, "plot_manifold")
    n = _check_n(n)
    latent_dim = int(vae.latent_dim)
    if extent is None:
        from scipy.stats import norm

        grid = norm.ppf(np.linspace(0.05, 0.95, n))
        range_note = "prior's 5%-95% quantiles"
    else:
        try:
            lo, hi = (float(v) for v in extent)
        except (TypeError, ValueError):
            raise ValueError(
                f"extent must be a pair (lo, hi) of numbers; got {extent!r}."
            ) from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"extent must be (lo, hi) with finite lo < hi; got {extent!r}.")
        grid = np.linspace(lo, hi, n)
        range_note = f"[{lo:g}, {hi:g}]"

    if latent_dim == 1:
        dx, dy, n_rows = 0, None, 1
    else:
        if (not isinstance(dims, (tuple, list)) or len(dims) != 2
                or not all(isinstance(d, Integral) and 0 <= d < latent_dim for d in dims)
                or dims[0] == dims[1]):
            raise ValueError(
                f"dims must be two different latent dimensions in 0..{latent_dim - 1}; "
                f"got {dims!r}."
            )
        (dx, dy), n_rows = (int(d) for d in dims), n

    Z = np.zeros((n_rows, n, latent_dim), dtype=np.float32)
    Z[:, :, dx] = grid[None, :]
    if dy is not None:
        Z[:, :, dy] = grid[::-1, None]  # top row: highest value
    decoded = vae.inverse_transform(Z.reshape(-1, latent_dim))

    if ax is None:
        ax = _new_axes((8.0, 8.0) if n_rows > 1 else (8.0, 1.8))
    _show_grid(ax, vae, decoded, n_rows, n, pad=0)

    _, H, W = vae.image_shape_
    if min(H, W) < _SEPARATE_BELOW:
        # Small images (8 x 8 digits) fill their cells to the edge and
        # would run into each other; thin lines keep the cells apart
        # without changing the mosaic.
        for k in range(1, n):
            ax.axvline(k * W - 0.5, color="0.6", linewidth=1.0)
        for k in range(1, n_rows):
            ax.axhline(k * H - 0.5, color="0.6", linewidth=1.0)
    step = int(np.ceil(n / 15))  # at most 15 labelled ticks per axis
    ticks = np.arange(0, n, step)
    ax.set_xticks(_cell_centers(n, W, 0)[ticks], _tick_labels(grid[ticks]))
    ax.set_xlabel(f"z[{dx}]")
    if dy is not None:
        ax.set_yticks(_cell_centers(n, H, 0)[ticks], _tick_labels(grid[::-1][ticks]))
        ax.set_ylabel(f"z[{dy}]")
    else:
        ax.set_yticks([])
    title = f"Decoded latent grid ({range_note})"
    if latent_dim > 2:
        others = "other dims" if latent_dim > 3 else "other dim"
        title += f"\n{latent_dim}-D latent space, {others} held at 0"
    ax.set_title(title)
    return ax


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
    _check_image_model(vae, "plot_samples")
    n = _check_n(n)
    n_cols = int(np.ceil(np.sqrt(n)))
    n_rows = int(np.ceil(n / n_cols))
    if fig is None:
        fig = _new_figure(_grid_figsize(vae, n_rows, n_cols))
    ax = fig.add_subplot(1, 1, 1)
    _show_grid(ax, vae, vae.sample(n, random_state=random_state), n_rows, n_cols,
               pad=_pad_for(vae))
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
    _check_image_model(vae, "plot_reconstructions")
    n = _check_n(n)
    # Keep a DataFrame a DataFrame, so its column names reach transform.
    X = X.iloc[:n] if hasattr(X, "iloc") else np.asarray(X)[:n]
    if len(X) == 0:
        raise ValueError("X holds no samples to reconstruct.")
    n = len(X)
    recon = vae.inverse_transform(vae.transform(X))
    originals = np.asarray(X, dtype=np.float64).reshape(n, -1)
    both = np.concatenate([originals, np.asarray(recon).reshape(n, -1)])
    if fig is None:
        fig = _new_figure(_grid_figsize(vae, 2, n, extra_width=1.2))
    ax = fig.add_subplot(1, 1, 1)
    pad = _pad_for(vae)
    _show_grid(ax, vae, both, 2, n, pad=pad)
    _, H, _ = vae.image_shape_
    ax.set_xticks([])
    ax.set_yticks(_cell_centers(2, H, pad), ["original", "reconstruction"])
    ax.tick_params(axis="y", length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title("Reconstructions")
    return fig


def plot_history(vae, ax=None):
    """Training (and validation) loss per epoch.

    The loss is minus the ELBO per sample, in nats, as recorded in
    ``vae.net_.history``; the validation loss is drawn when the model held
    out validation data (``early_stopping=True``).

    Parameters
    ----------
    vae : fitted VAETransformer
    ax : matplotlib Axes, default=None
        Axes to draw into; a new figure is created when None.

    Returns
    -------
    ax : matplotlib Axes
        One line per recorded loss, with one point per epoch.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from skvae import VAETransformer
    >>> from skvae.plotting import plot_history
    >>> X = load_digits().images / 16
    >>> vae = VAETransformer(architecture="mlp", max_epochs=5,
    ...                      random_state=0).fit(X)
    >>> ax = plot_history(vae)
    >>> len(ax.lines[0].get_xdata())
    5
    """
    check_is_fitted(vae, "net_")
    history = vae.net_.history
    if ax is None:
        ax = _new_axes((6.0, 4.0))
    curves = [("train_loss", "train")]
    if any("valid_loss" in row for row in history):
        curves.append(("valid_loss", "validation"))
    n_epochs = len(history)
    for key, label in curves:
        rows = [row for row in history if key in row]
        epochs = [row.get("epoch", i + 1) for i, row in enumerate(rows)]
        ax.plot(epochs, [row[key] for row in rows], label=label,
                marker="o" if n_epochs <= 30 else None, markersize=3)
    ax.set_xlabel("epoch")
    ax.set_ylabel("-ELBO per sample (nats)")
    ax.set_title("Training history")
    if n_epochs:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return ax


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

    _check_conditional_model(vae, "plot_conditional_samples")
    n = _check_n(n_per_class, "n_per_class")
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
        width, height = _grid_figsize(vae, n_rows, n, extra_width=0.8)
        fig = _new_figure((max(width, _MIN_TITLED_WIDTH), height))
    ax = fig.add_subplot(1, 1, 1)
    pad = _pad_for(vae)
    _show_grid(ax, vae, samples, n_rows, n, pad=pad)
    _, H, _ = vae.image_shape_
    ax.set_xticks([])
    ax.set_yticks(_cell_centers(n_rows, H, pad), [str(k) for k in classes])
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
    _check_conditional_model(vae, "plot_style_transfer")
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
        width, height = _grid_figsize(vae, n, n_cols, extra_height=0.6)
        fig = _new_figure((max(width, _MIN_TITLED_WIDTH), height))
    ax = fig.add_subplot(1, 1, 1)
    pad = _pad_for(vae)
    _show_grid(ax, vae, cells, n, n_cols, pad=pad)
    _, _, W = vae.image_shape_
    # A line between the inputs and the redrawn images.
    ax.axvline(W - 0.5 + pad / 2, color="0.3", linewidth=1.0)
    ax.xaxis.tick_top()
    ax.set_xticks(_cell_centers(n_cols, W, pad), ["input", *(str(k) for k in classes)])
    ax.set_yticks([])
    ax.tick_params(axis="x", length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title("Inputs redrawn as each class")
    return fig
