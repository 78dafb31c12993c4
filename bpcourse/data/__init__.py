"""The course's data: toy sets, the bundled 8x8 digits, MNIST, and helpers to prepare them.

Everything the lessons need ships with the package or is generated from a seed;
only ``load_mnist(download=True)`` ever uses the network.

- Toy sets, x of shape (N, 2): ``xor``, ``two_moons``, ``circles``, ``spirals``
- ``load_digits``: 1,797 handwritten digits of 8x8 pixels (bundled)
- ``load_mnist``, ``read_idx``: the 70,000 MNIST digits of 28x28 (downloaded on request)
- ``train_test_split``, ``standardize``, ``one_hot``
- ``DATA_DIR`` (the bundled files), ``cache_dir()`` (where downloads go)
"""
from .paths import DATA_DIR, cache_dir
from .toy import circles, spirals, two_moons, xor
from .digits import load_digits
from .mnist import DownloadError, IdxFormatError, load_mnist, read_idx
from .utils import one_hot, standardize, train_test_split

__all__ = [
    "DATA_DIR", "cache_dir",
    "xor", "two_moons", "circles", "spirals",
    "load_digits",
    "load_mnist", "read_idx", "IdxFormatError", "DownloadError",
    "train_test_split", "standardize", "one_hot",
]
