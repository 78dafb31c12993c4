"""bpcourse.data: toy sets, bundled digits, split/standardize/one_hot, the MNIST reader and download.

No test here touches the network: the autouse fixture replaces the only
function that opens URLs, and the download tests serve bytes from memory.
"""
import gzip
import hashlib
import io
import subprocess
import sys
import urllib.error

import numpy as np
import pytest

from bpcourse import data
from bpcourse.data import mnist, paths
from bpcourse.data.mnist import DownloadError, IdxFormatError

TOY_SETS = [data.xor, data.two_moons, data.circles, data.spirals]


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """Any attempt to open a URL fails the test; the cache points into tmp_path."""
    def refuse(url):
        raise AssertionError(f"a test tried to use the network: {url}")
    monkeypatch.setattr(mnist, "_open_url", refuse)
    monkeypatch.setenv("BPCOURSE_CACHE", str(tmp_path / "cache"))


# --------------------------------------------------------------------------- paths

def test_data_dir_is_the_package_folder_with_the_digits():
    assert data.DATA_DIR == paths.DATA_DIR
    assert (data.DATA_DIR / "__init__.py").is_file() and (data.DATA_DIR / "digits.npz").is_file()


def test_cache_dir_order_of_preference(monkeypatch, tmp_path):
    assert data.cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("BPCOURSE_CACHE")
    monkeypatch.setattr(paths.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_dir() == tmp_path / "xdg" / "bpcourse"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.cache_dir() == tmp_path / "home" / ".cache" / "bpcourse"
    monkeypatch.setattr(paths.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert data.cache_dir() == tmp_path / "local" / "bpcourse"
    assert not any(tmp_path.iterdir()), "cache_dir() must not create folders"


def test_import_is_silent_and_does_not_load_matplotlib():
    code = "import sys, bpcourse.data; print([m for m in sys.modules if m.startswith('matplotlib')])"
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "" and result.stdout.strip() == "[]", result


# --------------------------------------------------------------------------- toy sets

def test_xor_classic_points():
    x, y = data.xor()
    assert np.array_equal(x, [[0, 0], [0, 1], [1, 0], [1, 1]])
    assert y.shape == (4, 1) and y.dtype == np.float64
    assert np.array_equal(y[:, 0], np.logical_xor(x[:, 0], x[:, 1]))


def test_noisy_xor_points_stay_near_their_corner():
    x, y = data.xor(N=103, noise=0.1, seed=3)
    assert x.shape == (103, 2) and y.shape == (103, 1) and y.dtype == np.float64
    corner = np.round(x).astype(int)                 # noise 0.1: every point rounds to its corner
    assert np.array_equal(y[:, 0], corner[:, 0] ^ corner[:, 1])
    _, counts = np.unique(corner, axis=0, return_counts=True)
    assert sorted(counts.tolist()) == [25, 26, 26, 26]
    assert np.std(x - corner) > 0.05                 # the noise is really there


@pytest.mark.parametrize("make", TOY_SETS, ids=lambda f: f.__name__)
def test_toy_sets_are_deterministic_for_a_seed(make):
    kwargs = {"N": 40, "noise": 0.1} if make is data.xor else {}
    x1, y1 = make(seed=7, **kwargs)
    x2, y2 = make(seed=7, **kwargs)
    x3, _ = make(seed=8, **kwargs)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)


@pytest.mark.parametrize("make, N, classes", [(data.two_moons, 101, 2), (data.circles, 101, 2),
                                              (data.spirals, 301, 3)], ids=["moons", "circles", "spirals"])
def test_toy_sets_shapes_and_balanced_classes(make, N, classes):
    x, y = make(N=N)
    assert x.shape == (N, 2) and x.dtype == np.float64
    assert y.shape == (N,) and y.dtype == np.int64
    counts = np.bincount(y)
    assert len(counts) == classes and counts.max() - counts.min() <= 1
    assert len(set(y[:10].tolist())) > 1, "examples should come shuffled, not sorted by class"


def test_two_moons_without_noise_lie_on_their_half_circles():
    x, y = data.two_moons(N=50, noise=0.0)
    upper, lower = x[y == 0], x[y == 1]
    assert np.allclose(np.hypot(*upper.T), 1.0) and np.all(upper[:, 1] >= -1e-12)
    assert np.allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)


def test_circles_without_noise_have_the_two_radii():
    x, y = data.circles(N=60, noise=0.0, factor=0.3)
    radius = np.hypot(x[:, 0], x[:, 1])
    assert np.allclose(radius[y == 0], 1.0) and np.allclose(radius[y == 1], 0.3)


def test_spirals_arms_and_radius():
    x, y = data.spirals(N=302, classes=4, noise=0.5)
    assert np.array_equal(np.bincount(y), [76, 76, 75, 75])
    radius = np.hypot(x[:, 0], x[:, 1])
    assert radius.min() >= 0 and radius.max() <= 1 + 1e-12   # noise turns the angle, not the radius
    assert np.isclose(radius.max(), 1.0)


@pytest.mark.parametrize("make", TOY_SETS, ids=lambda f: f.__name__)
def test_toy_sets_count_is_N_and_the_old_keyword_n_still_works(make):
    x_new, y_new = make(N=40, seed=2)
    x_old, y_old = make(n=40, seed=2)
    assert len(x_new) == 40
    assert np.array_equal(x_new, x_old) and np.array_equal(y_new, y_old)
    with pytest.raises(ValueError, match="^N must be an integer"):
        make(n=0)


@pytest.mark.parametrize("call", [lambda: data.two_moons(N=0), lambda: data.circles(noise=-1),
                                  lambda: data.circles(factor=1.5), lambda: data.spirals(classes=1),
                                  lambda: data.xor(N=2.5)])
def test_toy_sets_reject_bad_arguments(call):
    with pytest.raises(ValueError, match="must be"):
        call()


# --------------------------------------------------------------------------- digits

def test_bundled_digits_file_is_small_and_complete():
    path = data.DATA_DIR / "digits.npz"
    assert path.stat().st_size < 100 * 1024
    with np.load(path, allow_pickle=False) as f:
        images, labels = f["images"], f["labels"]
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8
    assert labels.shape == (1797,) and labels.dtype == np.uint8
    assert images.max() == 16 and images.min() == 0
    assert np.array_equal(np.unique(labels), np.arange(10))
    assert np.bincount(labels).min() > 150


def test_load_digits_scales_and_flattens():
    x, y = data.load_digits()
    images, y2 = data.load_digits(flatten=False)
    assert x.shape == (1797, 64) and x.dtype == np.float64
    assert images.shape == (1797, 8, 8)
    assert y.dtype == np.int64 and np.array_equal(y, y2)
    assert x.min() == 0.0 and x.max() == 1.0
    assert np.array_equal(x, images.reshape(1797, 64))
    assert np.allclose(x * 16, np.round(x * 16))           # pixels are counts 0..16 divided by 16


# --------------------------------------------------------------------------- split, standardize, one_hot

def test_split_is_a_partition_of_the_right_sizes():
    x = np.arange(50).reshape(25, 2)                        # row i identifies example i
    y = np.arange(25) % 3
    x_train, x_test, y_train, y_test = data.train_test_split(x, y, test_fraction=0.2, seed=1)
    assert len(x_test) == 5 and len(x_train) == 20
    rows = np.concatenate([x_train[:, 0], x_test[:, 0]]) // 2
    assert sorted(rows.tolist()) == list(range(25))
    assert np.array_equal(y_train, y[x_train[:, 0] // 2]) and np.array_equal(y_test, y[x_test[:, 0] // 2])


def test_split_is_seeded():
    x, y = data.two_moons(n=60)
    a = data.train_test_split(x, y, seed=4)
    b = data.train_test_split(x, y, seed=4)
    c = data.train_test_split(x, y, seed=5)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_stratified_split_keeps_class_proportions():
    y = np.array([0] * 90 + [1] * 10)
    x = np.arange(100.0)[:, None]
    for seed in range(5):
        _, _, y_train, y_test = data.train_test_split(x, y, test_fraction=0.2, seed=seed)
        assert np.array_equal(np.bincount(y_test), [18, 2])
        assert np.array_equal(np.bincount(y_train), [72, 8])
    x, y = data.load_digits()
    _, _, _, y_test = data.train_test_split(x, y, test_fraction=0.25)
    share = np.bincount(y) * len(y_test) / len(y)
    assert np.all(np.abs(np.bincount(y_test) - share) < 1)


def test_split_stratifies_xor_targets_and_can_be_random():
    x, y = data.xor(n=40, noise=0.1)
    _, _, _, y_test = data.train_test_split(x, y, test_fraction=0.5)
    assert y_test.shape == (20, 1) and y_test.sum() == 10
    x = np.arange(20.0)[:, None]
    _, x_test, _, _ = data.train_test_split(x, x[:, 0], test_fraction=0.3, stratify=False)
    assert len(x_test) == 6 and len(np.unique(x_test)) == 6


@pytest.mark.parametrize("kwargs, message", [({"y": np.zeros(9)}, "same number of rows"),
                                             ({"test_fraction": 1.0}, "test_fraction"),
                                             ({"test_fraction": 0.01}, "at least one")])
def test_split_rejects_bad_arguments(kwargs, message):
    args = {"x": np.zeros((10, 2)), "y": np.zeros(10, dtype=int)} | kwargs
    with pytest.raises(ValueError, match=message):
        data.train_test_split(**args)


def test_standardize_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    x_train = rng.normal(3.0, 2.0, size=(200, 3))
    x_test = rng.normal(-1.0, 5.0, size=(50, 3))
    x_val = rng.normal(0.0, 1.0, size=(7, 3))
    a, b, c, mean, std = data.standardize(x_train, x_test, x_val)
    assert np.allclose(a.mean(axis=0), 0) and np.allclose(a.std(axis=0), 1)
    assert np.allclose(mean, x_train.mean(axis=0)) and np.allclose(std, x_train.std(axis=0))
    assert np.allclose(b, (x_test - x_train.mean(axis=0)) / x_train.std(axis=0))
    assert np.allclose(c * std + mean, x_val)
    assert not np.allclose(b.mean(axis=0), 0)               # the test set was not centred on itself


def test_standardize_leaves_constant_features_finite():
    x_train = np.array([[0.1, 1.0], [0.1, 2.0], [0.1, 3.0]])
    x_test = np.array([[0.5, 2.0]])
    a, b, mean, std = data.standardize(x_train, x_test)
    assert std[0] == 1.0 and np.all(np.isfinite(a)) and np.allclose(a[:, 0], 0)
    assert np.isclose(b[0, 0], 0.4)


def test_standardize_rejects_mismatched_features():
    with pytest.raises(ValueError, match="array 1 after x_train"):
        data.standardize(np.zeros((4, 3)), np.zeros((2, 2)))


def test_one_hot():
    y = np.array([2, 0, 1, 2])
    Y = data.one_hot(y)
    assert Y.dtype == np.float64 and Y.shape == (4, 3)
    assert np.array_equal(Y, np.eye(3)[y])
    assert data.one_hot([1, 0], k=5).shape == (2, 5)


@pytest.mark.parametrize("y, k, message", [([0, 3, 1], 3, r"\[0, 3\).*y\[1\] = 3"),
                                           ([0, -1], None, r"y\[1\] = -1"),
                                           ([0.0, 1.0], None, "integer labels"),
                                           ([[0, 1]], None, "1-D")])
def test_one_hot_rejects_bad_labels(y, k, message):
    with pytest.raises(ValueError, match=message):
        data.one_hot(y, k)


# --------------------------------------------------------------------------- MNIST: small IDX files

def idx_gz(array, magic=None, dims=None):
    """gzip-compressed IDX bytes of a uint8 array (magic and dims can be forged)."""
    array = np.asarray(array, dtype=np.uint8)
    magic = (0x0800 + array.ndim) if magic is None else magic
    dims = array.shape if dims is None else dims
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in dims)
    return gzip.compress(header + array.tobytes(), mtime=0)


def small_mnist_files(seed=0):
    """The four MNIST file names with small contents: 5 train and 3 test images of 28x28."""
    rng = np.random.default_rng(seed)
    arrays = {"train-images-idx3-ubyte.gz": rng.integers(0, 256, (5, 28, 28)),
              "train-labels-idx1-ubyte.gz": rng.integers(0, 10, 5),
              "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28)),
              "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 3)}
    return arrays, {name: idx_gz(a) for name, a in arrays.items()}


@pytest.fixture
def mnist_dir(tmp_path):
    folder = tmp_path / "mnist_small"
    folder.mkdir()
    arrays, files = small_mnist_files()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder, arrays


def test_read_idx_returns_the_stored_array(mnist_dir):
    folder, arrays = mnist_dir
    images = data.read_idx(folder / "train-images-idx3-ubyte.gz")
    assert images.dtype == np.uint8 and np.array_equal(images, arrays["train-images-idx3-ubyte.gz"])
    assert np.array_equal(data.read_idx(folder / "t10k-labels-idx1-ubyte.gz", magic=mnist.LABELS_MAGIC),
                          arrays["t10k-labels-idx1-ubyte.gz"])


def test_load_mnist_from_a_folder(mnist_dir):
    folder, arrays = mnist_dir
    x_train, y_train, x_test, y_test = data.load_mnist(folder)
    assert x_train.shape == (5, 784) and x_test.shape == (3, 784)
    assert x_train.dtype == np.float64 and y_train.dtype == np.int64
    assert 0 <= x_train.min() and x_train.max() <= 1
    assert np.allclose(x_test * 255, arrays["t10k-images-idx3-ubyte.gz"].reshape(3, 784))
    assert np.array_equal(y_train, arrays["train-labels-idx1-ubyte.gz"])
    assert np.array_equal(y_test, arrays["t10k-labels-idx1-ubyte.gz"])


BROKEN = {
    "bad magic": ("train-images-idx3-ubyte.gz",
                  lambda a: idx_gz(a["train-images-idx3-ubyte.gz"], magic=0x12345678), "bad magic number"),
    "labels magic in images file": ("t10k-images-idx3-ubyte.gz",
                                    lambda a: idx_gz(a["t10k-images-idx3-ubyte.gz"].ravel(), magic=0x0801,
                                                     dims=[3 * 784]), "bad magic number 0x00000801"),
    "truncated data": ("t10k-images-idx3-ubyte.gz",
                       lambda a: gzip.compress(gzip.decompress(idx_gz(a["t10k-images-idx3-ubyte.gz"]))[:-100]),
                       "truncated"),
    "truncated header": ("train-labels-idx1-ubyte.gz", lambda a: gzip.compress(b"\x00\x00\x08\x01\x00"),
                         "truncated"),
    "wrong count": ("train-images-idx3-ubyte.gz",
                    lambda a: idx_gz(a["train-images-idx3-ubyte.gz"], dims=(4, 28, 28)), "wrong count"),
    "count mismatch": ("train-labels-idx1-ubyte.gz",
                       lambda a: idx_gz(a["train-labels-idx1-ubyte.gz"][:4]), "count mismatch"),
    "not gzip": ("t10k-labels-idx1-ubyte.gz",
                 lambda a: gzip.decompress(idx_gz(a["t10k-labels-idx1-ubyte.gz"])), "not a valid gzip"),
    "gzip cut short": ("train-images-idx3-ubyte.gz",
                       lambda a: idx_gz(a["train-images-idx3-ubyte.gz"])[:-300], "corrupt gzip"),
    "not 28x28": ("t10k-images-idx3-ubyte.gz",
                  lambda a: idx_gz(np.zeros((3, 27, 27))), "28 x 28"),
    "label above 9": ("t10k-labels-idx1-ubyte.gz", lambda a: idx_gz([1, 12, 3]), "0..9"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_mnist_files_raise_naming_the_file(mnist_dir, case):
    folder, arrays = mnist_dir
    name, make_content, message = BROKEN[case]
    (folder / name).write_bytes(make_content(arrays))
    with pytest.raises(IdxFormatError, match=message) as err:
        data.load_mnist(folder)
    assert str(folder / name) in str(err.value)


def test_missing_file_in_a_folder_says_which_and_how_to_fix(mnist_dir):
    folder, _ = mnist_dir
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz") as err:
        data.load_mnist(folder)
    message = str(err.value)
    assert str(folder) in message and "download=True" in message
    assert "train-images" not in message                  # only the missing file is listed
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz.*download=True"):
        data.read_idx(folder / "t10k-labels-idx1-ubyte.gz")


def test_empty_cache_without_download_lists_all_files_and_stays_offline(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        data.load_mnist()
    message = str(err.value)
    assert all(name in message for name in mnist.FILES)
    assert str(tmp_path / "cache" / "mnist") in message and "download=True" in message
    assert not (tmp_path / "cache").exists()


# --------------------------------------------------------------------------- MNIST: download, offline

class FakeMirrors:
    """Serves files from memory in place of the network; records every URL asked for."""

    def __init__(self, files, failing_mirrors=()):
        self.files, self.failing, self.urls = files, failing_mirrors, []

    def __call__(self, url):
        self.urls.append(url)
        if url.startswith(tuple(self.failing)):
            raise urllib.error.URLError("mirror down")
        return io.BytesIO(self.files[url.rsplit("/", 1)[1]])


def use_small_checksums(monkeypatch, files):
    """Make the small test files the 'published' ones: their sizes and MD5s."""
    table = {name: (len(content), hashlib.md5(content).hexdigest()) for name, content in files.items()}
    monkeypatch.setattr(mnist, "FILES", table)


def test_download_fills_the_cache_and_loads(monkeypatch, tmp_path, capsys):
    arrays, files = small_mnist_files()
    use_small_checksums(monkeypatch, files)
    fake = FakeMirrors(files, failing_mirrors=[mnist.MIRRORS[0]])
    monkeypatch.setattr(mnist, "_open_url", fake)
    x_train, y_train, x_test, y_test = data.load_mnist(download=True)
    cache = tmp_path / "cache" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(files)      # no temporary files left
    assert all((cache / name).read_bytes() == content for name, content in files.items())
    assert np.array_equal(y_test, arrays["t10k-labels-idx1-ubyte.gz"]) and x_train.shape == (5, 784)
    assert len(fake.urls) == 8 and all(u.startswith(tuple(mnist.MIRRORS[:2])) for u in fake.urls)
    assert "Downloading" in capsys.readouterr().out
    # Second call: everything is cached, so the network is not used again.
    monkeypatch.setattr(mnist, "_open_url", FakeMirrors({}, failing_mirrors=mnist.MIRRORS))
    assert np.array_equal(data.load_mnist(download=True)[1], y_train)


def test_download_fetches_only_missing_files(monkeypatch, tmp_path):
    _, files = small_mnist_files()
    use_small_checksums(monkeypatch, files)
    cache = tmp_path / "cache" / "mnist"
    cache.mkdir(parents=True)
    for name in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]:
        (cache / name).write_bytes(files[name])
    fake = FakeMirrors(files)
    monkeypatch.setattr(mnist, "_open_url", fake)
    data.load_mnist(download=True)
    assert fake.urls == [mnist.MIRRORS[0] + "t10k-labels-idx1-ubyte.gz"]


def test_checksum_mismatch_raises_and_leaves_no_file(monkeypatch, tmp_path):
    _, files = small_mnist_files()
    use_small_checksums(monkeypatch, files)
    tampered = dict(files)
    content = bytearray(files["train-labels-idx1-ubyte.gz"])
    content[-1] ^= 0xFF                                    # same size, different bytes
    tampered["train-labels-idx1-ubyte.gz"] = bytes(content)
    fake = FakeMirrors(tampered)
    monkeypatch.setattr(mnist, "_open_url", fake)
    with pytest.raises(DownloadError, match="checksum mismatch for train-labels-idx1-ubyte.gz"):
        data.load_mnist(download=True)
    cache = tmp_path / "cache"
    assert "train-labels-idx1-ubyte.gz" not in {p.name for p in cache.rglob("*")}
    assert not any(p.name.endswith(".part") for p in cache.rglob("*"))
    assert sum("train-labels" in u for u in fake.urls) == len(mnist.MIRRORS)   # every mirror tried


def test_wrong_size_download_is_rejected(monkeypatch, tmp_path):
    _, files = small_mnist_files()
    use_small_checksums(monkeypatch, files)
    monkeypatch.setattr(mnist, "_open_url", FakeMirrors({name: b"<html>moved</html>" for name in files}))
    with pytest.raises(DownloadError, match="size mismatch") as err:
        data.load_mnist(download=True)
    assert "load_mnist(path=" in str(err.value)
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))

