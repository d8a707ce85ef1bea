"""The benchmarks run from a checkout and print the lines their readers parse."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MNIST_DIR

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

pytestmark = pytest.mark.skipif(not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
                                reason="needs the MNIST test split")


def run(script, *args):
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), "--data-home",
                             str(MNIST_DIR), *args], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_bench_fit_prints_throughputs_and_the_ratio():
    out = run("bench_fit.py", "--device", "cpu", "--epochs", "1", "--n-samples", "512",
              "--repeats", "2")
    for name in ("plain PyTorch loop", "bare skorch NeuralNet", "skvae VAETransformer"):
        assert re.search(rf"{name}\s+\d+ samples/s\s+\d+\.\d\d s  \(runs: \d+\.\d\d, \d+\.\d\d\)",
                         out), name
    assert re.search(r"skvae transform\s+\d+ images/s", out)
    ratio = re.search(r"^ratio skvae/plain: (\d+\.\d\d)$", out, re.M)
    assert ratio and float(ratio.group(1)) > 0


def test_bench_quality_prints_the_table():
    out = run("bench_quality.py", "--epochs", "1", "--n-train", "300", "--n-test", "100",
              "--latent-dims", "2")
    assert "kNN-5 acc" in out and "-ELBO (nats)" in out
    for name in ("plain PyTorch port", "skvae defaults", "PCA", "goal (skvae)"):
        assert re.search(rf"^{re.escape(name)}\s+2\s", out, re.M), name
