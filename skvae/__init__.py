"""skvae: a variational autoencoder for scikit-learn, trained by skorch.

``import skvae`` is cheap: torch and skorch load on first use of
:class:`VAETransformer` (or of ``skvae.plotting``, ``skvae.datasets``,
``skvae.dask``), as notebooks import every library up front.
"""

import importlib

from ._version import __version__

__all__ = ["TrainingDivergedError", "VAETransformer", "__version__"]

#: Public name -> the private module that defines it.
_LAZY = {"VAETransformer": "._estimator", "TrainingDivergedError": "._callbacks"}
_SUBMODULES = ("dask", "datasets", "plotting")


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_LAZY, *_SUBMODULES})
