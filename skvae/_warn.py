"""Warnings that point at the user's line, however deep in the stack they start."""

import os
import sys
import warnings

import joblib
import skorch
import sklearn
import torch

#: Packages whose frames stand between the user's call and skvae's warning:
#: skvae itself, and the libraries that call into it (scikit-learn's
#: wrappers such as ``set_output``, ``Pipeline`` and ``GridSearchCV``, the
#: joblib that runs a search's fits, skorch's training loop, torch's modules).
_LIBRARY_DIRS = tuple(os.path.dirname(module.__file__) + os.sep
                      for module in (sys.modules[__package__], sklearn, joblib, skorch, torch))


def warn_user(message, category=UserWarning):
    """``warnings.warn`` from the innermost frame outside skvae and the libraries it runs in.

    A hand-counted ``stacklevel`` breaks whenever a wrapper (``set_output``,
    ``_fit_context``, a ``Pipeline``) adds frames; the user's line is the
    first frame, walking outwards, that none of these packages owns.
    """
    frame, level = sys._getframe(1), 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_LIBRARY_DIRS):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
