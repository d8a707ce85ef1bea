"""Helpers shared by the figures: images laid out in grids, figure sizes, checks."""

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted, check_scalar

#: Inches of figure per image cell when a function creates the figure.
CELL_INCHES = 0.8

#: Inches of width a created figure needs for a title of about 35 characters.
MIN_TITLED_WIDTH = 4.0

#: plot_manifold draws lines between the cells of images smaller than this.
SEPARATE_BELOW = 16


# -- helpers ---------------------------------------------------------------
def pyplot():
    import matplotlib.pyplot as plt

    return plt


def new_axes(figsize):
    fig, ax = pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def new_figure(figsize):
    return pyplot().figure(figsize=figsize, layout="constrained")


def check_image_model(vae, what):
    check_is_fitted(vae)
    if getattr(vae, "image_shape_", None) is None:
        raise ValueError(
            f"{what} needs a model fitted on images, but this "
            f"{type(vae).__name__} was fitted on tabular data (image_shape_ is "
            "None). Fit it on (n, H, W) or (n, C, H, W) arrays, or pass "
            "image_shape=(H, W) or (C, H, W) for flattened images."
        )


def check_conditional_model(vae, what):
    check_image_model(vae, what)
    if not getattr(vae, "conditional", False) or getattr(vae, "classes_", None) is None:
        raise ValueError(
            f"{what} needs a model fitted with conditional=True, but this "
            f"{type(vae).__name__} is not conditional. Fit "
            "VAETransformer(conditional=True) on (X, y) with class labels y."
        )


def to_images(vae, X):
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


def pad_for(vae):
    """Separator width, in pixels, between cells of a sample grid."""
    _, H, W = vae.image_shape_
    return max(1, min(H, W) // 14)


def tile(images, n_rows, n_cols, pad=0, fill=1.0):
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


def cell_centers(n_cells, size, pad):
    """Pixel coordinates of the centres of ``n_cells`` cells along one axis."""
    return np.arange(n_cells) * (size + pad) + (size - 1) / 2


def show_grid(ax, vae, X, n_rows, n_cols, pad):
    """Draw samples ``X`` as an ``n_rows x n_cols`` image grid on ``ax``."""
    images, imshow_kwargs = to_images(vae, X)
    mosaic = tile(images, n_rows, n_cols, pad=pad)
    return ax.imshow(mosaic, **imshow_kwargs)


def grid_figsize(vae, n_rows, n_cols, extra_width=0.0, extra_height=0.4):
    _, H, W = vae.image_shape_
    cell = CELL_INCHES * max(1.0, min(H, W) / 28) ** 0.5
    return (n_cols * cell * W / max(H, W) + extra_width,
            n_rows * cell * H / max(H, W) + extra_height)


def tick_labels(values):
    """Short labels for evenly spaced ``values``, with just enough decimals."""
    values = np.asarray(values, dtype=np.float64)
    gaps = np.abs(np.diff(values))
    gap = gaps.min() if gaps.size else abs(values[0]) or 1.0
    decimals = int(np.clip(np.ceil(-np.log10(gap)) if gap > 0 else 1, 1, 6))
    # "+ 0.0" turns a rounded -0.0 into 0.0.
    return [f"{np.round(v, decimals) + 0.0:.{decimals}f}" for v in values]


def check_n(n, name="n"):
    check_scalar(n, name, Integral, min_val=1)
    return int(n)


# -- public functions --------------------------------------------------------
