"""Tests of the ``skvae`` command line (skvae._cli)."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import pytest  # noqa: E402

from skvae._cli import FIGURES, main  # noqa: E402

from conftest import MNIST_DIR, requires_mnist  # noqa: E402

# Quick runs: the figures are checked, not the model's quality.
QUICK = ["--epochs", "2"]

# Models trained this briefly may warn that latent dimensions collapsed.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Only .* latent dimensions are active:UserWarning")


def _check_pngs(folder):
    for name in FIGURES:
        path = folder / name
        assert path.is_file(), name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        image = mpimg.imread(path)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100, name


def test_demo_digits(tmp_path, capsys):
    out = tmp_path / "new" / "figures"  # created, parents included
    assert main(["demo", *QUICK, "--out", str(out)]) == 0
    _check_pngs(out)
    printed = capsys.readouterr().out
    for word in ("ELBO", "MSE", "kNN", "PCA", "epoch"):
        assert word in printed, word
    # One row per figure of merit, with a value for each method.
    mse = next(line for line in printed.splitlines() if "MSE" in line).split()
    knn = next(line for line in printed.splitlines() if "kNN" in line).split()
    assert 0 < float(mse[-2]) < 1 and 0 < float(mse[-1]) < 1
    assert 0 <= float(knn[-2]) <= 1 and 0 <= float(knn[-1]) <= 1
    elbo = next(line for line in printed.splitlines() if "ELBO (" in line).split()
    assert float(elbo[-2]) < 0 and elbo[-1] == "-"


def test_demo_more_latent_dims_and_subset(tmp_path, capsys):
    args = ["demo", "--epochs", "1", "--latent-dim", "3", "--n-samples", "300",
            "--random-state", "1", "--out", str(tmp_path)]
    assert main(args) == 0
    _check_pngs(tmp_path)
    assert "225 images" in capsys.readouterr().out  # 75% of 300 train


def test_demo_restores_torch_threads(tmp_path):
    import torch

    before = torch.get_num_threads()
    assert main(["demo", "--epochs", "1", "--n-samples", "100", "--threads", "1",
                 "--out", str(tmp_path)]) == 0
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("argv, message", [
    (["demo", "--epochs", "zero"], "--epochs"),
    (["demo", "--epochs", "0"], "--epochs"),
    (["demo", "--latent-dim", "-1"], "--latent-dim"),
    (["demo", "--dataset", "cifar"], "--dataset"),
    (["demo", "--n-samples", "10"], "--n-samples"),
    (["demo", "--bogus"], "--bogus"),
    (["frobnicate"], "frobnicate"),
    ([], "missing command"),
])
def test_bad_arguments(argv, message, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "error" in lines[0] and message in lines[0]
    assert "Traceback" not in captured.err


def test_help_exits_zero(capsys):
    assert main(["demo", "--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--dataset", "--data-home", "--latent-dim", "--epochs", "--out",
                   "--random-state", "t10k"):
        assert option in text


def test_mnist_missing_data(tmp_path, capsys):
    out = tmp_path / "figures"
    assert main(["demo", "--dataset", "mnist", "--data-home", str(tmp_path),
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not found" in err and "--data-home" in err
    assert not out.exists()  # nothing is written when the data is missing
    assert main(["demo", "--dataset", "mnist", "--data-home",
                 str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_out_is_not_a_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["demo", "--out", str(blocker / "sub")]) == 2
    assert "--out" in capsys.readouterr().err


def test_module_entry_point_exit_code():
    result = subprocess.run([sys.executable, "-m", "skvae._cli", "demo", "--epochs", "x"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--epochs" in result.stderr


@requires_mnist
def test_demo_mnist(tmp_path, capsys):
    args = ["demo", "--dataset", "mnist", "--data-home", str(MNIST_DIR),
            "--epochs", "1", "--n-samples", "400", "--out", str(tmp_path)]
    assert main(args) == 0
    _check_pngs(tmp_path)
    printed = capsys.readouterr().out
    assert "MNIST" in printed and "kNN" in printed
    manifold = mpimg.imread(tmp_path / "manifold.png")
    assert manifold.shape[:2] == (800, 800)
