"""Dataset loaders for the examples, benchmarks and tests.

Follows scikit-learn's conventions: files are cached under
:func:`sklearn.datasets.get_data_home` and the loader returns a
:class:`sklearn.utils.Bunch`, or ``(X, y)`` with ``return_X_y=True``.
"""

import gzip
import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.request
import warnings
import zlib
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

__all__ = ["MIRRORS", "load_mnist"]

#: Base URLs that serve the four MNIST IDX gz files, tried in order.
MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

# Seconds a mirror may stay silent (connecting or between reads) before it
# is abandoned for the next one.
_TIMEOUT = 30

# sha256 of the DECOMPRESSED IDX files: the mirrors wrap the same bytes in
# different gzip headers, so hashes of the .gz files would reject good mirrors.
# The t10k values were checked against the shared copy of the test split; the
# train values are the ones published alongside those same t10k values by
# several independent projects (download scripts and checksum tables).
_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
    ),
    "train-labels-idx1-ubyte.gz": (
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
    ),
}

# Split prefix and number of samples for each split, in the order "all"
# concatenates them.
_SPLITS = {"train": ("train", 60_000), "test": ("t10k", 10_000)}
_SUBSETS = {"train": ("train",), "test": ("test",), "all": ("train", "test")}

_IMAGE_MAGIC, _LABEL_MAGIC = 2051, 2049
_SIDE = 28

_DESCR = """\
MNIST handwritten digits
------------------------

70,000 grayscale images of handwritten digits 0-9, 28 x 28 pixels, split into
60,000 training and 10,000 test images. Pixels are float32 in [0, 1] (the
stored uint8 values divided by 255); targets are the digits as int64.

Source: http://yann.lecun.com/exdb/mnist/ (the four IDX files).
MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges and is
licensed under the Creative Commons Attribution-Share Alike 3.0 license
(CC BY-SA 3.0).
"""

# What a broken mirror can raise while we fetch and check one file: network
# and HTTP errors and bad gzip data (all OSError), truncated gzip streams
# (EOFError), corrupt deflate data (zlib.error), connections dropped
# mid-body (HTTPException) and checksum mismatches or bad URLs (ValueError).
_MIRROR_ERRORS = (OSError, EOFError, zlib.error, http.client.HTTPException, ValueError)


def _file_names(split):
    prefix = _SPLITS[split][0]
    return f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"


def _data_home(data_home):
    """The folder :func:`sklearn.datasets.get_data_home` names, without creating it.

    ``get_data_home`` creates the folder, and ``download=False`` promises
    to leave the disk alone.
    """
    if data_home is None:
        data_home = os.environ.get(
            "SCIKIT_LEARN_DATA", os.path.join("~", "scikit_learn_data")
        )
    return Path(data_home).expanduser()


def _check_sha256(path, name):
    digest = hashlib.sha256()
    with gzip.open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != _SHA256[name]:
        raise ValueError(
            f"sha256 of the decompressed content is {digest.hexdigest()}, "
            f"expected {_SHA256[name]}"
        )


def _download(name, folder, mirrors):
    """Fetch ``name`` into ``folder`` from the first mirror that serves it intact.

    Returns whether it succeeded; every failed mirror is reported by a warning.
    """
    for base in mirrors:
        url = f"{base.rstrip('/')}/{name}"
        # A temporary file in the destination folder makes os.replace atomic,
        # so neither an interrupted download nor a concurrent reader can see a
        # partial file under the final name.
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(
                url, timeout=_TIMEOUT
            ) as response:
                shutil.copyfileobj(response, out, 1 << 20)
            _check_sha256(tmp, name)
            os.replace(tmp, folder / name)
            return True
        except _MIRROR_ERRORS as exc:
            warnings.warn(
                f"MNIST mirror failed for {url}: {type(exc).__name__}: {exc}",
                stacklevel=3,
            )
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return False


def _read_idx(path, magic, dims):
    """Return the uint8 payload of an IDX file, checking its header against ``dims``."""
    header_size = 4 + 4 * len(dims)
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path} is not a valid gzip file: {exc}") from exc
    if len(raw) < header_size:
        raise ValueError(f"{path} is too short to hold an IDX header.")
    header = np.frombuffer(raw, dtype=">u4", count=1 + len(dims))
    if header[0] != magic:
        raise ValueError(
            f"{path} has IDX magic number {header[0]}, expected {magic}."
        )
    if tuple(header[1:]) != dims:
        raise ValueError(
            f"{path} holds an array of shape {tuple(int(d) for d in header[1:])}, "
            f"expected {dims}."
        )
    expected = header_size + int(np.prod(dims))
    if len(raw) != expected:
        raise ValueError(f"{path} holds {len(raw)} bytes, expected {expected}.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(dims)


def _load_split(folder, split):
    images_name, labels_name = _file_names(split)
    n = _SPLITS[split][1]
    images = _read_idx(folder / images_name, _IMAGE_MAGIC, (n, _SIDE, _SIDE))
    labels = _read_idx(folder / labels_name, _LABEL_MAGIC, (n,))
    if labels.max() > 9:
        raise ValueError(f"{folder / labels_name} holds labels outside 0-9.")
    return images, labels


def load_mnist(
    subset="train", *, data_home=None, download=True, mirrors=None, return_X_y=False
):
    """Load the MNIST handwritten digits, downloading them if needed.

    =================   ==========================
    Classes                                     10
    Samples total       70,000 (60,000 + 10,000)
    Image shape                            28 x 28
    Pixel values              float32 in [0, 1]
    =================   ==========================

    The four standard gzip-compressed IDX files (``train-images-idx3-ubyte.gz``,
    ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` and
    ``t10k-labels-idx1-ubyte.gz``) are cached in the folder ``mnist`` under
    :func:`sklearn.datasets.get_data_home`. Only the files of the requested
    subset are needed: ``subset="test"`` uses the two ``t10k`` files alone.

    If ``data_home`` itself directly holds every file the subset needs (for
    instance a folder with just the two ``t10k`` files, loaded with
    ``subset="test"``), those files are read in place and nothing is written.

    Downloaded files are checked against the sha256 of their decompressed
    content, so a mirror serving a corrupt or different file is skipped with a
    warning and the next mirror is tried. Every file read, downloaded or
    not, is checked for its IDX magic number, shape and size.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        The 60,000 training images, the 10,000 test images, or all 70,000
        with the training images first.
    data_home : str or path-like, default=None
        The scikit-learn data folder; the files are cached in its ``mnist``
        subfolder. ``None`` means ``~/scikit_learn_data`` or the
        ``SCIKIT_LEARN_DATA`` environment variable. May also be a folder that
        directly holds the needed files, see above.
    download : bool, default=True
        Whether to download missing files. If False, a missing file raises
        :class:`FileNotFoundError` without any network access, and no folder
        is created.
    mirrors : str or sequence of str, default=None
        Base URLs to download from, tried in order; ``None`` means
        ``skvae.datasets.MIRRORS``.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        data : ndarray of shape (n_samples, 28, 28), dtype float32
            The images, with pixel values in [0, 1].
        images : ndarray of shape (n_samples, 28, 28), dtype float32
            The same array as ``data``, named as in
            :func:`sklearn.datasets.load_digits`.
        target : ndarray of shape (n_samples,), dtype int64
            The digit shown in each image.
        target_names : ndarray of shape (10,)
            The digits 0 to 9.
        DESCR : str
            Description of the dataset, with its source and license.

    (data, target) : tuple if ``return_X_y`` is True
        The ``data`` and ``target`` arrays described above.

    Raises
    ------
    ValueError
        If ``subset`` is not one of the valid values, or a file is malformed.
    FileNotFoundError
        If a needed file is missing and ``download`` is False or every mirror
        failed.
    NotADirectoryError
        If ``data_home`` or its ``mnist`` subfolder is a file.
    OSError
        If the cache folder is needed for a download and cannot be created.

    Examples
    --------
    >>> from skvae.datasets import load_mnist
    >>> X, y = load_mnist("test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype, y[:5]  # doctest: +SKIP
    ((10000, 28, 28), dtype('float32'), array([7, 2, 1, 0, 4]))
    """
    if not isinstance(subset, str) or subset not in _SUBSETS:
        raise ValueError(
            f"subset must be one of {', '.join(map(repr, _SUBSETS))}; got {subset!r}."
        )
    splits = _SUBSETS[subset]
    needed = [name for split in splits for name in _file_names(split)]

    if data_home is not None and all(
        (Path(data_home).expanduser() / name).is_file() for name in needed
    ):
        folder = Path(data_home).expanduser()
    else:
        folder = _data_home(data_home) / "mnist"
        for path in (folder.parent, folder):
            if path.exists() and not path.is_dir():
                raise NotADirectoryError(
                    f"{path} is a file, but MNIST is cached in the folder "
                    f"{folder}. Move or rename that file, or pass another "
                    "folder as data_home."
                )
        missing = [name for name in needed if not (folder / name).is_file()]
        if missing and download:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OSError(
                    f"Cannot create the MNIST cache folder {folder} "
                    f"({exc.strerror or exc}); pass a writable folder as "
                    "data_home, or download=False to only read files already "
                    "there."
                ) from exc
            if mirrors is None:
                mirrors = MIRRORS
            elif isinstance(mirrors, str):
                mirrors = [mirrors]
            # Stop at the first file no mirror can provide: the load fails
            # anyway, and the remaining files would only add failed requests.
            for name in missing:
                if not _download(name, folder, mirrors):
                    break
            missing = [name for name in needed if not (folder / name).is_file()]
        if missing:
            reason = (
                "every download mirror failed (see the warnings)"
                if download
                else "download=False"
            )
            raise FileNotFoundError(
                f"MNIST file(s) {', '.join(missing)} not found in {folder} "
                f"({reason}). Put the gzip-compressed IDX file(s) "
                f"{', '.join(needed)} in that folder, or pass a folder holding "
                "them as data_home, or call load_mnist with download=True and "
                "working mirrors to fetch them."
            )

    parts = [_load_split(folder, split) for split in splits]
    X = np.concatenate([p[0] for p in parts], dtype=np.float32)
    X /= 255
    y = np.concatenate([p[1] for p in parts]).astype(np.int64)
    if return_X_y:
        return X, y
    return Bunch(
        data=X, images=X, target=y, target_names=np.arange(10), DESCR=_DESCR
    )
