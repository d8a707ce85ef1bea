"""The benchmarks run from a checkout and print the lines their readers parse."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import MNIST_DIR, requires_mnist

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_process(script, *args):
    return subprocess.run([sys.executable, str(BENCHMARKS / script), "--data-home",
                           str(MNIST_DIR), *args], capture_output=True, text=True, timeout=600)


def run(script, *args):
    result = run_process(script, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@requires_mnist
def test_bench_fit_prints_throughputs_the_wrapper_ratios_and_the_neighbor_loss_cost():
    out = run("bench_fit.py", "--device", "cpu", "--epochs", "1", "--n-samples", "512",
              "--repeats", "2", "--threads", "1")
    header = out.splitlines()[0]
    assert header.startswith("device: cpu (") and "1 torch threads" in header
    for library in ("torch", "sklearn", "skorch"):
        assert re.search(rf"\| {library} \S+", header), library
    # The neighbor loss's cost: skvae at the default ("auto", 200 at
    # n_components=2) against skvae without it. The names of the skvae rows
    # carry the weight each fitted model trained with.
    weight = r"\d+(?:\.\d+)?"
    cost = re.search(rf'^neighbor loss cost, skvae neighbor_weight=({weight}) \(default "auto"\)'
                     rf" / skvae neighbor_weight=0: (\d+\.\d\d) \(([+-]\d+\.\d\d) s per fit\)$",
                     out, re.M)
    assert cost and float(cost.group(1)) > 0 and float(cost.group(2)) > 0
    default = f"skvae neighbor_weight={cost.group(1)}"
    seconds = {}
    for name in ("plain PyTorch loop", "bare skorch NeuralNet", "skvae neighbor_weight=0",
                 default):
        row = re.search(rf"^{re.escape(name)}\s+\d+ samples/s\s+(\d+\.\d\d) s  "
                        rf"\(runs: \d+\.\d\d, \d+\.\d\d\)$", out, re.M)
        assert row, name
        seconds[name] = float(row.group(1))
    # Two rounded medians and their rounded difference.
    extra = seconds[default] - seconds["skvae neighbor_weight=0"]
    assert abs(float(cost.group(3)) - extra) <= 0.016
    assert re.search(r"^skvae transform\s+\d+ images/s$", out, re.M)
    # Like with like: the wrapper's cost is skvae without the neighbor loss,
    # which the plain loop and bare skorch do not have either.
    for reference in ("plain PyTorch loop", "bare skorch NeuralNet"):
        ratio = re.search(rf"^wrapper ratio, skvae neighbor_weight=0 / {reference}: "
                          rf"(\d+\.\d\d)$", out, re.M)
        assert ratio and float(ratio.group(1)) > 0, reference
    assert len(re.findall(r"^wrapper ratio, ", out, re.M)) == 2


@pytest.mark.parametrize("script", ["bench_fit.py", "bench_quality.py", "bench_generative.py"])
def test_benchmarks_refuse_a_thread_count_below_one(script):
    result = run_process(script, "--threads", "0")
    assert result.returncode == 2
    assert "argument --threads: must be at least 1; got 0" in result.stderr


@requires_mnist
def test_bench_quality_prints_the_table_with_a_row_per_seed_their_mean_and_worst():
    out = run("bench_quality.py", "--epochs", "1", "--n-train", "300", "--n-test", "100",
              "--latent-dims", "2", "--repeats", "2", "--seed", "3",
              "--models", "skvae,flat,plain,pca")
    assert "kNN-5 acc" in out and "trust-10" in out and "train trust" in out
    assert "-ELBO (nats)" in out
    assert "seeds 3, 4" in out
    for name in ("plain PyTorch port", "skvae defaults", "neighbor_weight=0"):
        rows = {seed: [float(v) for v in values.split()] for seed, values in re.findall(
            rf"^{re.escape(name)}\s+2\s+(3|4|mean|worst)\s+(.*)$", out, re.M)}
        assert set(rows) == {"3", "4", "mean", "worst"}, name
        seeds = np.array([rows["3"], rows["4"]])
        # Half a unit of each column's last printed digit, twice (two rounded seeds).
        rounding = np.array([1e-3, 1e-4, 1e-4, 1e-4, 0.1, 0.1, 0.5])
        assert np.all(np.abs(rows["mean"] - seeds.mean(axis=0)) <= rounding)
        # The worst seed: lowest kNN accuracy and trustworthiness (test and
        # training rows), highest MSE, -ELBO, time, epochs.
        worst = [*seeds[:, :3].min(axis=0), *seeds[:, 3:].max(axis=0)]
        assert np.all(np.abs(rows["worst"] - np.array(worst)) <= rounding)
        assert 0 < rows["worst"][1] <= 1 and 0 < rows["worst"][2] <= 1
        assert rows["worst"][6] == 1, name  # --epochs 1
    # PCA does not depend on the seed: one row.
    assert re.findall(r"^PCA\s+2\s+(\S+)\s", out, re.M) == ["3"]
    assert re.search(r"^goal \(skvae\)\s+2\s+>=0\.78", out, re.M)
    ratio = re.search(r"^worst seeds, fit time skvae / flat: (\d+\.\d\d), per epoch "
                      r"(\d+\.\d\d) \(goal <= 1\.5\)$", out, re.M)
    # Both trained one epoch: the ratio is the per-epoch one.
    assert ratio and float(ratio.group(1)) == float(ratio.group(2)) > 0
    spread = re.search(r"^skvae's worst seed: kNN (\d\.\d{3}) below the mean of the seeds "
                       r"\(goal <= 0\.03\)$", out, re.M)
    knn = [float(v.split()[0]) for v in re.findall(r"^skvae defaults\s+2\s+(?:3|4)\s+(.*)$",
                                                   out, re.M)]
    assert spread and abs(float(spread.group(1)) - (np.mean(knn) - min(knn))) <= 2e-3


def test_bench_quality_runs_on_the_digits_without_mnist(tmp_path):
    # An empty --data-home: the digits must not need the MNIST files.
    result = subprocess.run([sys.executable, str(BENCHMARKS / "bench_quality.py"), "--dataset",
                             "digits", "--data-home", str(tmp_path), "--epochs", "1",
                             "--latent-dims", "2", "--threads", "1"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "scikit-learn's digits: first 1437 images to train, last 360 to test" in out
    assert "plain PyTorch port: the tutorial's net takes 28x28 images only; skipped" in out
    rows = {name: [float(v) for v in values.split()[:2]] for name, values in re.findall(
        r"^(skvae defaults|neighbor_weight=0|PCA)\s+2\s+0\s+(.*)$", out, re.M)}
    assert set(rows) == {"skvae defaults", "neighbor_weight=0", "PCA"}
    for knn, trust in rows.values():
        assert 0 <= knn <= 1 and 0 < trust <= 1
    # PCA's 2-D codes of the digits sort them well above chance (0.1).
    assert rows["PCA"][0] > 0.4
    # The goals are MNIST's: no goal row on the digits, but the fit-time ratio.
    assert "goal (skvae)" not in out
    assert re.search(r"^worst seeds, fit time skvae / flat: \d+\.\d\d", out, re.M)


@pytest.mark.parametrize("script, args, message", [
    ("bench_quality.py", ["--epochs", "many"],
     "argument --epochs: expected auto or an integer of at least 1; got 'many'"),
    ("bench_features.py", ["--epochs", "0"],
     "argument --epochs: expected auto or an integer of at least 1; got '0'"),
    # The scripts that train other nets than the estimator take a number.
    ("bench_fit.py", ["--epochs", "auto"], "argument --epochs: invalid positive_int value"),
    ("bench_generative.py", ["--epochs", "-1"],
     "argument --epochs: expected auto or an integer of at least 1; got '-1'"),
    ("bench_quality.py", ["--set", "max_epochs=3"],
     "'max_epochs' is set by the benchmark's own options; use --epochs"),
    ("bench_features.py", ["--set", "random_state=1"],
     "'random_state' is set by the benchmark's own options; use --seed"),
])
def test_benchmarks_refuse_epochs_and_settings_they_cannot_train(script, args, message):
    result = run_process(script, *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_bench_quality_leaves_the_epochs_to_the_estimator_by_default():
    out = run("bench_quality.py", "--dataset", "digits", "--n-train", "64", "--n-test", "32",
              "--latent-dims", "2", "--models", "skvae,flat", "--threads", "1")
    assert "first 64 images to train, last 32 to test; max_epochs='auto'; seeds 0" in out
    epochs = dict(re.findall(r"^(skvae defaults|neighbor_weight=0)\s+2\s+0\s+.*\s(\d+)$",
                             out, re.M))
    # 64 rows: the map's 60 epochs, the flat model's 30.
    assert epochs == {"skvae defaults": "60", "neighbor_weight=0": "30"}
    ratio = re.search(r"^worst seeds, fit time skvae / flat: (\d+\.\d\d), per epoch "
                      r"(\d+\.\d\d) \(goal <= 1\.5\)$", out, re.M)
    assert ratio and abs(float(ratio.group(2)) - float(ratio.group(1)) / 2) <= 0.01


@pytest.mark.parametrize("args, message", [
    (["--n-train", "1500"], "--n-train 1500 and --n-test 360: need at least 21 of each, "
                            "and at most 1797 rows together"),
    (["--n-train", "10"], "--n-train 10 and --n-test 360: need at least 21 of each"),
    (["--n-test", "0"], "--n-train 1437 and --n-test 0"),
    (["--models", "pca,plain"], "--models plain: the tutorial's net takes 28x28 images only"),
])
def test_bench_quality_refuses_splits_and_models_the_digits_cannot_give(args, message):
    result = run_process("bench_quality.py", "--dataset", "digits", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bench_features_prints_each_reducers_mean_and_worst_fold():
    out = run("bench_features.py", "--epochs", "1", "--folds", "2", "--threads", "1",
              "--models", "skvae,pca")
    assert "KFold(2)" in out and "8 components" in out
    rows = {name: values.split() for name, values in re.findall(
        r"^(skvae|pca)\s+(\d\.\d{3}\s+\d\.\d{3}\s+.*)$", out, re.M)}
    assert set(rows) == {"skvae", "pca"}
    for values in rows.values():
        mean, worst, _, *folds = map(float, values)
        assert len(folds) == 2 and worst == min(folds) <= mean
        assert abs(mean - np.mean(folds)) <= 1e-3
    # PCA's 8 components separate the digits far above chance (0.1).
    assert float(rows["pca"][0]) > 0.7


def test_bench_features_refuses_unknown_models_and_one_fold():
    result = run_process("bench_features.py", "--models", "skvae,tsne")
    assert result.returncode == 2 and "unknown model(s) tsne" in result.stderr
    result = run_process("bench_features.py", "--folds", "1")
    assert result.returncode == 2
    assert "--folds 1: cross-validation needs at least 2" in result.stderr


@pytest.mark.parametrize("script, rows", [
    ("bench_quality.py", r"^(skvae, --set|neighbor_weight=0)\s+2\s+0\s+(\S+\s+\S+\s+\S+)"),
    ("bench_features.py", r"^(skvae|flat)\s+(\d\.\d{3}\s+\d\.\d{3})"),
])
def test_benchmarks_pass_set_parameters_to_the_skvae_models(script, rows):
    # --set neighbor_weight=0 makes the skvae model the flat one: the same figures.
    args = (["--dataset", "digits", "--latent-dims", "2", "--n-train", "300", "--n-test",
             "100"] if script == "bench_quality.py" else ["--folds", "2"])
    out = run(script, "--epochs", "1", "--threads", "1", "--models", "skvae,flat",
              "--set", "neighbor_weight=0", "--set", "lr=0.002", *args)
    assert "skvae models with neighbor_weight=0, lr=0.002" in out
    found = dict(re.findall(rows, out, re.M))
    assert len(found) == 2 and len(set(found.values())) == 1, found


@pytest.mark.parametrize("value, message", [
    ("weight_decay", "expected NAME=VALUE; got 'weight_decay'"),
    ("decay=0.1", "'decay' is not a VAETransformer parameter"),
])
def test_benchmarks_refuse_a_malformed_set(value, message):
    for script in ("bench_quality.py", "bench_features.py"):
        result = run_process(script, "--set", value)
        assert result.returncode == 2 and message in result.stderr
