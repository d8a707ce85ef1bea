"""How good a generative model is skvae? Conditional accuracy, log p(x), samplers.

On the MNIST test split (the first ``--n-train`` images to train, the last
``--n-test`` to test; 8,000 and 2,000 by default) this prints three tables:

(a) conditional VAEs (latent_dim 2 and 8): a judge, ``LogisticRegression``
    trained on the real training pixels (its accuracy on the real test
    images is printed first, as the ceiling), labels 1,000 samples
    (``sample(100, y=k)`` for each class k) and style transfers (each of
    200 test images redrawn as every class,
    ``inverse_transform(transform(X), y=k)``); the columns are the
    fractions it labels as the class asked for (chance: 0.1);
(b) unconditional VAEs (latent_dim 2 and 16): the test log p(x) bounds
    ``score(X_test, n_importance=K)`` for K = 1 (the ELBO), 100 and 1000
    (``--n-importance``), in nats per image; they must rise with K;
(c) the same unconditional models' samples, drawn from the N(0, I) prior
    and from the Gaussian mixture fitted to the training codes
    (``sampler="gmm"``): the judge's mean max class probability (how
    recognisable a digit the sample is) and the entropy of its labels in
    bits (how many classes the samples cover; 3.32 for all ten equally),
    next to the same numbers for real test images.

Run it with::

    python benchmarks/bench_generative.py --data-home ../shared/data/mnist \\
        --device cuda

The K=1000 bounds decode 1,000 codes per test image: seconds on a GPU, but
about half an hour per model for 2,000 images on one CPU core (use
``--n-test`` or ``--n-importance`` there).
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    Timer,
    add_common_args,
    apply_common_args,
    describe_epochs,
    header,
    load_mnist_test,
)

import skvae  # noqa: E402
from skvae import VAETransformer  # noqa: E402

CONDITIONAL_LATENT_DIMS = (2, 8)
UNCONDITIONAL_LATENT_DIMS = (2, 16)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(parser, epochs="auto")
    parser.add_argument("--n-train", type=int, default=8000,
                        help="training images, the first of the split (default: 8000)")
    parser.add_argument("--n-test", type=int, default=2000,
                        help="test images, the last of the split (default: 2000)")
    parser.add_argument("--n-per-class", type=int, default=100,
                        help="samples per class for the judge (default: 100)")
    parser.add_argument("--n-transfer", type=int, default=200,
                        help="test images redrawn as every class (default: 200)")
    parser.add_argument("--n-importance", default="1,100,1000",
                        help="comma-separated numbers K of posterior samples of the "
                             "bounds of (b) (default: 1,100,1000)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="training batch size (default: VAETransformer's)")
    args = parser.parse_args(argv)
    try:
        args.n_importance = [int(k) for k in args.n_importance.split(",")]
    except ValueError:
        parser.error(f"--n-importance must be integers separated by commas; "
                     f"got {args.n_importance!r}")
    if not args.n_importance or min(args.n_importance) < 1:
        parser.error("--n-importance needs at least one K, each K >= 1")
    if args.n_train < 1 or args.n_test < 1 or args.n_train + args.n_test > 10000:
        parser.error("need 1 <= --n-train, --n-test and --n-train + --n-test <= 10000")
    return args


def fit_vae(args, X, y=None, **params):
    if args.batch_size is not None:
        params["batch_size"] = args.batch_size
    vae = VAETransformer(max_epochs=args.epochs, device=args.device, random_state=args.seed,
                         **params)
    with Timer(args.device) as timer, warnings.catch_warnings():
        # Collapsed latent dimensions are reported in the tables instead.
        warnings.filterwarnings("ignore", message="Only .* latent dimensions are active")
        vae.fit(X, y)
    return vae, timer.seconds


def flat(images):
    return images.reshape(len(images), -1)


def label_entropy_bits(labels, n_classes):
    p = np.bincount(labels, minlength=n_classes) / len(labels)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: no -0.0 for one class


def conditional_table(args, judge, X_train, y_train, X_test, y_test):
    classes = np.unique(y_train)
    n_transfer = min(args.n_transfer, len(X_test))
    print(f"\n(a) conditional VAE: fraction the judge labels as the class asked for "
          f"(chance 0.1)\n"
          f"judge: LogisticRegression on {len(X_train)} real training images; "
          f"accuracy on {len(X_test)} real test images: "
          f"{judge.score(flat(X_test), y_test):.3f}")
    print(f"{'latent_dim':>10}  {'prior samples':>13}  {'gmm samples':>11}  {'transfers':>9}  "
          f"{'ELBO log p(x|y)':>15}  {'active':>6}  {'fit s':>7}")
    asked = np.repeat(classes, args.n_per_class)
    for latent_dim in CONDITIONAL_LATENT_DIMS:
        vae, seconds = fit_vae(args, X_train, y_train, n_components=latent_dim,
                               conditional=True, sampler="gmm")
        rng = np.random.RandomState(args.seed)
        # Codes from the N(0, I) prior, decoded directly, beside the sampler's.
        prior = vae.inverse_transform(rng.standard_normal((len(asked), latent_dim)), y=asked)
        gmm = vae.sample(len(asked), random_state=rng, y=asked)
        prior_hits, gmm_hits = (judge.predict(flat(images)) == asked
                                for images in (prior, gmm))
        codes = vae.transform(X_test[:n_transfer])
        transfer_hits = np.concatenate([
            judge.predict(flat(vae.inverse_transform(codes, y=k))) == k for k in classes
        ])
        elbo = vae.score(X_test, y_test)
        print(f"{latent_dim:>10}  {prior_hits.mean():>13.3f}  {gmm_hits.mean():>11.3f}  "
              f"{transfer_hits.mean():>9.3f}  {elbo:>15.2f}  {vae.n_active_units_:>6}  "
              f"{seconds:>7.1f}", flush=True)
    print(f"(samples: {args.n_per_class} per class, {len(asked)} in all, from the prior "
          f"and from sampler=\"gmm\"; transfers: {n_transfer} test images x "
          f"{len(classes)} classes)")


def unconditional_tables(args, judge, X_train, X_test):
    print(f"\n(b) unconditional VAE: test log p(x) bounds, nats per image "
          f"({len(X_test)} test images), score(X_test, n_importance=K)")
    ks = args.n_importance
    bound_columns = "".join(f"  {f'K={K}':>9}" for K in ks)
    print(f"{'latent_dim':>10}{bound_columns}  {'active':>6}  {'fit s':>7}  "
          f"{f'K={ks[-1]} s':>8}")
    models = {}
    for latent_dim in UNCONDITIONAL_LATENT_DIMS:
        vae, seconds = fit_vae(args, X_train, n_components=latent_dim, sampler="gmm")
        models[latent_dim] = vae
        bounds = []
        for K in ks:
            with Timer(args.device) as timer:
                bounds.append(vae.score(X_test, n_importance=K))
        values = "".join(f"  {b:>9.2f}" for b in bounds)
        print(f"{latent_dim:>10}{values}  {vae.n_active_units_:>6}  {seconds:>7.1f}  "
              f"{timer.seconds:>8.1f}", flush=True)

    n_classes = len(judge.classes_)
    n_samples = args.n_per_class * n_classes
    print(f"\n(c) samplers: the judge on {n_samples} samples of the models of (b): "
          "mean max class probability, entropy of its labels (bits; "
          f"{np.log2(n_classes):.2f} = all classes equally)")
    print(f"{'latent_dim':>10}  {'sampler':>7}  {'max prob':>8}  {'label bits':>10}")

    def judged(images):
        proba = judge.predict_proba(flat(images))
        labels = judge.classes_[proba.argmax(axis=1)]
        entropy = label_entropy_bits(np.searchsorted(judge.classes_, labels), n_classes)
        return proba.max(axis=1).mean(), entropy

    real = judged(X_test)
    print(f"{'real':>10}  {'-':>7}  {real[0]:>8.3f}  {real[1]:>10.2f}")
    for latent_dim, vae in models.items():
        rng = np.random.RandomState(args.seed)
        # sampler="prior" draws codes from N(0, I): decode such codes directly,
        # so one model serves both rows.
        prior = vae.inverse_transform(rng.standard_normal((n_samples, latent_dim)))
        gmm = vae.sample(n_samples, random_state=args.seed)
        for name, samples in (("prior", prior), ("gmm", gmm)):
            max_prob, entropy = judged(samples)
            print(f"{latent_dim:>10}  {name:>7}  {max_prob:>8.3f}  {entropy:>10.2f}",
                  flush=True)


def main(argv=None):
    args = parse_args(argv)
    apply_common_args(args)
    print(f"{header(args.device)} | skvae {skvae.__version__}")
    from sklearn.linear_model import LogisticRegression

    X, y = load_mnist_test(args.data_home)
    X_train, y_train = X[:args.n_train], y[:args.n_train]
    X_test, y_test = X[-args.n_test:], y[-args.n_test:]
    print(f"MNIST test split: {len(X_train)} training, {len(X_test)} test images; "
          f"{describe_epochs(args.epochs)}, batch size "
          f"{args.batch_size or VAETransformer().batch_size}, seed {args.seed}")

    judge = LogisticRegression(max_iter=1000).fit(flat(X_train), y_train)
    conditional_table(args, judge, X_train, y_train, X_test, y_test)
    unconditional_tables(args, judge, X_train, X_test)


if __name__ == "__main__":
    main()
