"""Write the small saved model that tests/test_persistence.py loads.

Run once per release that changes the saved format:
``python tests/data/make_saved_model.py``. Files are named by the skvae
version that wrote them, and older ones are kept: they prove that models
saved by earlier releases still load.
"""

from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_digits

from skvae import VAETransformer, __version__

here = Path(__file__).parent
X = (load_digits().images[:40] / 16.0).astype(np.float32)
vae = VAETransformer(n_components=2, channels=(4,), hidden_dim=8, max_epochs=2,
                     batch_size=16, random_state=0).fit(X)
joblib.dump(vae, here / f"vae-{__version__}.joblib", compress=3)
np.savez(here / f"vae-{__version__}-expected.npz", X=X[:5], Z=vae.transform(X[:5]))
