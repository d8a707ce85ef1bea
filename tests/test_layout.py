"""skvae._layout: what data a model takes, and what it gives back (issue 15)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FAST, TINY
from skvae import VAETransformer



def test_auto_likelihood_follows_the_range_of_the_training_data(images_30):
    assert VAETransformer(**TINY).fit(images_30).likelihood_ == "bernoulli"
    standardized = (images_30 - images_30.mean()) / images_30.std()
    vae = VAETransformer(**TINY).fit(standardized)
    assert vae.likelihood_ == "gaussian"
    assert np.isfinite(vae.score(standardized))


def test_gaussian_likelihood_accepts_any_real_values():
    X = np.random.default_rng(0).normal(size=(20, 5)) * 100
    vae = VAETransformer(likelihood="gaussian", **TINY).fit(X)
    assert np.isfinite(vae.score(X))


def test_values_beyond_float32_are_an_error_not_nan_codes():
    X = np.random.default_rng(0).normal(size=(20, 5))
    X[3, 2] = 1e300
    with pytest.raises(ValueError, match=r"beyond the float32 range.*StandardScaler"):
        VAETransformer(likelihood="gaussian", **TINY).fit(X)
    vae = VAETransformer(likelihood="gaussian", **TINY).fit(np.delete(X, 3, axis=0))
    for method in (vae.transform, vae.score_samples):
        with pytest.raises(ValueError, match="beyond the float32 range"):
            method(X)


def test_range_errors_report_the_true_range(images_30):
    X = images_30 + 2
    with pytest.raises(ValueError, match=rf"X ranges from {X.min():g} to {X.max():g}\. Scale"):
        VAETransformer(likelihood="bernoulli", **TINY).fit(X)


@pytest.mark.parametrize("scale", [255, 16])
def test_bernoulli_out_of_range_says_how_to_scale(images_30, fitted_30, scale):
    pixels = (images_30 * scale).astype(np.uint8)
    for call in (VAETransformer(likelihood="bernoulli", **TINY).fit, fitted_30.transform,
                 fitted_30.score_samples):
        with pytest.raises(ValueError, match=r"divide 8-bit images by 255.*MinMaxScaler"
                                             r".*likelihood='gaussian'"):
            call(pixels)


def test_new_data_with_a_few_entries_past_the_unit_interval_is_clipped(fitted_30, images_30):
    X = images_30.copy()
    X[0, 0, 0], X[1, 2, 3] = 4.0, -0.5  # 2 of 1080 entries, as MinMaxScaler gives test data
    with pytest.warns(UserWarning, match=r"ranges from -0.5 to 4.*2 of its 1080 entries.*clipped"):
        Z = fitted_30.transform(X)
    np.testing.assert_array_equal(Z, fitted_30.transform(np.clip(X, 0, 1)))


def test_slightly_out_of_range_new_data_is_clipped_with_a_warning(fitted_30, images_30):
    shifted = images_30.copy()
    shifted[0, 0, 0] = 1.05
    with pytest.warns(UserWarning, match="clipped to"):
        Z = fitted_30.transform(shifted)
    np.testing.assert_array_equal(Z, fitted_30.transform(np.clip(shifted, 0, 1)))


def test_new_data_on_another_scale_is_an_error(fitted_30, images_30):
    with pytest.raises(ValueError, match="divide 8-bit images by 255"):
        fitted_30.transform(images_30 * 255)


def test_read_only_data_trains_without_torch_warnings(images_30):
    X = images_30.copy()
    X.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vae = VAETransformer(**TINY).fit(X)
        vae.transform(X)
    assert not X.flags.writeable


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.full((4, 6, 6), np.nan), "Input X contains NaN"),
        (np.full((4, 6, 6), np.inf), "Input X contains infinity"),
        (np.ones((4, 36)) * 1j, "Complex data not supported"),
        (np.array([["a"] * 36] * 4), "dtype='numeric' is not compatible"),
        (np.ones(36), "Expected 2D array, got 1D array"),
        (np.ones((0, 6, 6)), "0 sample"),
        (np.ones((4, 36, 1, 1, 1)), "got an array of 5 dimensions"),
    ],
    ids=["nan", "inf", "complex", "strings", "1d", "empty", "5d"],
)
@pytest.mark.parametrize("method", ["fit", "transform", "score"])
def test_bad_data_is_a_value_error(fitted_30, method, bad, message):
    call = VAETransformer(**TINY).fit if method == "fit" else getattr(fitted_30, method)
    with pytest.raises(ValueError, match=message):
        call(bad)


def test_object_array_of_numbers_is_converted(fitted_30, images_30):
    as_object = images_30.reshape(30, -1).astype(object)
    np.testing.assert_allclose(fitted_30.transform(as_object), fitted_30.transform(images_30),
                               rtol=1e-6)


def test_sparse_input_is_rejected_with_a_hint(fitted_30):
    with pytest.raises(TypeError, match=r"dense data is required. Use '.toarray\(\)'"):
        fitted_30.transform(sp.csr_matrix(np.ones((3, 36))))


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.ones((3, 6, 5)), r"images of shape \(1, 6, 5\).*fitted on images of shape \(1, 6, 6\)"),
        (np.ones((3, 3, 6, 6)), r"images of shape \(3, 6, 6\).*fitted on images of shape \(1, 6, 6\)"),
        (np.ones((3, 35)), "X has 35 features, but VAETransformer is expecting 36"),
    ],
)
def test_wrong_shape_at_transform_time(fitted_30, bad, message):
    for method in (fitted_30.transform, fitted_30.score_samples):
        with pytest.raises(ValueError, match=message):
            method(bad)


def test_image_shape_must_match_image_input():
    X = np.random.default_rng(0).random((10, 8, 8))
    with pytest.raises(ValueError, match="does not match the images in X"):
        VAETransformer(image_shape=(4, 16)).fit(X)


def test_awkward_but_valid_inputs(images_30):
    X = images_30.reshape(30, -1)
    reference = VAETransformer(image_shape=(6, 6), **TINY).fit(X).transform(X)
    variants = {
        "list": X.tolist(),
        "float64": X.astype(np.float64),
        "fortran": np.asfortranarray(X),
        "non-contiguous": np.repeat(X, 2, axis=1)[:, ::2],
        "dataframe": pd.DataFrame(X, columns=[f"p{i}" for i in range(36)]),
    }
    for name, variant in variants.items():
        vae = VAETransformer(image_shape=(6, 6), **TINY).fit(variant)
        np.testing.assert_allclose(vae.transform(variant), reference, rtol=1e-5, err_msg=name)
    binary = (images_30 > 0.5).astype(np.int64)
    assert VAETransformer(**TINY).fit(binary).transform(binary).shape == (30, 2)


@pytest.mark.parametrize(
    "shape, fit_kwargs, architecture",
    [
        ((40, 64), {}, "mlp"),
        ((40, 64), {"image_shape": (8, 8)}, "conv"),
        ((40, 48), {"image_shape": (3, 4, 4)}, "conv"),
        ((40, 8, 8), {}, "conv"),
        ((40, 3, 8, 8), {}, "conv"),
        ((40, 1, 7, 5), {}, "conv"),
        ((40, 8, 8), {"architecture": "mlp"}, "mlp"),
    ],
)
def test_layouts_come_back_as_given(shape, fit_kwargs, architecture):
    X = np.random.default_rng(0).random(shape, dtype=np.float32)
    vae = VAETransformer(n_components=3, **fit_kwargs, **FAST).fit(X)
    assert vae.architecture_ == architecture
    Z = vae.transform(X)
    assert Z.shape == (40, 3)
    assert vae.inverse_transform(Z).shape == shape
    assert vae.sample(5, random_state=1).shape == (5, *shape[1:])
    # Bernoulli means are probabilities.
    X_hat = vae.inverse_transform(Z)
    assert X_hat.min() >= 0 and X_hat.max() <= 1


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 9),
    layout=st.sampled_from(["tabular", "flat-images", "hw", "chw"]),
    dtype=st.sampled_from([np.float32, np.float64, np.uint8, np.bool_]),
    fortran=st.booleans(),
)
def test_any_layout_and_dtype_round_trips(n, layout, dtype, fortran):
    rng = np.random.default_rng(n)
    shape = {"tabular": (n, 7), "flat-images": (n, 20), "hw": (n, 4, 5), "chw": (n, 2, 4, 5)}[layout]
    X = (rng.random(shape) > 0.5) if dtype in (np.uint8, np.bool_) else rng.random(shape)
    X = X.astype(dtype)
    X = np.asfortranarray(X) if fortran else X
    params = {"image_shape": (4, 5)} if layout == "flat-images" else {}
    vae = VAETransformer(n_components=3, **params, **TINY).fit(X)
    Z = vae.transform(X)
    assert Z.shape == (n, 3) and Z.dtype == np.float32 and np.all(np.isfinite(Z))
    assert vae.inverse_transform(Z).shape == shape
    assert vae.sample(2, random_state=0).shape == (2, *shape[1:])
    assert np.all(np.isfinite(vae.score_samples(X)))
