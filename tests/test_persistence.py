"""Persistence: pickled models, their size, devices and skvae versions."""

import pickle

import joblib
import numpy as np
import pytest
import torch

from conftest import FAST, requires_cuda
from skvae import VAETransformer, __version__

def test_pickle_and_joblib_round_trips_are_identical(fitted_digits, digits, tmp_path):
    X, _ = digits
    restored = pickle.loads(pickle.dumps(fitted_digits))
    np.testing.assert_array_equal(restored.transform(X), fitted_digits.transform(X))
    np.testing.assert_array_equal(restored.score_samples(X), fitted_digits.score_samples(X))
    joblib.dump(fitted_digits, tmp_path / "vae.joblib")
    loaded = joblib.load(tmp_path / "vae.joblib")
    np.testing.assert_array_equal(loaded.inverse_transform(fitted_digits.transform(X[:5])),
                                  fitted_digits.inverse_transform(fitted_digits.transform(X[:5])))


def _weight_bytes(vae):
    return sum(p.numel() * p.element_size() for p in vae.net_.module_.parameters())


def test_pickle_is_about_the_size_of_the_weights():
    X = np.random.default_rng(0).random((64, 12, 12), dtype=np.float32)
    vae = VAETransformer(channels=(8, 16), max_epochs=2, random_state=0).fit(X)
    weights = _weight_bytes(vae)
    assert weights > 100_000
    size = len(pickle.dumps(vae))
    assert size < 1.1 * weights + 50_000, (size, weights)
    restored = pickle.loads(pickle.dumps(vae))
    np.testing.assert_array_equal(restored.transform(X), vae.transform(X))
    # The net pickles the module's structure as parameters, not a second copy.
    assert restored.net_.get_params_for("module")["latent_dim"] == 2
    # Training goes on from the restored weights, with a fresh optimizer state.
    assert len(restored.partial_fit(X).net_.history) == 3
    # warm_start keeps the optimizer's state (Adam's two moments) to continue with.
    warm = VAETransformer(channels=(8, 16), max_epochs=2, warm_start=True,
                          random_state=0).fit(X)
    assert len(pickle.dumps(warm)) > 2.5 * weights


@requires_cuda
def test_cuda_model_unpickles_on_a_cpu_only_machine(digits, monkeypatch):
    X, _ = digits
    vae = VAETransformer(device="cuda", **FAST).fit(X)
    blob = pickle.dumps(vae)
    expected = vae.transform(X)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="no CUDA devices"):
        restored = pickle.loads(blob)
    assert not next(restored.net_.module_.parameters()).is_cuda
    np.testing.assert_allclose(restored.transform(X), expected, atol=1e-4)


def test_version_mismatch_names_both_versions(fitted_30, monkeypatch):
    blob = pickle.dumps(fitted_30)
    monkeypatch.setattr("skvae._estimator.__version__", "99.0")
    with pytest.warns(UserWarning, match=rf"saved by skvae {__version__} and is loaded by "
                                         r"skvae 99\.0"):
        pickle.loads(blob)
