"""Data layout: which arrays a :class:`skvae.VAETransformer` takes and gives back.

``X`` is 2-D ``(n, n_features)``, 3-D ``(n, H, W)`` or 4-D ``(n, C, H, W)``;
``image_shape`` views 2-D ``X`` as images. A fit resolves the layout (the
input's dimensionality, the images' shape, the architecture and the
likelihood), the network sees ``(n, *event_shape)``, and decoded data comes
back in the layout ``fit`` was given. Every function here takes values and
returns values; the estimator keeps what it resolved.
"""

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_array

from ._data import chunk_rows

#: The largest magnitude the network can take: it computes in float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)

#: New data for a Bernoulli model may have up to this share of its entries
#: outside [0, 1] and be clipped: test pixels a ``MinMaxScaler`` fitted on
#: the training set maps past its range are a few, where data on another
#: scale altogether (8-bit pixels) has most of its non-zero entries there.
CLIP_SHARE = 0.01


def positive_ints(value, name, lengths, described):
    """``value`` as a tuple of positive ints, of one of ``lengths`` (``described`` in errors)."""
    if (not isinstance(value, (tuple, list)) or len(value) not in lengths
            or not all(isinstance(v, Integral) and not isinstance(v, bool) and v >= 1
                       for v in value)):
        raise ValueError(f"{name} must be a tuple of {described} positive integers; "
                         f"got {value!r}.")
    return tuple(int(v) for v in value)


def as_image_shape(image_shape):
    """``image_shape`` as ``(C, H, W)``, or None."""
    if image_shape is None:
        return None
    shape = positive_ints(image_shape, "image_shape", (2, 3), "2 or 3")
    return shape if len(shape) == 3 else (1, *shape)


def resolve_architecture(architecture, image_shape_):
    """The architecture a model of images ``image_shape_`` (None for tables) uses."""
    if architecture == "auto":
        return "mlp" if image_shape_ is None else "conv"
    if architecture == "conv" and image_shape_ is None:
        raise ValueError(
            "architecture='conv' needs images: pass X as (n, H, W) or (n, C, H, W), "
            "or set image_shape=(H, W) for 2-D X; use architecture='mlp' for "
            "tabular data."
        )
    return architecture


def resolve_likelihood(likelihood, lo, hi):
    """"auto" is "bernoulli" for data in [lo, hi] within [0, 1], else "gaussian"."""
    if likelihood != "auto":
        return likelihood
    return "bernoulli" if lo >= 0 and hi <= 1 else "gaussian"


def check_ndim(ndim, what="an array"):
    """Raise unless ``ndim`` is one of the layouts the estimator takes."""
    if ndim not in (2, 3, 4):
        raise ValueError(
            f"X must be 2-D (n_samples, n_features), 3-D (n_samples, H, W) or "
            f"4-D (n_samples, C, H, W); got {what} of {ndim} dimensions."
        )


def read_images(X):
    """``(ndim, image shape (C, H, W) or None, X as 2-D)`` for 2-, 3- or 4-D ``X``."""
    ndim = getattr(X, "ndim", None)
    if ndim is None and isinstance(X, (list, tuple)):
        ndim = np.ndim(np.asarray(X, dtype=object))
    if ndim is not None and ndim > 2:
        check_ndim(ndim)
    if ndim not in (3, 4):
        return 2, None, X
    X = check_array(X, allow_nd=True, dtype="numeric", ensure_all_finite=False)
    shape = X.shape[1:] if ndim == 4 else (1, *X.shape[1:])
    return ndim, tuple(int(s) for s in shape), X.reshape(len(X), -1)


def value_range(X):
    """The smallest and largest entries of validated ``X``, which must fit float32."""
    lo, hi = float(X.min()), float(X.max())
    if max(-lo, hi) > FLOAT32_MAX:
        raise ValueError(
            f"X ranges from {lo:g} to {hi:g}, beyond the float32 range (about "
            f"±{FLOAT32_MAX:.3g}) in which the network computes. Rescale it first, "
            "e.g. with sklearn.preprocessing.StandardScaler."
        )
    return lo, hi


def fit_image_shape(image_shape, data_shape, n_features):
    """The ``(C, H, W)`` of the training images, or None for tabular data."""
    shape = as_image_shape(image_shape)
    if shape is None:
        return data_shape
    if data_shape is not None and shape != data_shape:
        raise ValueError(f"image_shape={image_shape!r} does not match the "
                         f"images in X, of shape {data_shape} (C, H, W).")
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape={image_shape!r} has {int(np.prod(shape))} pixels "
            f"but X has {n_features} features per sample; pass the "
            "(H, W) or (C, H, W) whose product is n_features."
        )
    return shape


def check_new_layout(data_shape, image_shape_, n_features):
    """Raise when new data's images do not match what the model was fitted on."""
    if data_shape is None:
        return
    if image_shape_ is None:
        raise ValueError(
            f"X holds images of shape {data_shape} (C, H, W), but this model was "
            f"fitted on a table of {n_features} columns. Pass the rows as a table, "
            "X.reshape(len(X), -1), or refit on images."
        )
    if data_shape != image_shape_:
        raise ValueError(
            f"X holds images of shape {data_shape} (C, H, W), but the model was "
            f"fitted on images of shape {image_shape_}. Resize or reshape the "
            "images to match."
        )


def event_shape(architecture, image_shape_, n_features):
    """The shape of one sample as the network sees it."""
    return image_shape_ if architecture == "conv" else (n_features,)


def count_outside_unit_interval(X, lo, hi, strict):
    """How many of ``X``'s entries lie outside [0, 1]; raises when too many do.

    Training data (``strict``) must lie in [0, 1]. New data with a few
    entries outside (:data:`CLIP_SHARE`), as a ``MinMaxScaler`` fitted on
    the training set gives test data, may be clipped: a Bernoulli model of
    intensities reads them as the nearest possible intensity. Data with
    more entries outside, such as 0..255 pixels, is on another scale
    altogether, and an error everywhere. Counted a chunk of rows at a time,
    so a memory-mapped ``X`` is never copied whole.
    """
    if lo >= 0 and hi <= 1:
        return 0
    outside = X.size
    if not strict:
        step = chunk_rows(X.shape[1])
        outside = sum(int(np.count_nonzero((X[i:i + step] < 0) | (X[i:i + step] > 1)))
                      for i in range(0, len(X), step))
    if outside > CLIP_SHARE * X.size:
        share = "" if strict else (
            f", with {outside} of its {X.size} entries outside [0, 1] (new data may "
            f"have up to {CLIP_SHARE:.0%} there, which is clipped)")
        raise ValueError(
            f"likelihood='bernoulli' needs data in [0, 1], but X ranges from {lo:g} to "
            f"{hi:g}{share}. Scale it first (divide 8-bit images by 255, or use "
            "sklearn.preprocessing.MinMaxScaler), clip it (np.clip(X, 0, 1)), or use "
            "likelihood='gaussian' for real-valued data."
        )
    return outside


def to_layout(flat, input_ndim, image_shape_):
    """Give decoder output the layout of the data seen in fit."""
    flat = flat.reshape(len(flat), -1)
    if input_ndim == 2:
        return flat
    return flat.reshape(len(flat), *(image_shape_ if input_ndim == 4 else image_shape_[1:]))
