"""What does the wrapper cost, and what does the neighbor loss cost? Side by side.

The same module (skvae's default conv VAE at ``n_components=2``), the same
data (the MNIST test split tiled to ``--n-samples``), the same epochs, batch
size and optimizer (Adam, fused where torch has the kernel, as skvae builds
it), trained four ways in one run:

1. a plain hand-written PyTorch loop over on-device tensors, batches by index;
2. a bare ``skorch.NeuralNet`` with its default ``DataLoader`` iterator;
3. ``VAETransformer(neighbor_weight=0).fit``: the same loss as 1 and 2 (the
   negative ELBO), so it against them is the wrapper's cost alone;
4. ``VAETransformer.fit`` at the default ``neighbor_weight="auto"`` (200 at
   ``n_components=2``): the negative ELBO plus the neighbor-preserving loss,
   which needs a k-nearest-neighbor graph of the data and encodes
   neighbors of each batch's rows alongside them.

Prints a header (device, torch/sklearn/skorch versions, torch threads),
samples/s of each (from the median of ``--repeats`` timed rounds, each
starting with a different loop), ``transform`` throughput, peak GPU memory on
CUDA, then one line per comparison, each naming what it compares:

    wrapper ratio, skvae neighbor_weight=0 / plain PyTorch loop: X.XX
    wrapper ratio, skvae neighbor_weight=0 / bare skorch NeuralNet: X.XX
    neighbor loss cost, skvae neighbor_weight=200 (default "auto") / skvae neighbor_weight=0:
        X.XX (+S.SS s per fit)

(the last on one line), where 200 is the weight the default model trained with.

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
from skvae._net import build_optimizer  # noqa: E402

LATENT_DIM, BATCH_SIZE, LR = 2, 128, 2e-3


def make_module(seed):
    torch.manual_seed(seed)
    defaults = VAETransformer().get_params()
    shape = (1, 28, 28)
    return build_vae(architecture="conv", event_shape=shape, latent_dim=LATENT_DIM,
                     likelihood="bernoulli", channels=defaults["channels"],
                     hidden_dim=defaults["hidden_dim"])


class NegativeELBO(torch.nn.Module):
    """Minus the ELBO per sample, averaged over the batch: skvae's loss at
    ``neighbor_weight=0`` for an unconditional model, from the two fields of
    the module's output that it needs (skorch passes a target; it is unused)."""

    def forward(self, output, target=None):
        return -(output.log_lik.mean(dim=0) - output.kl).mean()


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


def skvae_fit(X, epochs, device, seed, *, neighbor_weight):
    return VAETransformer(n_components=LATENT_DIM, batch_size=BATCH_SIZE, lr=LR,
                          optimizer=torch.optim.Adam, weight_decay=0.0, lr_schedule="constant",
                          neighbor_weight=neighbor_weight, max_epochs=epochs, device=device,
                          random_state=seed).fit(X)


def fitted_neighbor_weight(vae):
    """The neighbor loss's weight a fitted ``VAETransformer`` trained with."""
    net = vae.net_
    criterion = getattr(net, "criterion_", None)
    if hasattr(criterion, "neighbor_weight"):
        return float(criterion.neighbor_weight)
    return float(net.get_params()["criterion__neighbor_weight"])


def main(argv=None):
    parser = add_common_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]),
                             epochs=2)
    parser.add_argument("--n-samples", type=int, default=None,
                        help="images per epoch, the test split tiled (default: 60000 on "
                             "cuda, 10000 on cpu)")
    parser.add_argument("--repeats", type=positive_int, default=3,
                        help="rounds of the four loops, each starting with another; "
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
          f"latent_dim {LATENT_DIM}, {args.repeats} rounds (medians)")
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()

    # One untimed pass of each first: the first convolutions pay one-off
    # kernel selection and allocation, and skvae's first fit one-off imports
    # and set-up (of the neighbor graph, the sampler), which would be charged
    # to whoever runs first.
    plain_loop(X[:2 * BATCH_SIZE], 1, args.device, args.seed)
    skvae_fit(X[:2 * BATCH_SIZE], 1, args.device, args.seed, neighbor_weight="auto")
    # The keys name what each loop is asked for; the printed names of the
    # skvae ones carry the weight each fitted model actually trained with.
    loops = [("plain", plain_loop), ("skorch", bare_skorch),
             ("skvae_off", functools.partial(skvae_fit, neighbor_weight=0)),
             ("skvae_default", functools.partial(skvae_fit, neighbor_weight="auto"))]
    runs, models = {key: [] for key, _ in loops}, {}
    # Each round starts with a different loop and the median is kept, so a
    # slow spell on a shared machine or a warm-up effect is not charged to
    # one loop.
    for round_ in range(args.repeats):
        first = round_ % len(loops)
        for key, train in loops[first:] + loops[:first]:
            elapsed, models[key] = timed(args.device, lambda: train(X, args.epochs,
                                                                    args.device, args.seed))
            runs[key].append(elapsed)
    off_weight = fitted_neighbor_weight(models["skvae_off"])
    default_weight = fitted_neighbor_weight(models["skvae_default"])
    if off_weight != 0:
        raise SystemExit(f"skvae with neighbor_weight=0 trained with weight {off_weight:g}")
    names = {"plain": "plain PyTorch loop", "skorch": "bare skorch NeuralNet",
             "skvae_off": f"skvae neighbor_weight={off_weight:g}",
             "skvae_default": f"skvae neighbor_weight={default_weight:g}"}
    seconds = {key: float(np.median(times)) for key, times in runs.items()}
    width = max(len(name) for name in names.values()) + 2
    for key, times in runs.items():
        print(f"{names[key]:<{width}}{n * args.epochs / seconds[key]:>12.0f} samples/s"
              f"{seconds[key]:>10.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)})")
    # transform does not use the neighbor loss: the wrapper's model serves.
    vae = models["skvae_off"]
    transform_s, _ = timed(args.device, lambda: vae.transform(X))
    print(f"{'skvae transform':<{width}}{n / transform_s:>12.0f} images/s")
    if args.device == "cuda":
        print(f"{'peak GPU memory':<{width}}"
              f"{torch.cuda.max_memory_allocated() / 2**20:>12.0f} MiB")
    # The wrapper's cost: the same loss (the negative ELBO) three ways.
    for key in ("plain", "skorch"):
        print(f"wrapper ratio, {names['skvae_off']} / {names[key]}: "
              f"{seconds['skvae_off'] / seconds[key]:.2f}")
    # The neighbor loss's cost: skvae at its default against skvae without it.
    extra = seconds["skvae_default"] - seconds["skvae_off"]
    print(f"neighbor loss cost, {names['skvae_default']} (default \"auto\") / "
          f"{names['skvae_off']}: {seconds['skvae_default'] / seconds['skvae_off']:.2f} "
          f"({extra:+.2f} s per fit)")


if __name__ == "__main__":
    main()
