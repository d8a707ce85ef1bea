"""Class labels of a conditional model and the one-hot conditions made from them."""

from numbers import Number

import numpy as np
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.validation import check_consistent_length, column_or_1d

from ._warn import warn_user


def check_labels(y, name="y"):
    """``y`` as a 1-D array of labels of one kind, none of them missing.

    Labels are numbers or strings, not a mix: NumPy cannot order a mix, and
    ``1`` and ``"1"`` would be two classes a user meant as one. A missing
    label (None or NaN) is an error rather than a class of its own.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warn_user(f"A column-vector {name} was passed where a 1-D array of labels was "
                  f"expected; use {name}.ravel() (or a 1-D array) to silence this.",
                  DataConversionWarning)
        y = y.ravel()
    y = y.reshape(1) if y.ndim == 0 else column_or_1d(y)
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError(f"{name} holds NaN, a missing label; drop those samples, or "
                         "give every sample its class.")
    if y.dtype.kind == "O":
        kinds = set()
        for label in y:
            if label is None or (isinstance(label, float) and np.isnan(label)):
                raise ValueError(f"{name} holds {label!r}, a missing label; drop those "
                                 "samples, or give every sample its class.")
            kinds.add("number" if isinstance(label, Number) else type(label).__name__)
        if len(kinds) > 1:
            raise ValueError(f"{name} mixes labels of different types ({', '.join(sorted(kinds))}); "
                             "use one type, e.g. y.astype(str).")
    return y


def require_labels(y):
    """``y``, which a conditional model's training needs."""
    if y is None:
        raise ValueError("conditional=True requires y to be passed, but the target y is None: "
                         "call fit(X, y) with the class of every sample.")
    return y


def fit_classes(y, n_samples, classes=None):
    """The sorted classes of checked training labels ``y``, or of ``classes`` if given."""
    check_consistent_length(np.empty(n_samples), y)
    numeric = y.dtype.kind in "iuf" or (
        y.dtype.kind == "O" and all(isinstance(label, Number) for label in y))
    if numeric and np.any(y == -1):
        raise ValueError(
            "y holds -1, scikit-learn's mark of an unlabeled sample; the "
            "conditional VAE needs the class of every training sample. Drop the "
            "unlabeled samples, or fit an unconditional model on all of them."
        )
    if classes is None:
        return np.unique(y)
    classes = np.unique(check_labels(classes, "classes"))
    unlisted = unknown_labels(classes, y)
    if unlisted:
        raise ValueError(f"y holds label(s) {unlisted} that classes= does not list "
                         f"({classes.tolist()}); list every class the stream will bring.")
    return classes


def unknown_labels(classes, y):
    """The distinct labels of ``y`` that are not among ``classes`` (the first ten)."""
    return np.unique(y[~np.isin(y, classes)]).tolist()[:10]


#: What an unknown label in continued training means, and how to avoid it.
CONTINUING_HINT = (" Continued training keeps the classes of the first call: name them all "
                   "there (partial_fit(X, y, classes=[...])), or train a new model with fit "
                   "and warm_start=False.")


def one_hot(classes, y, hint=""):
    """One-hot float32 rows of labels ``y`` among ``classes``; ``hint`` ends the error."""
    unknown = unknown_labels(classes, y)
    if unknown:
        raise ValueError(f"Unknown label(s) {unknown}; this model knows the classes "
                         f"{classes.tolist()}.{hint}")
    return np.eye(len(classes), dtype=np.float32)[np.searchsorted(classes, y)]


def conditions(classes, y, n_samples, method):
    """One-hot conditions for ``method``'s ``y``, checked against a model's ``classes``.

    ``classes`` is None for an unconditional model, which takes no ``y``.
    """
    if classes is None:
        if y is not None:
            raise ValueError(
                f"y was passed to {method}, but this model is not conditional; "
                "fit VAETransformer(conditional=True) on (X, y) to condition on labels."
            )
        return None
    if y is None:
        raise ValueError(
            f"This model is conditional: {method} needs y, a label from "
            f"{classes.tolist()} (or one label per sample)."
        )
    y = check_labels(y)
    if len(y) == 1:
        y = np.repeat(y, n_samples)
    if len(y) != n_samples:
        raise ValueError(f"{method} got {len(y)} labels for {n_samples} samples; pass "
                         "one label, or one per sample.")
    return one_hot(classes, y, CONTINUING_HINT if method in ("fit", "partial_fit") else "")
