"""Data layout: which arrays a :class:`skvae.VAETransformer` takes and gives back.

``X`` is 2-D ``(n, n_features)``, 3-D ``(n, H, W)`` or 4-D ``(n, C, H, W)``;
``image_shape`` views 2-D ``X`` as images. ``fit`` records the layout
(``input_ndim_``, ``image_shape_``, ``architecture_``, ``likelihood_``), the
network sees ``(n, *event_shape)``, and decoded data comes back in the
layout ``fit`` was given.
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_array, validate_data

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


def _data_image_shape(X):
    """``(ndim, image shape (C, H, W) or None, X as 2-D)`` for 2-, 3- or 4-D ``X``."""
    ndim = getattr(X, "ndim", None)
    if ndim is None and isinstance(X, (list, tuple)):
        ndim = np.ndim(np.asarray(X, dtype=object))
    if ndim is not None and ndim > 4:
        raise ValueError(
            f"X must be 2-D (n_samples, n_features), 3-D (n_samples, H, W) or "
            f"4-D (n_samples, C, H, W); got an array of {ndim} dimensions."
        )
    if ndim not in (3, 4):
        return 2, None, X
    X = check_array(X, allow_nd=True, dtype="numeric", ensure_all_finite=False)
    shape = X.shape[1:] if ndim == 4 else (1, *X.shape[1:])
    return ndim, tuple(int(s) for s in shape), X.reshape(len(X), -1)


def validate_X(estimator, X, *, reset, training=None):
    """Check ``X`` and return it as ``(n_samples, *event_shape)``.

    The dtype is kept (casting to float32 happens batch by batch on the way
    to the device), so large or memory-mapped inputs are not copied whole.
    With ``reset``, the layout attributes are (re)set from ``X`` and the
    estimator's parameters. Training data (``training``, by default
    ``reset``) is held to the Bernoulli range strictly, new data leniently.
    """
    ndim, data_shape, X = _data_image_shape(X)
    if not reset and data_shape is not None and estimator.image_shape_ is not None \
            and data_shape != estimator.image_shape_:
        raise ValueError(
            f"X holds images of shape {data_shape} (C, H, W), but "
            f"{type(estimator).__name__} was fitted on images of shape "
            f"{estimator.image_shape_}. Resize or reshape the images to match."
        )
    X = validate_data(estimator, X, reset=reset, dtype="numeric")
    lo, hi = float(X.min()), float(X.max())
    if max(-lo, hi) > FLOAT32_MAX:
        raise ValueError(
            f"X ranges from {lo:g} to {hi:g}, beyond the float32 range (about "
            f"±{FLOAT32_MAX:.3g}) in which the network computes. Rescale it first, "
            "e.g. with sklearn.preprocessing.StandardScaler."
        )
    if reset:
        estimator.input_ndim_ = ndim
        estimator.image_shape_ = fit_image_shape(estimator.image_shape, data_shape,
                                                 estimator.n_features_in_)
        estimator.architecture_ = resolve_architecture(estimator.architecture,
                                                       estimator.image_shape_)
        estimator.likelihood_ = resolve_likelihood(estimator.likelihood, lo, hi)
    if estimator.likelihood_ == "bernoulli":
        X = check_unit_interval(X, lo, hi, strict=reset if training is None else training)
    return X.reshape(len(X), *event_shape(estimator))


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


def event_shape(estimator):
    """The shape of one sample as the network sees it."""
    if estimator.architecture_ == "conv":
        return estimator.image_shape_
    return (estimator.n_features_in_,)


def check_unit_interval(X, lo, hi, strict):
    """Bernoulli data must lie in [0, 1]; ``lo`` and ``hi`` are its extremes.

    Training data must, strictly. New data with a few entries outside
    (:data:`CLIP_SHARE`), as a ``MinMaxScaler`` fitted on the training set
    gives test data, is clipped with a warning: a Bernoulli model of
    intensities reads them as the nearest possible intensity. Data with
    more entries outside, such as 0..255 pixels, is on another scale
    altogether, and an error everywhere.
    """
    if lo >= 0 and hi <= 1:
        return X
    outside = 1.0
    if not strict:
        outside = sum(np.count_nonzero((rows < 0) | (rows > 1))
                      for rows in np.array_split(X, max(1, len(X) // 4096)))
        outside /= X.size
    if outside > CLIP_SHARE:
        raise ValueError(
            f"likelihood='bernoulli' needs data in [0, 1], but X ranges from {lo:g} to "
            f"{hi:g}. Scale it first (divide 8-bit images by 255, or use "
            "sklearn.preprocessing.MinMaxScaler), or use likelihood='gaussian' for "
            "real-valued data."
        )
    warnings.warn(
        f"X ranges from {lo:.3g} to {hi:.3g}, outside the [0, 1] the model was "
        f"trained on ({outside:.2%} of its entries); clipped to [0, 1]. Use "
        "MinMaxScaler(clip=True) upstream to clip explicitly.",
        UserWarning,
        stacklevel=4,
    )
    return np.clip(X, 0, 1)


def to_layout(estimator, flat):
    """Give decoder output the layout of the data seen in fit."""
    flat = flat.reshape(len(flat), -1)
    if estimator.input_ndim_ == 2:
        return flat
    shape = estimator.image_shape_
    return flat.reshape(len(flat), *(shape if estimator.input_ndim_ == 4 else shape[1:]))
