"""Tests of the ``skvae`` command line (skvae._cli)."""

import os
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
    # The choices the fit resolved: the convolutional net on [0, 1] pixels,
    # with UMAP's neighbor loss on in 2-D.
    choices = _resolved(printed)
    assert choices["architecture_"] == "conv"
    assert choices["likelihood_"] == "bernoulli"
    assert choices["n_components_"] == "2"
    assert choices["neighbor loss weight"] == "200 (neighbor_weight='auto')"
    assert choices["learning rate"] == "0.006 (lr='auto')"
    assert choices["weight decay"] == "0.03 (weight_decay='auto')"
    assert choices["device_"] in ("cpu", "cuda")


def _resolved(printed):
    """The demo's table of resolved model choices, as a dict of strings."""
    lines = printed.splitlines()
    start = lines.index("Model, as the fit resolved it:") + 1
    rows = {}
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        name, value = line[2:28].strip(), line[28:].strip()
        rows[name] = value
    return rows


def test_demo_more_latent_dims_and_subset(tmp_path, capsys):
    args = ["demo", "--epochs", "1", "--latent-dim", "3", "--n-samples", "300",
            "--random-state", "1", "--out", str(tmp_path)]
    assert main(args) == 0
    _check_pngs(tmp_path)
    printed = capsys.readouterr().out
    assert "225 images" in printed  # 75% of 300 train
    # "auto" halves the neighbor loss's weight with every two dimensions
    # beyond 2.
    choices = _resolved(printed)
    assert choices["n_components_"] == "3"
    assert choices["neighbor loss weight"] == "141 (neighbor_weight='auto')"
    assert choices["architecture_"] == "conv"


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


@pytest.mark.parametrize("below", ["", "sub", "sub/figures"])
def test_out_under_a_file_fails_before_training(tmp_path, capsys, below):
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = blocker / below if below else blocker
    assert main(["demo", "--epochs", "1", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(f"skvae demo: error: --out {out}: "
                                   f"{blocker} is a file, not a folder")
    assert "Training" not in captured.out
    assert blocker.read_text() == ""


def test_out_that_refuses_writes_fails_before_training(tmp_path, capsys, monkeypatch):
    import tempfile

    # Tests run as root, where a read-only mode stops no write: refuse the
    # write itself, as a read-only mount would.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    out = tmp_path / "figures"
    assert main(["demo", "--epochs", "1", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (f"skvae demo: error: --out {out}: cannot write to the folder "
                            "(Permission denied) (see 'skvae demo --help')\n")
    assert "Training" not in captured.out


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes to read-only folders")
def test_read_only_out(tmp_path, capsys):
    out = tmp_path / "figures"
    out.mkdir()
    out.chmod(0o500)
    try:
        assert main(["demo", "--epochs", "1", "--out", str(out)]) == 2
    finally:
        out.chmod(0o700)
    assert "cannot write to the folder" in capsys.readouterr().err


def test_mnist_cache_that_is_a_file(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SKVAE_MNIST_DIR", raising=False)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path))
    (tmp_path / "mnist").write_text("")
    assert main(["demo", "--dataset", "mnist", "--out", str(tmp_path / "figures")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read MNIST" in err
    assert f"{tmp_path / 'mnist'} is a file" in err


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
