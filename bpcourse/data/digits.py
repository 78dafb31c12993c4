"""The 8x8 handwritten digits that ship with the package (1,797 images, 10 classes).

Source: the test set of the UCI "Optical Recognition of Handwritten Digits"
data set, E. Alpaydin and C. Kaynak (1998), licensed CC BY 4.0; copied from
scikit-learn's bundled file by ``make_digits.py`` in this folder. Each pixel is
the number (0..16) of ink pixels in a 4x4 block of the original 32x32 bitmap.
"""
import numpy as np

from .paths import DATA_DIR

DIGITS_FILE = DATA_DIR / "digits.npz"


def load_digits(flatten=True):
    """Load the 8x8 digits, pixels scaled to [0, 1].

        x = pixels / 16          (pixels are counts 0..16)

    Inputs:
    - flatten: True gives one row of 64 pixels per image (row by row), ready
      for a dense layer; False keeps the images as 8x8 arrays (for plotting)

    Returns (x, y):
    - x: float64, shape (1797, 64), or (1797, 8, 8) with flatten=False
    - y: int64 class labels (1797,), the digits 0..9
    """
    if not DIGITS_FILE.is_file():
        raise FileNotFoundError(f"{DIGITS_FILE}: the bundled digits file is missing; reinstall "
                                "bpcourse (pip install -e .) so its package data is included")
    with np.load(DIGITS_FILE, allow_pickle=False) as f:
        images, labels = f["images"], f["labels"]
    x = images.astype(np.float64) / 16.0
    if flatten:
        x = x.reshape(len(x), -1)
    return x, labels.astype(np.int64)
