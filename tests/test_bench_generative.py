"""Smoke test of benchmarks/bench_generative.py with tiny settings."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MNIST_DIR, requires_mnist

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_generative.py"

pytestmark = requires_mnist


def run_bench(*args, timeout=300):
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--data-home", str(MNIST_DIR), *map(str, args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


def table(out, title, n_rows):
    """The rows of the table under the line starting with ``title``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    header = next(i for i in range(start, len(lines)) if lines[i].startswith("latent_dim"))
    return [line.split() for line in lines[header + 1:header + 1 + n_rows]]


def test_bench_generative_smoke():
    result = run_bench("--epochs", 1, "--n-train", 500, "--n-test", 20,
                       "--n-per-class", 3, "--n-transfer", 5, "--n-importance", "1,4")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.startswith("device: cpu (") and "| torch " in out and "| skvae " in out
    assert "500 training, 20 test images" in out
    assert "accuracy on 20 real test images" in out

    rows = table(out, "(a) conditional VAE", 2)
    assert [row[0] for row in rows] == ["2", "8"]
    for row in rows:
        prior, gmm, transfers = map(float, row[1:4])
        assert all(0 <= hits <= 1 for hits in (prior, gmm, transfers))
    assert ('(samples: 3 per class, 30 in all, from the prior and from sampler="gmm"; '
            'transfers: 5 test images x 10 classes)') in out

    assert "K=1" in out and "K=4" in out
    rows = table(out, "(b) unconditional VAE", 2)
    assert [row[0] for row in rows] == ["2", "16"]
    for row in rows:
        float(row[1]), float(row[2])  # the K=1 and K=4 bounds

    rows = table(out, "(c) samplers", 5)
    assert [row[:2] for row in rows] == [["real", "-"], ["2", "prior"], ["2", "gmm"],
                                         ["16", "prior"], ["16", "gmm"]]
    for row in rows:
        assert 0.1 <= float(row[2]) <= 1 and 0 <= float(row[3]) <= 3.33


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_generative", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("argv, message", [
    (["--n-train", "9000", "--n-test", "2000"], "--n-train + --n-test <= 10000"),
    (["--n-importance", "1,x"], "--n-importance must be integers"),
    (["--n-importance", "0"], "each K >= 1"),
])
def test_bench_generative_rejects_bad_options(argv, message, capsys):
    bench = _load_bench()
    with pytest.raises(SystemExit) as exc:
        bench.parse_args(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_bench_generative_defaults():
    args = _load_bench().parse_args([])
    assert (args.epochs, args.n_train, args.n_test, args.n_importance, args.device) == \
        ("auto", 8000, 2000, [1, 100, 1000], "cpu")
