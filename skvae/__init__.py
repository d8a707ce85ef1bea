"""skvae: a variational autoencoder for scikit-learn, trained by skorch."""

from ._version import __version__
from .estimator import VAETransformer

__all__ = ["VAETransformer", "__version__"]
