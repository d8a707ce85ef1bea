"""What does the wrapper cost? One module trained three ways, side by side.

The same module (skvae's default conv VAE), the same data (the MNIST test
split tiled to ``--n-samples``), the same epochs, batch size and optimizer
(Adam, fused where torch has the kernel, as skvae builds it):

1. a plain hand-written PyTorch loop over on-device tensors, batches by index;
2. a bare ``skorch.NeuralNet`` with its default ``DataLoader`` iterator;
3. ``VAETransformer.fit``.

Prints samples/s of each (from the median of ``--repeats`` timed rounds,
each starting with a different loop), ``transform`` throughput, peak GPU
memory on CUDA, and last ``ratio skvae/plain: X.XX`` (skvae's median wall
time over the plain loop's).

    python benchmarks/bench_fit.py --device cpu [--epochs 2] [--n-samples 10000] [--repeats 3]
"""

import argparse
import functools
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from skorch import NeuralNet

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    add_common_args,
    apply_common_args,
    header,
    load_mnist_test,
    positive_int,
    sync,
)

from skvae import VAETransformer  # noqa: E402
from skvae._modules import build_vae  # noqa: E402
from skvae._net import NegativeELBO, build_optimizer  # noqa: E402

LATENT_DIM, BATCH_SIZE, LR = 2, 128, 2e-3


def make_module(seed):
    torch.manual_seed(seed)
    defaults = VAETransformer().get_params()
    shape = (1, 28, 28)
    return build_vae(architecture="conv", event_shape=shape, latent_dim=LATENT_DIM,
                     likelihood="bernoulli", channels=defaults["channels"],
                     hidden_dim=defaults["hidden_dim"])


def timed(device, fn):
    sync(device)
    start = time.perf_counter()
    result = fn()
    sync(device)
    return time.perf_counter() - start, result


def plain_loop(X, epochs, device, seed):
    module = make_module(seed).to(device)
    data = torch.from_numpy(X[:, None]).to(device)
    optimizer = build_optimizer(torch.optim.Adam, module.parameters(), lr=LR)
    loss_fn = NegativeELBO()
    for _ in range(epochs):
        for idx in torch.randperm(len(data), device=device).split(BATCH_SIZE):
            optimizer.zero_grad()
            loss = loss_fn(module(data[idx]))
            loss.backward()
            optimizer.step()
    return module


def bare_skorch(X, epochs, device, seed):
    net = NeuralNet(make_module(seed), criterion=NegativeELBO,
                    optimizer=functools.partial(build_optimizer, torch.optim.Adam),
                    lr=LR, max_epochs=epochs, batch_size=BATCH_SIZE, train_split=None,
                    iterator_train__shuffle=True, device=device, verbose=0)
    # skorch's default Dataset wants a target; the loss ignores it.
    return net.fit(X[:, None], np.zeros(len(X), dtype=np.float32))


def skvae_fit(X, epochs, device, seed):
    return VAETransformer(n_components=LATENT_DIM, batch_size=BATCH_SIZE, lr=LR,
                          optimizer=torch.optim.Adam, weight_decay=0.0, lr_schedule="constant",
                          max_epochs=epochs, device=device, random_state=seed).fit(X)


def main(argv=None):
    parser = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]),
                             epochs=2)
    parser.add_argument("--n-samples", type=int, default=None,
                        help="images per epoch, the test split tiled (default: 60000 on "
                             "cuda, 10000 on cpu)")
    parser.add_argument("--repeats", type=positive_int, default=3,
                        help="rounds of the three loops, each starting with another; "
                             "the median time of each is reported")
    args = parser.parse_args(argv)
    apply_common_args(args)
    # Short runs leave latent units inactive; that warning is not the point here.
    warnings.filterwarnings("ignore", "Only .* latent dimensions are active")
    n = args.n_samples or (60_000 if args.device == "cuda" else 10_000)
    X, _ = load_mnist_test(args.data_home)
    X = np.ascontiguousarray(np.resize(X, (n, 28, 28)))
    print(header(args.device))
    print(f"{n} images x {args.epochs} epochs, batch {BATCH_SIZE}, Adam lr {LR}, "
          f"latent_dim {LATENT_DIM}")
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()

    # One untimed pass first: the first convolutions pay one-off kernel
    # selection and allocation, which would be charged to whoever runs first.
    plain_loop(X[:2 * BATCH_SIZE], 1, args.device, args.seed)
    loops = [("plain PyTorch loop", plain_loop), ("bare skorch NeuralNet", bare_skorch),
             ("skvae VAETransformer", skvae_fit)]
    runs, models = {name: [] for name, _ in loops}, {}
    # Each round starts with a different loop and the median is kept, so a
    # slow spell on a shared machine or a warm-up effect is not charged to
    # one loop.
    for round_ in range(args.repeats):
        first = round_ % len(loops)
        for name, train in loops[first:] + loops[:first]:
            elapsed, models[name] = timed(args.device, lambda: train(X, args.epochs,
                                                                     args.device, args.seed))
            runs[name].append(elapsed)
    seconds = {name: float(np.median(times)) for name, times in runs.items()}
    for name, times in runs.items():
        print(f"{name:<24}{n * args.epochs / seconds[name]:>12.0f} samples/s"
              f"{seconds[name]:>10.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})")
    vae = models["skvae VAETransformer"]
    transform_s, _ = timed(args.device, lambda: vae.transform(X))
    print(f"skvae transform         {n / transform_s:>12.0f} images/s")
    if args.device == "cuda":
        print(f"peak GPU memory         {torch.cuda.max_memory_allocated() / 2**20:>12.0f} MiB")
    print(f"ratio bare-skorch/skvae: "
          f"{seconds['bare skorch NeuralNet'] / seconds['skvae VAETransformer']:.2f}")
    print(f"ratio skvae/plain: "
          f"{seconds['skvae VAETransformer'] / seconds['plain PyTorch loop']:.2f}")


if __name__ == "__main__":
    main()
