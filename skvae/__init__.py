"""skvae: a variational autoencoder for scikit-learn, trained by skorch."""

from ._version import __version__
from ._callbacks import TrainingDivergedError
from ._estimator import VAETransformer

__all__ = ["TrainingDivergedError", "VAETransformer", "__version__"]
