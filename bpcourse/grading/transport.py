"""Values across the kernel boundary as JSON plus a .npz of arrays: never pickle.

This module is self-contained (json and numpy only): the grader imports it, and
its source also runs inside the learner's kernel (see ``kernel_side``).
A value that cannot cross (an object array, a generator, a huge array)
arrives as an ``Opaque`` saying what it was.
"""
import json
import os
import stat

import numpy as np

MAX_ELEMENTS = 5_000_000     # per array: larger answers are refused, not shipped
MAX_TOTAL = 20_000_000       # elements of all the arrays of one result (a list of one big array
                             # repeated 10,000 times would otherwise be 10,000 copies on disk)
MAX_NPZ_BYTES = 500_000_000  # what the grader's process reads back, at most
_TOTAL = "_elements"         # the running count, kept in ``arrays`` and never saved
MAX_ITEMS = 10_000           # per list, tuple or dict
MAX_DEPTH = 10


class Opaque:
    """A value that could not be transported; ``what`` describes it in words."""

    def __init__(self, what):
        self.what = what

    def __repr__(self):
        return f"<{self.what}>"


def encode(obj, arrays, depth=0):
    """A JSON-able tree for ``obj``; its arrays go into the dict ``arrays`` (for np.savez)."""
    if depth > MAX_DEPTH:
        return {"__opaque__": "a value nested too deeply"}
    # a subclass's own attributes (a dtype property, __iter__, items) are not consulted: they are
    # the learner's code, and the values must be what the object holds, not what it says it holds
    if isinstance(obj, np.ndarray):
        obj = np.ndarray.view(obj, np.ndarray)
        if obj.dtype.kind not in "biuf":
            return {"__opaque__": f"an array of shape {obj.shape} and dtype {obj.dtype}"}
        if obj.size > MAX_ELEMENTS:
            return {"__opaque__": f"an array of shape {obj.shape} (too large to check)"}
        total = arrays.get(_TOTAL, 0) + obj.size
        if total > MAX_TOTAL:
            return {"__opaque__": f"an array of shape {obj.shape} (the arrays together are too large to check)"}
        arrays[_TOTAL] = total
        key = f"a{len(arrays)}"
        # a copy: the learner's code may still hold the array, and change it once the guard is off
        arrays[key] = np.array(obj, order="C", copy=True)
        return {"__ndarray__": key}
    if obj is None:
        return None
    if isinstance(obj, (bool, np.bool_)):
        return {"__bool__": bool(obj)}
    if isinstance(obj, (int, np.integer)):
        return {"__int__": str(int.__int__(obj) if isinstance(obj, int) else int(obj))}
    if isinstance(obj, (float, np.floating)):
        return {"__float__": repr(float.__float__(obj) if isinstance(obj, float) else float(obj))}
    if isinstance(obj, str):
        return {"__str__": obj[:1000]}
    for kind in (tuple, list, dict):
        if isinstance(obj, kind) and kind.__len__(obj) > MAX_ITEMS:
            return {"__opaque__": f"a {type(obj).__name__} of {kind.__len__(obj)} items (too long to check)"}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(o, arrays, depth + 1) for o in tuple.__iter__(obj)]}
    if isinstance(obj, list):
        return {"__list__": [encode(o, arrays, depth + 1) for o in list.__iter__(obj)]}
    if isinstance(obj, dict):
        items = list(dict.items(obj))
        if all(type(k) is str for k, _ in items):
            return {"__dict__": {k: encode(v, arrays, depth + 1) for k, v in items}}
    return {"__opaque__": f"a {type(obj).__name__}"}


def decode(tree, arrays, depth=0):
    """The value encoded by ``encode``; ``arrays`` maps keys to arrays (e.g. an opened .npz).
    Anything ``encode`` cannot have written (a forged or damaged file) becomes an ``Opaque``."""
    if tree is None:
        return None
    if not isinstance(tree, dict) or len(tree) != 1 or depth > MAX_DEPTH + 1:   # encode's own limit, + its note
        return Opaque("a value in an unknown format")
    (tag, v), = tree.items()
    try:
        if tag == "__ndarray__":
            return arrays[v]
        if tag == "__bool__":
            return bool(v)
        if tag == "__int__":
            return int(v)
        if tag == "__float__":
            return float(v)
        if tag == "__str__":
            return str(v)
        if tag == "__tuple__":
            return tuple(decode(o, arrays, depth + 1) for o in v)
        if tag == "__list__":
            return [decode(o, arrays, depth + 1) for o in v]
        if tag == "__dict__":
            return {k: decode(o, arrays, depth + 1) for k, o in v.items()}
        if tag == "__opaque__":
            return Opaque(str(v))
    except (KeyError, TypeError, ValueError, AttributeError):
        pass
    return Opaque("a value in an unknown format")


def save(path_stem, tree, arrays):
    """Write ``<stem>.npz`` then ``<stem>.json`` (the JSON last: its presence means complete)."""
    np.savez(f"{path_stem}.npz", **{k: v for k, v in arrays.items() if k != _TOTAL})
    with open(f"{path_stem}.json.tmp", "w") as f:
        json.dump(tree, f)
    os.replace(f"{path_stem}.json.tmp", f"{path_stem}.json")


def open_regular(path, mode="r", follow=False):
    """``open(path, mode)`` for reading, refusing anything but a regular file: a named pipe
    (which would block the reader forever), a device, or (unless ``follow``) a link put where
    a result belongs."""
    flags = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
             | (0 if follow else getattr(os, "O_NOFOLLOW", 0)))
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path} is not a regular file")
        return open(fd, mode, closefd=True)
    except BaseException:
        os.close(fd)
        raise


def load(path_stem, max_bytes=200_000_000):
    """Read what ``save`` wrote: (tree, arrays); arrays are loaded without pickle."""
    with open_regular(f"{path_stem}.json") as f:
        text = f.read(max_bytes + 1)
    if len(text) > max_bytes:
        raise ValueError(f"{path_stem}.json is larger than {max_bytes} bytes")
    tree = json.loads(text)
    with open_regular(f"{path_stem}.npz", "rb") as f, np.load(f, allow_pickle=False) as npz:
        if sum(info.file_size for info in npz.zip.infolist()) > MAX_NPZ_BYTES:
            raise ValueError(f"{path_stem}.npz holds more than {MAX_NPZ_BYTES:,} bytes of arrays")
        arrays = {k: npz[k] for k in npz.files}
    return tree, arrays
