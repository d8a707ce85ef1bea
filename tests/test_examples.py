"""The scripts in examples/: gallery pages that run as scripts, each run end to end."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from conftest import HAVE_MNIST, MNIST_DIR, requires_mnist

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def run_example(name, *args, timeout=300, cwd=ROOT):
    """Run ``examples/name`` as a script, from the repository root by default; its stdout."""
    env = dict(os.environ)
    # One thread each: several test processes may share few cores, and the
    # tiny networks gain nothing from more. Agg: plt.show() opens no window.
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    env.pop("SKVAE_MNIST_DIR", None)
    if HAVE_MNIST:
        env["SKVAE_MNIST_DIR"] = str(MNIST_DIR)
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def assert_png(path):
    assert path.is_file(), path
    image = mpimg.imread(path)
    assert image.ndim == 3 and min(image.shape[:2]) > 100


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_example_is_a_gallery_page(path):
    """A sphinx-gallery title, text blocks, and the command that runs it at full size."""
    source = path.read_text()
    doc = ast.get_docstring(ast.parse(source))
    title, underline, *text = doc.splitlines()
    assert underline == "=" * len(title), "a title underlined with '=' opens the docstring"
    assert len(text) > 3, "an introduction explaining the example"
    assert source.count("\n# %%\n") >= 2, "text blocks between the code"
    assert f"python examples/{path.name}" in doc, "how to run it at full size"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_example_reads_as_a_page(path):
    """The page opens with its idea and code: no argparse, lines that fit the column."""
    source = path.read_text()
    assert "argparse" not in source
    long = [n for n, line in enumerate(source.splitlines(), 1) if len(line) > 79]
    assert not long, f"lines longer than 79 characters: {long}"
    # The settings a quick run changes are parsed in a block the page hides.
    assert source.count("# sphinx_gallery_start_ignore") == 1
    assert source.count("# sphinx_gallery_end_ignore") == 1


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_example_refuses_an_unknown_setting(path):
    """``--name value`` replaces a setting; a name with no setting stops the run."""
    env = dict(os.environ, MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, str(path), "--no-such-setting", "1"],
                            cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode != 0
    assert "unknown setting --no-such-setting" in result.stderr


def test_every_example_is_tested_and_in_the_gallery_order():
    # dask_cluster.py is run by tests/test_dask.py, on the cluster started there.
    tested = {"plot_mnist_manifold.py", "pipeline_grid_search.py",
              "generate_digits.py", "tabular_gaussian.py", "conditional_digits.py",
              "anomaly_detection.py", "dask_cluster.py"}
    assert {p.name for p in SCRIPTS} == tested
    order = (ROOT / "docs" / "sphinxext" / "gallery_order.py").read_text()
    assert set(re.findall(r'"(\w+\.py)"', order)) == tested


def test_plot_mnist_manifold_on_digits(tmp_path):
    out = run_example("plot_mnist_manifold.py", "--dataset", "digits", "--epochs", 1,
                      "--n-samples", 500, "--grid", 5, "--out", tmp_path)
    assert "Training on 400 8x8 digit images of shape (8, 8)" in out
    assert "ELBO on 100 held-out images" in out
    assert_png(tmp_path / "mnist_latent.png")
    assert_png(tmp_path / "mnist_manifold.png")


@requires_mnist
def test_plot_mnist_manifold(tmp_path):
    # No --dataset: SKVAE_MNIST_DIR, set by run_example, selects MNIST.
    out = run_example("plot_mnist_manifold.py", "--epochs", 1,
                      "--n-samples", 500, "--grid", 5, "--out", tmp_path)
    assert "Training on 400 MNIST images of shape (28, 28)" in out
    assert "ELBO on 100 held-out images" in out
    assert_png(tmp_path / "mnist_manifold.png")


def test_without_out_no_file_is_written(tmp_path):
    # What sphinx-gallery runs: the figures go to the page, not to files.
    run_example("tabular_gaussian.py", "--epochs", 1, cwd=tmp_path)
    run_example("generate_digits.py", "--epochs", 1, "--n-samples", 100,
                "--n-generate", 4, cwd=tmp_path)
    assert not list(tmp_path.iterdir())


def test_pipeline_grid_search(tmp_path):
    out = run_example("pipeline_grid_search.py", "--epochs", 1, "--n-samples", 400,
                      "--out", tmp_path)
    for column in ("param_n_components", "mean_test_score", "std_test_score",
                   "rank_test_score"):
        assert column in out
    table = out[out.index("param_n_components"):].splitlines()[1:4]
    assert [int(row.split()[0]) for row in table] == [2, 8, 16]
    assert "Best n_components" in out
    assert out.count("test accuracy") == 2 and "PCA" in out
    assert_png(tmp_path / "grid_search.png")


def test_generate_digits(tmp_path):
    out = run_example("generate_digits.py", "--epochs", 1, "--n-samples", 300,
                      "--n-generate", 16, "--out", tmp_path)
    assert "Fitted on 300 images of shape (8, 8) for 1 epochs" in out
    assert "Generated 16 images of shape (8, 8)" in out
    assert_png(tmp_path / "generated_digits.png")
    assert_png(tmp_path / "reconstructions.png")


@requires_mnist
def test_generate_digits_mnist(tmp_path):
    out = run_example("generate_digits.py", "--dataset", "mnist", "--epochs", 1,
                      "--n-samples", 200, "--n-generate", 4, "--out", tmp_path)
    assert "Generated 4 images of shape (28, 28)" in out


def test_tabular_gaussian(tmp_path):
    out = run_example("tabular_gaussian.py", "--epochs", 1, "--out", tmp_path)
    for row in ("reconstruction MSE", "kNN-5 accuracy", "log-likelihood", "VAE", "PCA"):
        assert row in out
    assert_png(tmp_path / "tabular_latent.png")


@pytest.mark.parametrize("dataset", ["digits", pytest.param("mnist", marks=requires_mnist)])
def test_conditional_digits(tmp_path, dataset):
    out = run_example("conditional_digits.py", "--dataset", dataset, "--epochs", 1,
                      "--n-samples", 300, "--n-judge", 4, "--out", tmp_path)
    name = {"digits": "8x8 digit", "mnist": "MNIST"}[dataset]
    assert f"conditional VAE (n_components=2) on 240 {name} images" in out
    assert "on 60 held-out images" in out
    for row in ("real held-out images, labelled correctly",
                "samples, labelled as the class asked for",
                "style transfers, labelled as the class asked for"):
        assert row in out
    assert "(4 per class x 10 classes)" in out and "(8 held-out images x 10 classes)" in out
    assert_png(tmp_path / "conditional_transfer.png")
    assert_png(tmp_path / "conditional_samples.png")


@pytest.mark.parametrize("dataset", ["digits", pytest.param("mnist", marks=requires_mnist)])
def test_anomaly_detection(tmp_path, dataset):
    out = run_example("anomaly_detection.py", "--dataset", dataset, "--epochs", 1,
                      "--n-samples", 300, "--n-importance", 3, "--out", tmp_path)
    n_train = int(out.split("Training on ")[1].split()[0])
    assert 200 < n_train < 240  # the first 240 images but their nines
    assert "Ranking 60 held-out images" in out and "ROC AUC" in out
    for method in ("skvae ELBO (K=1)", "skvae bound (K=3)", "PCA (16 components)",
                   "IsolationForest"):
        line = next(line for line in out.splitlines() if line.strip().startswith(method))
        assert 0 <= float(line.split()[-1]) <= 1
    assert_png(tmp_path / "anomaly_roc.png")
