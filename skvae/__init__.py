"""skvae: a variational autoencoder for scikit-learn, trained by skorch."""

from ._version import __version__
from .callbacks import TrainingDivergedError
from .estimator import VAETransformer

__all__ = ["TrainingDivergedError", "VAETransformer", "__version__"]
