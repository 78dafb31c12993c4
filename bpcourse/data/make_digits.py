"""Build ``bpcourse/data/digits.npz`` from scikit-learn's copy of the 8x8 digits.

Run once by maintainers, from the repository root:

    python bpcourse/data/make_digits.py

It needs scikit-learn (only for its bundled file ``sklearn/datasets/data/digits.csv.gz``)
and is never imported by the package: learners only read the ``.npz`` it writes.

Source: the test set of the UCI "Optical Recognition of Handwritten Digits" data set,
E. Alpaydin and C. Kaynak (1998),
https://archive.ics.uci.edu/ml/datasets/Optical+Recognition+of+Handwritten+Digits, licensed CC BY 4.0.
1,797 images of 8x8 pixels, each pixel the count (0..16) of "on" pixels in a 4x4 block
of the original 32x32 bitmap; labels are the digits 0..9.

The csv has one image per line: 64 pixel values (row by row), then the label. The
.npz stores ``images`` as uint8 of shape (1797, 8, 8) and ``labels`` as uint8 (1797,),
compressed (about 45 KB).
"""
import gzip
import importlib.resources
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "digits.npz"


def read_sklearn_digits():
    """Return (images uint8 (1797, 8, 8), labels uint8 (1797,)) from scikit-learn's csv."""
    csv = importlib.resources.files("sklearn.datasets") / "data" / "digits.csv.gz"
    with csv.open("rb") as raw, gzip.open(raw, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    assert table.shape == (1797, 65), table.shape
    pixels, labels = table[:, :64], table[:, 64]
    assert pixels.min() >= 0 and pixels.max() <= 16 and set(labels) == set(range(10))
    return pixels.reshape(-1, 8, 8).astype(np.uint8), labels.astype(np.uint8)


def main():
    images, labels = read_sklearn_digits()

    # Cross-check against scikit-learn's own loader: same pixels, same order.
    from sklearn.datasets import load_digits
    reference = load_digits()
    assert np.array_equal(images, reference.images) and np.array_equal(labels, reference.target)

    np.savez_compressed(OUT, images=images, labels=labels)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.1f} KB): "
          f"{images.shape[0]} images, counts per class {np.bincount(labels).tolist()}")


if __name__ == "__main__":
    main()
