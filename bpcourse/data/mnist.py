"""The full MNIST digits (70,000 images of 28x28): an IDX reader and a cached download.

MNIST comes as four gzip files in the IDX format::

    train-images-idx3-ubyte.gz   60,000 images     train-labels-idx1-ubyte.gz   60,000 labels
    t10k-images-idx3-ubyte.gz    10,000 images     t10k-labels-idx1-ubyte.gz    10,000 labels

Nothing here touches the network unless ``load_mnist(download=True)`` is
called and a file is missing. Downloaded files are checked against their
known size and MD5 checksum, written to a temporary file first and renamed
only once verified, so the cache never holds a partial or corrupt file.
"""
import gzip
import hashlib
import http.client
import os
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from .paths import cache_dir

MIRRORS = [                                   # tried in order (torchvision uses the first and last)
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

# file name: (size in bytes, MD5 checksum) of the published gzip files
FILES = {
    "train-images-idx3-ubyte.gz": (9912422, "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train-labels-idx1-ubyte.gz": (28881, "d53e105ee54ea40749a09fcbcd1e9432"),
    "t10k-images-idx3-ubyte.gz": (1648877, "9fb629c4189551a2d022fa330f9573f3"),
    "t10k-labels-idx1-ubyte.gz": (4542, "ec29112dd5afa0611ce80d1b7f02629c"),
}

LABELS_MAGIC = 0x00000801                     # unsigned bytes, 1 dimension (N,)
IMAGES_MAGIC = 0x00000803                     # unsigned bytes, 3 dimensions (N, rows, cols)
_UBYTE = 0x08                                 # the IDX type code of unsigned bytes

DOWNLOAD_TIMEOUT = 60                         # seconds without an answer before a mirror is given up


class IdxFormatError(ValueError):
    """A file is not a well-formed gzip IDX file; the message names the file and the fault."""


class DownloadError(OSError):
    """No mirror delivered a file with the expected size and checksum."""


# --------------------------------------------------------------------------- reading

def read_idx(path, magic=None):
    """Read one gzip-compressed IDX file of unsigned bytes into a uint8 array.

    The decompressed file is a header followed by the data, row-major::

        bytes 0-3    magic number 0x000008D: 0, 0, type 0x08 (unsigned byte), D dimensions
                     (MNIST labels: 0x00000801; images: 0x00000803)
        next 4*D     the size of each dimension, big-endian 32-bit (count first)
        the rest     prod(sizes) bytes of data

    Inputs:
    - path: the .gz file
    - magic: if given, the magic number the file must have (LABELS_MAGIC or IMAGES_MAGIC)

    Returns a uint8 array whose shape is the header's sizes, e.g. (N, 28, 28).
    Raises FileNotFoundError for a missing file and IdxFormatError (a
    ValueError naming the file) for a file that is not gzip, has a bad magic
    number, or holds fewer or more bytes than its header promises.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file. For MNIST, load_mnist(download=True) downloads "
                                f"the four files into {cache_dir() / 'mnist'}, or pass load_mnist(path=...) "
                                "the folder that holds them.")
    data = _gunzip(path)
    header = _parse_header(path, data, magic)
    shape = tuple(header)
    offset = 4 + 4 * len(shape)
    expected = int(np.prod(shape))
    found = len(data) - offset
    if found < expected:
        raise IdxFormatError(f"{path}: truncated: the header promises {_dims(shape)} = {expected} bytes "
                             f"of data but the file holds only {found}; the file is incomplete, "
                             "download it again")
    if found > expected:
        raise IdxFormatError(f"{path}: wrong count: the header says {_dims(shape)} = {expected} bytes of "
                             f"data but the file holds {found}; the count in the header is wrong or "
                             "the file has extra data at the end")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def _gunzip(path):
    """The decompressed bytes of a gzip file (a writable bytearray)."""
    try:
        with gzip.open(path, "rb") as f:
            return bytearray(f.read())
    except gzip.BadGzipFile as err:
        raise IdxFormatError(f"{path}: not a valid gzip file ({err}); MNIST files are read "
                             "compressed, exactly as published (do not unzip them)") from err
    except (EOFError, zlib.error) as err:
        raise IdxFormatError(f"{path}: corrupt gzip data ({err}); the file is probably incomplete, "
                             "download it again") from err


def _parse_header(path, data, magic):
    """Check the magic number and return the list of dimension sizes."""
    if len(data) < 4:
        raise IdxFormatError(f"{path}: truncated: {len(data)} bytes, too short for the 4-byte "
                             "IDX magic number")
    found = int.from_bytes(data[:4], "big")
    ndim = data[3]
    if data[0] != 0 or data[1] != 0 or data[2] != _UBYTE or ndim == 0:
        raise IdxFormatError(f"{path}: bad magic number 0x{found:08X}: not an IDX file of unsigned bytes "
                             f"(expected 0x0000080D with D dimensions: 0x{LABELS_MAGIC:08X} for labels, "
                             f"0x{IMAGES_MAGIC:08X} for images)")
    if magic is not None and found != magic:
        raise IdxFormatError(f"{path}: bad magic number 0x{found:08X} ({_kind(found)}), expected "
                             f"0x{magic:08X} ({_kind(magic)}); is it the right file?")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise IdxFormatError(f"{path}: truncated: {len(data)} bytes, too short for the header of "
                             f"{header_size} bytes that {ndim} dimensions need")
    return [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]


def _kind(magic):
    return {LABELS_MAGIC: "labels", IMAGES_MAGIC: "images"}.get(magic, f"{magic & 0xFF} dimensions")


def _dims(shape):
    return " x ".join(str(s) for s in shape)


# --------------------------------------------------------------------------- downloading

def _open_url(url):
    """Open ``url`` for reading (the only function here that uses the network)."""
    return urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT)


def download_file(name, folder):
    """Download one MNIST file into ``folder``, trying each mirror in turn.

    The bytes go to a temporary file in ``folder``; it is renamed to ``name``
    only when its size and MD5 checksum match FILES[name], and deleted
    otherwise, so ``folder`` never holds a partial or corrupt file.

    Inputs:
    - name: one of the keys of FILES
    - folder: destination folder (created if needed)

    Returns the Path of the verified file. Raises DownloadError listing what
    went wrong with every mirror.
    """
    size, md5 = FILES[name]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    failures = []
    for mirror in MIRRORS:
        url = mirror + name
        print(f"Downloading {url} ({size / 1e6:.1f} MB)")
        try:
            _download_verified(url, target, size, md5)
            return target
        except (OSError, http.client.HTTPException, ValueError) as err:  # URLError, timeouts, bad checksums
            failures.append(f"  {url}: {err}")
    raise DownloadError(f"could not download {name} into {folder}:\n" + "\n".join(failures) +
                        "\nCheck the internet connection, or download the four MNIST files by hand "
                        "into a folder and call load_mnist(path=that_folder).")


def _download_verified(url, target, size, md5):
    """Fetch ``url`` into ``target`` atomically: temp file, verify, rename."""
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    try:
        digest, written = hashlib.md5(), 0
        with os.fdopen(fd, "wb") as out, _open_url(url) as response:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                written += len(chunk)
        if written != size:
            raise ValueError(f"size mismatch for {target.name}: got {written} bytes, expected {size}")
        if digest.hexdigest() != md5:
            raise ValueError(f"checksum mismatch for {target.name}: MD5 {digest.hexdigest()}, "
                             f"expected {md5}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# --------------------------------------------------------------------------- loading

def load_mnist(path=None, download=False):
    """Load MNIST as float64 pixels in [0, 1] and int64 labels.

        x = pixels / 255,  one row of 28 * 28 = 784 pixels per image (row by row)

    Inputs:
    - path: folder holding the four .gz files; None uses the cache,
      ``cache_dir() / "mnist"`` (see ``bpcourse.data.cache_dir``)
    - download: True downloads the missing files (about 11 MB) into that
      folder, checking their size and MD5; False never uses the network

    Files downloaded are verified by checksum; files already present (your
    own copies, or small test files) are checked for a well-formed IDX
    structure: magic numbers, 28x28 images, as many labels as images.

    Returns (x_train, y_train, x_test, y_test):
    - x_train (60000, 784), x_test (10000, 784): float64 in [0, 1]
    - y_train (60000,), y_test (10000,): int64 labels 0..9
    """
    folder = cache_dir() / "mnist" if path is None else Path(path)
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing and download:
        for name in missing:
            download_file(name, folder)
    elif missing:
        raise FileNotFoundError(_missing_message(folder, missing, path is None))
    x_train, y_train = _load_split(folder, "train")
    x_test, y_test = _load_split(folder, "t10k")
    return x_train, y_train, x_test, y_test


def _missing_message(folder, missing, is_cache):
    where = "the MNIST cache" if is_cache else "the folder"
    fix = ("call load_mnist(download=True) to download them there (about 11 MB), or pass "
           "load_mnist(path=...) a folder that holds the four files")
    if not is_cache:
        fix = (f"put the four files there (from {MIRRORS[0]}), or call "
               f"load_mnist(path={str(folder)!r}, download=True) to download them")
    return f"{where} {folder} lacks {', '.join(missing)}: {fix}."


def _load_split(folder, prefix):
    """Read and check one split ("train" or "t10k"): (x float64 (N, 784), y int64 (N,))."""
    images_path = folder / f"{prefix}-images-idx3-ubyte.gz"
    labels_path = folder / f"{prefix}-labels-idx1-ubyte.gz"
    images = read_idx(images_path, magic=IMAGES_MAGIC)
    labels = read_idx(labels_path, magic=LABELS_MAGIC)
    if images.shape[1:] != (28, 28):
        raise IdxFormatError(f"{images_path}: images are {_dims(images.shape[1:])} pixels, "
                             "MNIST images are 28 x 28")
    if len(images) != len(labels):
        raise IdxFormatError(f"{labels_path}: count mismatch: {len(labels)} labels for {len(images)} "
                             f"images in {images_path.name}; the two files must come from the same set")
    if labels.size and labels.max() > 9:
        raise IdxFormatError(f"{labels_path}: label {labels.max()} found, MNIST labels are 0..9")
    x = images.reshape(len(images), 28 * 28).astype(np.float64) / 255.0
    return x, labels.astype(np.int64)
