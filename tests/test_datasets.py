"""Tests for skvae.datasets.load_mnist.

Downloads are exercised against HTTP servers on 127.0.0.1 that serve the
shared copy of the MNIST test split; no test touches the internet.
"""

import gzip
import hashlib
import os
import re
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import get_data_home
from sklearn.utils import Bunch

from skvae import datasets
from skvae.datasets import load_mnist

from conftest import MNIST_DIR, MNIST_FILES, requires_mnist

TEST_FILES = MNIST_FILES
TRAIN_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    # A test that forgot to pass mirrors must fail, not reach the internet;
    # and a proxy configured in the environment must not see loopback traffic.
    monkeypatch.setattr(datasets, "MIRRORS", [])
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")


@pytest.fixture(scope="module")
def mnist_files():
    """The shared test split's gz files, by name, as bytes."""
    return {name: (MNIST_DIR / name).read_bytes() for name in TEST_FILES}


@pytest.fixture
def serve():
    """Start loopback HTTP servers: ``serve(files) -> (base_url, requests)``.

    ``files`` maps file names to the bytes served for any path ending in that
    name; other paths get 404. ``requests`` lists every path asked for.
    """
    running = []

    def start(files):
        requests = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                body = files.get(self.path.rsplit("/", 1)[-1])
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval keeps shutdown() in teardown quick.
        thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), daemon=True
        )
        thread.start()
        running.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/mnist/", requests

    yield start
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def down_url():
    """URL of a port that refuses connections.

    The socket stays bound but never listens, so no other process can take
    the port while the test runs.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/mnist/"


def cache_dir(data_home):
    return Path(get_data_home(data_home)) / "mnist"


def cached_names(data_home):
    folder = cache_dir(data_home)
    return sorted(os.listdir(folder)) if folder.exists() else []


def assert_test_split(X, y):
    assert X.shape == (10000, 28, 28)
    assert X.dtype == np.float32
    assert X.min() == 0.0 and X.max() == 1.0
    assert y.shape == (10000,)
    assert y.dtype == np.int64
    assert np.bincount(y).tolist() == TEST_LABEL_COUNTS


@requires_mnist
def test_download_then_cache(tmp_path, serve, mnist_files):
    url, requests = serve(mnist_files)
    bunch = load_mnist("test", data_home=tmp_path, mirrors=[url])

    assert_test_split(bunch.data, bunch.target)
    assert cached_names(tmp_path) == sorted(TEST_FILES)
    for name in TEST_FILES:
        assert (cache_dir(tmp_path) / name).read_bytes() == mnist_files[name]
    n_requests = len(requests)
    assert n_requests == 2

    X, y = load_mnist("test", data_home=tmp_path, download=False, return_X_y=True)
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)
    # Files already cached are not fetched again even when downloads are on.
    load_mnist("test", data_home=tmp_path, mirrors=[url])
    assert len(requests) == n_requests


@requires_mnist
def test_bunch_and_return_X_y():
    bunch = load_mnist("test", data_home=MNIST_DIR, download=False)
    assert isinstance(bunch, Bunch)
    assert bunch.images is bunch.data
    np.testing.assert_array_equal(bunch.target_names, np.arange(10))
    assert "LeCun" in bunch.DESCR and "CC BY-SA 3.0" in bunch.DESCR

    X, y = load_mnist("test", data_home=MNIST_DIR, download=False, return_X_y=True)
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)
    # uint8 / 255 exactly, not some other normalisation.
    with gzip.open(MNIST_DIR / TEST_FILES[0]) as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    np.testing.assert_array_equal(X, raw.astype(np.float32) / np.float32(255))


@requires_mnist
def test_data_home_holding_the_files(tmp_path):
    for name in TEST_FILES:
        shutil.copy(MNIST_DIR / name, tmp_path)
    X, y = load_mnist("test", data_home=tmp_path, download=False, return_X_y=True)
    assert_test_split(X, y)
    # Read in place: no cache folder is created beside the files.
    assert sorted(os.listdir(tmp_path)) == sorted(TEST_FILES)


@requires_mnist
def test_down_mirror_is_skipped(tmp_path, serve, mnist_files, down_url):
    url, _ = serve(mnist_files)
    # The good mirror is given without its trailing slash on purpose.
    with pytest.warns(UserWarning, match=re.escape(down_url)):
        X, y = load_mnist(
            "test", data_home=tmp_path, mirrors=[down_url, url.rstrip("/")],
            return_X_y=True,
        )
    assert_test_split(X, y)
    assert cached_names(tmp_path) == sorted(TEST_FILES)


def corrupt(good, kind):
    """A broken copy of the gz file ``good``, as a bad mirror might serve it."""
    if kind == "wrong content":
        return gzip.compress(b"\x00\x00\x08\x03" + bytes(1000))
    if kind == "not gzip":
        return b"<html>mirror maintenance</html>"
    if kind == "truncated":
        return good[: len(good) // 2]
    raw = bytearray(gzip.decompress(good))
    raw[-1] ^= 1  # a single flipped bit: intact gzip, wrong checksum
    return gzip.compress(raw, compresslevel=1)


@requires_mnist
@pytest.mark.parametrize(
    "kind", ["wrong content", "not gzip", "truncated", "flipped byte"]
)
def test_corrupt_mirror_is_skipped(tmp_path, serve, mnist_files, kind):
    bad = {name: corrupt(body, kind) for name, body in mnist_files.items()}
    bad_url, _ = serve(bad)
    good_url, _ = serve(mnist_files)

    with pytest.warns(UserWarning, match="MNIST mirror failed") as record:
        X, y = load_mnist(
            "test", data_home=tmp_path, mirrors=[bad_url, good_url],
            return_X_y=True,
        )
    assert_test_split(X, y)
    assert any(bad_url in str(w.message) for w in record)
    assert not any(good_url in str(w.message) for w in record)
    # Only the verified files remain: no partial or temporary files.
    assert cached_names(tmp_path) == sorted(TEST_FILES)
    for name in TEST_FILES:
        assert (cache_dir(tmp_path) / name).read_bytes() == mnist_files[name]


@pytest.mark.parametrize(
    "subset, names",
    [("test", TEST_FILES), ("train", TRAIN_FILES), ("all", TRAIN_FILES + TEST_FILES)],
)
def test_every_mirror_fails(tmp_path, serve, down_url, subset, names):
    garbage = dict.fromkeys(TRAIN_FILES + TEST_FILES, gzip.compress(b"garbage"))
    bad_url, requests = serve(garbage)

    with pytest.warns(UserWarning) as record:
        with pytest.raises(FileNotFoundError) as excinfo:
            load_mnist(subset, data_home=tmp_path, mirrors=[down_url, bad_url])
    message = str(excinfo.value)
    assert str(cache_dir(tmp_path)) in message
    for name in names:
        assert name in message
    for name in set(TRAIN_FILES + TEST_FILES) - set(names):
        assert name not in message
    assert any(down_url in str(w.message) for w in record)
    assert any(bad_url in str(w.message) for w in record)
    # The first file nobody can serve ends the attempt.
    assert len(requests) == 1
    assert cached_names(tmp_path) == []


@pytest.mark.parametrize(
    "subset, names",
    [("test", TEST_FILES), ("train", TRAIN_FILES), ("all", TRAIN_FILES + TEST_FILES)],
)
def test_download_false_never_touches_the_network(tmp_path, serve, subset, names):
    url, requests = serve({})
    with pytest.raises(FileNotFoundError, match="download=True") as excinfo:
        load_mnist(subset, data_home=tmp_path, download=False, mirrors=[url])
    message = str(excinfo.value)
    assert str(cache_dir(tmp_path)) in message
    for name in names:
        assert name in message
    assert requests == []
    assert not cache_dir(tmp_path).exists()


def test_download_false_creates_no_folder(tmp_path, monkeypatch):
    data_home = tmp_path / "new" / "home"
    with pytest.raises(FileNotFoundError, match="download=True") as excinfo:
        load_mnist("test", data_home=data_home, download=False)
    assert str(data_home / "mnist") in str(excinfo.value)
    assert os.listdir(tmp_path) == []
    # The default data home, from the environment, is not created either.
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(data_home))
    with pytest.raises(FileNotFoundError, match=re.escape(str(data_home / "mnist"))):
        load_mnist("test", download=False)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("download", [False, True])
@pytest.mark.parametrize("blocked", ["mnist", "data_home"])
def test_a_file_where_a_folder_belongs(tmp_path, serve, download, blocked):
    url, requests = serve({})
    data_home = tmp_path / "home"
    if blocked == "mnist":
        data_home.mkdir()
    blocker = data_home / "mnist" if blocked == "mnist" else data_home
    blocker.write_text("not a folder")
    with pytest.raises(NotADirectoryError) as excinfo:
        load_mnist("test", data_home=data_home, download=download, mirrors=[url])
    message = str(excinfo.value)
    assert message.startswith(f"{blocker} is a file")
    assert "pass another folder as data_home" in message
    assert requests == []
    assert blocker.read_text() == "not a folder"


def test_cache_folder_that_cannot_be_created(tmp_path, serve):
    url, requests = serve({})
    (tmp_path / "file").write_text("")
    data_home = tmp_path / "file" / "home"
    with pytest.raises(OSError, match="Cannot create the MNIST cache folder") as excinfo:
        load_mnist("test", data_home=data_home, mirrors=[url])
    assert str(data_home / "mnist") in str(excinfo.value)
    assert requests == []


@requires_mnist
def test_download_creates_a_missing_data_home(tmp_path, serve, mnist_files):
    url, _ = serve(mnist_files)
    data_home = tmp_path / "a" / "b"
    X, y = load_mnist("test", data_home=data_home, mirrors=[url], return_X_y=True)
    assert_test_split(X, y)
    assert cached_names(data_home) == sorted(TEST_FILES)


@pytest.mark.parametrize("subset", ["validation", "TEST", None, ["test"]])
def test_invalid_subset(tmp_path, subset):
    with pytest.raises(ValueError, match="'train', 'test', 'all'"):
        load_mnist(subset, data_home=tmp_path, download=False)


def idx_file(folder, name, header, payload):
    path = folder / name
    path.write_bytes(
        gzip.compress(
            np.asarray(header, ">u4").tobytes() + bytes(payload), compresslevel=1
        )
    )
    return path


@pytest.mark.parametrize(
    "images_header, images_size, labels_payload",
    [
        pytest.param([2049, 10000, 28, 28], 10000 * 784, [0] * 10000, id="magic"),
        pytest.param([2051, 9999, 28, 28], 9999 * 784, [0] * 10000, id="count"),
        pytest.param([2051, 10000, 28, 28], 10000 * 784 - 1, [0] * 10000, id="short"),
        pytest.param([2051, 10000, 28, 28], 10000 * 784 + 1, [0] * 10000, id="long"),
        pytest.param([2051, 10000, 28], 0, [0] * 10000, id="header"),
        pytest.param([2051, 10000, 28, 28], 10000 * 784, [10] * 10000, id="label"),
    ],
)
def test_malformed_file(tmp_path, images_header, images_size, labels_payload):
    idx_file(tmp_path, TEST_FILES[0], images_header, images_size)
    idx_file(tmp_path, TEST_FILES[1], [2049, 10000], labels_payload)
    broken = TEST_FILES[1] if max(labels_payload) > 9 else TEST_FILES[0]
    with pytest.raises(ValueError, match=broken):
        load_mnist("test", data_home=tmp_path, download=False)


def test_malformed_gzip(tmp_path):
    (tmp_path / TEST_FILES[0]).write_bytes(b"not gzip at all")
    idx_file(tmp_path, TEST_FILES[1], [2049, 10000], [0] * 10000)
    with pytest.raises(ValueError, match=TEST_FILES[0]):
        load_mnist("test", data_home=tmp_path, download=False)


@requires_mnist
def test_all_is_train_then_test(tmp_path, serve, mnist_files, monkeypatch):
    # The real train files are not available offline: serve synthetic ones
    # and make their hashes the expected ones.
    digits = np.arange(60000) % 10
    images = np.repeat((digits * 25).astype(np.uint8), 784)
    source = tmp_path / "source"
    source.mkdir()
    for name, header, payload in [
        (TRAIN_FILES[0], [2051, 60000, 28, 28], images.tobytes()),
        (TRAIN_FILES[1], [2049, 60000], digits.astype(np.uint8).tobytes()),
    ]:
        path = idx_file(source, name, header, payload)
        with gzip.open(path) as f:
            monkeypatch.setitem(
                datasets._SHA256, name, hashlib.sha256(f.read()).hexdigest()
            )
    files = {name: (source / name).read_bytes() for name in TRAIN_FILES}
    url, requests = serve({**files, **mnist_files})

    data_home = tmp_path / "home"
    X, y = load_mnist("all", data_home=data_home, mirrors=url, return_X_y=True)
    assert sorted(requests) == sorted(f"/mnist/{n}" for n in TRAIN_FILES + TEST_FILES)
    assert cached_names(data_home) == sorted(TRAIN_FILES + TEST_FILES)
    assert X.shape == (70000, 28, 28) and y.shape == (70000,)
    np.testing.assert_array_equal(y[:60000], digits)
    np.testing.assert_array_equal(
        X[:60000, 5, 7], (digits * 25).astype(np.float32) / 255
    )
    X_test, y_test = load_mnist(
        "test", data_home=data_home, download=False, return_X_y=True
    )
    np.testing.assert_array_equal(X[60000:], X_test)
    np.testing.assert_array_equal(y[60000:], y_test)
    X_train, y_train = load_mnist(
        "train", data_home=data_home, download=False, return_X_y=True
    )
    np.testing.assert_array_equal(X[:60000], X_train)
    np.testing.assert_array_equal(y[:60000], y_train)


def test_checksums_are_of_decompressed_files():
    # Guards the table against accidentally holding hashes of .gz files,
    # which differ between mirrors.
    assert set(datasets._SHA256) == set(TRAIN_FILES + TEST_FILES)
    if all((MNIST_DIR / name).is_file() for name in TEST_FILES):
        for name in TEST_FILES:
            with gzip.open(MNIST_DIR / name) as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            assert datasets._SHA256[name] == digest
