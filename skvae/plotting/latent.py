"""Figures of the latent space: the codes as a scatter, the decoded plane."""

from numbers import Integral

import numpy as np

from ._grid import (SEPARATE_BELOW, cell_centers, check_image_model, check_n, new_axes,
                    show_grid, tick_labels)

#: Rows of the legend drawn inside a given Axes, before it adds a column.
LEGEND_ROWS = 5


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
        Axes to draw into; a new figure is created when None. The legend
        is drawn inside a given ``ax``, in a small font and up to five rows,
        where it hides the fewest points, so that it does not spill over
        neighbouring Axes; in a figure created here, which is sized for it,
        the legend stands to the right of the scatter.

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
    own_figure = ax is None
    if own_figure:
        ax = new_axes((7.0, 6.0) if y is not None else (6.0, 6.0))

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
        if own_figure:
            # The figure was sized for a legend beside the scatter, where
            # it hides no points.
            ax.legend(handles=handles, title="label", loc="upper left",
                      bbox_to_anchor=(1.01, 1.0), ncol=int(np.ceil(k / 20)),
                      frameon=False)
        else:
            # A caller's Axes may have neighbours (plt.subplots(1, 2)): a
            # legend beside it would lie over them, so it stays inside,
            # compact, where it hides the fewest points.
            ax.legend(handles=handles, title="label", loc="best",
                      ncol=int(np.ceil(k / LEGEND_ROWS)), fontsize="x-small",
                      title_fontsize="x-small", markerscale=0.7, borderpad=0.3,
                      labelspacing=0.25, handletextpad=0.1, columnspacing=0.6,
                      borderaxespad=0.3, framealpha=0.8)
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
        axes. None spans, along each axis, the range where the training
        codes lie (``vae.code_range_``, their 1% to 99% quantiles): codes
        trained to keep neighborhoods are not N(0, 1)-shaped, so the
        prior's quantiles (Kingma and Welling's figure) would decode the
        plane's empty middle.
    dims : tuple of (int, int), default=(0, 1)
        The latent dimensions along the horizontal and vertical axes. The
        other dimensions are held at the middle of their ``code_range_``.
        For a model with ``n_components=1`` this is ignored and a single
        row is drawn.
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
    check_image_model(vae, "plot_manifold")
    n = check_n(n)
    latent_dim = int(vae.n_components_)
    # Where the training codes lie: the default grid, and where the
    # dimensions off the grid are held.
    codes, codes_note = code_range(vae)
    if extent is None:
        (lo, hi), range_note = codes, codes_note
    else:
        try:
            lo, hi = (float(v) for v in extent)
        except (TypeError, ValueError):
            raise ValueError(
                f"extent must be a pair (lo, hi) of numbers; got {extent!r}."
            ) from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"extent must be (lo, hi) with finite lo < hi; got {extent!r}.")
        range_note = f"[{lo:g}, {hi:g}]"
        lo, hi = np.full(latent_dim, lo), np.full(latent_dim, hi)

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

    Z = np.empty((n_rows, n, latent_dim), dtype=np.float32)
    Z[:] = codes.mean(axis=0)
    grid_x = np.linspace(lo[dx], hi[dx], n)
    Z[:, :, dx] = grid_x[None, :]
    if dy is not None:
        grid_y = np.linspace(lo[dy], hi[dy], n)[::-1]  # top row: highest value
        Z[:, :, dy] = grid_y[:, None]
    decoded = vae.inverse_transform(Z.reshape(-1, latent_dim))

    if ax is None:
        ax = new_axes((8.0, 8.0) if n_rows > 1 else (8.0, 1.8))
    show_grid(ax, vae, decoded, n_rows, n, pad=0)

    _, H, W = vae.image_shape_
    if min(H, W) < SEPARATE_BELOW:
        # Small images (8 x 8 digits) fill their cells to the edge and
        # would run into each other; thin lines keep the cells apart
        # without changing the mosaic.
        for k in range(1, n):
            ax.axvline(k * W - 0.5, color="0.6", linewidth=1.0)
        for k in range(1, n_rows):
            ax.axhline(k * H - 0.5, color="0.6", linewidth=1.0)
    step = int(np.ceil(n / 15))  # at most 15 labelled ticks per axis
    ticks = np.arange(0, n, step)
    ax.set_xticks(cell_centers(n, W, 0)[ticks], tick_labels(grid_x[ticks]))
    ax.set_xlabel(f"z[{dx}]")
    if dy is not None:
        ax.set_yticks(cell_centers(n, H, 0)[ticks], tick_labels(grid_y[ticks]))
        ax.set_ylabel(f"z[{dy}]")
    else:
        ax.set_yticks([])
    title = f"Decoded latent grid ({range_note})"
    if latent_dim > 2:
        others = "other dims" if latent_dim > 3 else "other dim"
        title += f"\n{latent_dim}-D latent space, {others} held at the middle of the codes"
    ax.set_title(title)
    return ax


def code_range(vae):
    """Where the training codes lie, per latent dimension, and a note for the title.

    The low and high ends, shape ``(2, n_components)``. A model pickled before ``code_range_`` existed had N(0, 1)-shaped
    codes: the prior's 5% and 95% quantiles stand in for it.
    """
    if hasattr(vae, "code_range_"):
        return vae.code_range_, "where the training codes lie"
    from scipy.stats import norm

    return (np.repeat(norm.ppf([[0.05], [0.95]]), int(vae.n_components_), axis=1),
            "prior's 5%-95% quantiles")
