#!/usr/bin/env python
"""bpcourse against PyTorch CPU, scikit-learn and a per-example loop, as ratios.

    python benchmarks/run.py [--quick] [--workloads W1,W3] [--repeats N]
                             [--dtypes float64,float32] [--threads 1,2] [--budget 60]

Needs the bench extra (``pip install -e ".[bench]"``: torch==2.13.0, scikit-learn,
threadpoolctl). Prints one table; every contender trains from the same initial
weights (copied from bpcourse's), on the same batches in the same order, so the
final test accuracies agree and the timings compare the same work.

Workloads
- W1: bundled 8x8 digits, 64-100-100-100-10, sigmoid hidden, softmax + cross-entropy, B=60, lr 0.1
- W2: digits, 64-30-10, sigmoid output, squared error, B=10, lr 3.0
- W3: synthetic 60000 x 784 (10 classes, seeded), 784-100-100-100-10 as W1, B=60, lr 0.1
- W4: the W3 data, 784-30-10, sigmoid output, squared error, B=10, lr 3.0
- W5: batch-norm forward + backward, (N, D) = (60, 100) and (256, 512)

Besides the contenders, each of W1-W4 has a "matmuls alone" row: only the matrix products of
bpcourse's training step, into preallocated outputs. It is the ceiling for any numpy trainer
with this BLAS at these shapes, and shows how much of the GEMM peak those shapes allow at all.

Timing: each repeat runs one epoch of every contender in turn (interleaved, same
process); the table gives the median time over repeats, and each ratio to bpcourse is
taken within a repeat (the median of those, and their range), so a change of load
between repeats cancels out. Ratios compare the same dtype and the same thread count.
On a shared or loaded machine the 2-thread rows mostly measure the contention (a
BLAS/OpenMP thread that waits for a busy core): trust the 1-thread ratios first.
Nothing here changes OPENBLAS_CORETYPE or the BLAS build.

After the table, a few lines judge the performance issue's targets on this run's own
(unrounded) numbers: how many comparisons meet each one, and which do not.
"""
import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from contextlib import nullcontext
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bpcourse.activations import sigmoid  # noqa: E402
from bpcourse.batching import batch_indices  # noqa: E402
from bpcourse.data import load_digits, one_hot, train_test_split  # noqa: E402
from bpcourse.layers import batchnorm_backward, batchnorm_forward  # noqa: E402
from bpcourse.losses import mse, softmax_cross_entropy  # noqa: E402
from bpcourse.model import mlp  # noqa: E402
from bpcourse.optim import SGD  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - reported in the header
    torch = None
try:
    from sklearn.neural_network import MLPClassifier
    import sklearn
except ImportError:  # pragma: no cover
    sklearn = None
try:
    from threadpoolctl import ThreadpoolController, threadpool_info, threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_info = threadpool_limits = None

DTYPES = {"float64": np.float64, "float32": np.float32}
NCPU = os.cpu_count() or 1
# OpenBLAS worker threads busy-wait ~2^28 cycles (~0.1 s) after a call, and OpenMP threads spin
# too: a short pause before each timed run keeps one contender's spinning threads out of the next one's.
PAUSE = 0.15


# ------------------------------------------------------------------ data

def digits_data():
    x, y = load_digits()
    return train_test_split(x, y, test_fraction=0.2, seed=0)


def synthetic_data(n_train, n_test, n=784, k=10, seed=0):
    """A learnable MNIST-sized set: each class is a random smooth 28x28 'stroke' prototype;
    an example is its class's prototype, shifted in brightness and covered in noise, in [0, 1]."""
    rng = np.random.default_rng(seed)
    side = int(round(np.sqrt(n)))
    g = np.linspace(-1, 1, side)
    gx, gy = np.meshgrid(g, g)
    protos = np.zeros((k, side * side))
    for c in range(k):  # a few gaussian blobs per class
        img = np.zeros((side, side))
        for _ in range(4):
            cx, cy, s = rng.uniform(-0.7, 0.7), rng.uniform(-0.7, 0.7), rng.uniform(0.15, 0.35)
            img += np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * s * s))
        protos[c] = (img / img.max()).ravel()
    N = n_train + n_test
    y = rng.integers(0, k, N)
    x = 0.45 * protos[y] * rng.uniform(0.6, 1.4, (N, 1)) + 0.55 * rng.random((N, side * side), dtype=np.float64)
    np.clip(x, 0, 1, out=x)
    return x[:n_train], x[n_train:], y[:n_train], y[n_train:]


# -------------------------------------------------------------- flops

def epoch_flops(sizes, N):
    """2*N*in*out per matmul: forward 1x, backward 2x (dW and dx), except the first
    layer's dx, which no contender computes (its input is data)."""
    total = 0
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        total += 2 * N * a * b * (2 if i == 0 else 3)
    return total


def gemm_peak(dtype, threads, n):
    """GFLOP/s of a big np.matmul (best of 3) with the BLAS limited to ``threads``."""
    a = np.random.default_rng(0).random((n, n)).astype(dtype)
    b = a.T.copy()
    out = np.empty_like(a)
    best = np.inf
    with _blas_threads(threads):
        np.matmul(a, b, out=out)
        for _ in range(3):
            t0 = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


_CONTROLLER = []


def _blas_threads(n):
    """Limit numpy's BLAS to n threads inside a with-block (None: leave the default).
    Entering costs milliseconds (threadpoolctl inspects the loaded libraries once): keep it
    outside the timed region."""
    if threadpool_limits is None or n is None:
        return nullcontext()
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=n, user_api="blas")


# ---------------------------------------------------------- contenders

class Contender:
    name = "?"
    threads = None          # None: numpy's BLAS default
    partial = None          # number of batches timed when a whole epoch is too slow (see run_training)

    def epoch(self, batches):
        """One pass over the batches (the harness has set the thread count, see ``using``)."""
        raise NotImplementedError

    def using(self):
        """Context that sets this contender's thread count (entered outside the timing)."""
        return _blas_threads(self.threads)

    def test_scores(self):
        """Outputs on the test set: sigmoid outputs (squared error) or scores (cross-entropy)."""
        return None


class Bpcourse(Contender):
    """The course's own path: mlp(..., dtype), batching.batch_indices, model.loss_and_grads, SGD.step."""

    def __init__(self, wl, dtype, threads):
        self.name, self.dtype, self.threads = "bpcourse", dtype, threads
        self.model = wl.make_model(dtype)
        (self.x, self.x_test), self.t, self.y_test = wl.data(dtype), wl.targets(dtype), wl.y_test
        self.opt = SGD(wl.lr)
        self.params = self.model.params()

    def epoch(self, batches):
        model, opt, params, x, t = self.model, self.opt, self.params, self.x, self.t
        for idx in batches:
            model.loss_and_grads(x[idx], t[idx])
            opt.step(params, model.grads())

    def test_scores(self):
        return self.model.forward(self.x_test, train=False)


class Torch(Contender):
    """nn.Sequential of Linear + Sigmoid with bpcourse's initial weights; torch.optim.SGD."""

    def __init__(self, wl, dtype, threads):
        self.name, self.dtype, self.threads = "PyTorch", dtype, threads
        tdtype = {np.float64: torch.float64, np.float32: torch.float32}[dtype]
        layers = []
        for layer in wl.make_model(dtype).layers:
            if layer.kind == "dense":
                W, b = layer.params["W"], layer.params["b"]
                lin = torch.nn.Linear(W.shape[1], W.shape[0], dtype=tdtype)
                with torch.no_grad():
                    lin.weight.copy_(torch.from_numpy(W))
                    lin.bias.copy_(torch.from_numpy(b))
                layers.append(lin)
            elif layer.kind == "sigmoid":
                layers.append(torch.nn.Sigmoid())
            else:  # pragma: no cover
                raise ValueError(layer.kind)
        self.net = torch.nn.Sequential(*layers)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=wl.lr, momentum=0.0)
        self.mse = wl.loss == "mse"
        x, x_test = wl.data(dtype)
        self.x, self.t = torch.from_numpy(x), torch.from_numpy(wl.targets(dtype))
        self.x_test, self.y_test = torch.from_numpy(x_test), wl.y_test

    def prepare(self, batches):
        return [torch.from_numpy(idx) for idx in batches]

    def using(self):
        torch.set_num_threads(self.threads)
        return nullcontext()

    def epoch(self, batches):
        net, opt, x, t = self.net, self.opt, self.x, self.t
        for idx in batches:
            out = net(x[idx])
            tb = t[idx]
            if self.mse:   # the course's squared error: 1/N sum_n 1/2 |y_hat_n - y_n|^2
                loss = 0.5 * F.mse_loss(out, tb, reduction="sum") / out.shape[0]
            else:
                loss = F.cross_entropy(out, tb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    def test_scores(self):
        with torch.no_grad():
            return self.net(self.x_test).numpy()


class Sklearn(Contender):
    """MLPClassifier(solver='sgd', no momentum, shuffle=False), bpcourse's initial weights,
    one partial_fit per epoch on the rows in batch order. Always softmax + cross-entropy."""

    def __init__(self, wl, dtype, threads):
        self.name, self.dtype, self.threads = "scikit-learn", dtype, threads
        sizes = wl.sizes
        self.clf = MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation="logistic",
                                 solver="sgd", alpha=0.0, batch_size=wl.batch_size,
                                 learning_rate="constant", learning_rate_init=wl.lr, momentum=0.0,
                                 nesterovs_momentum=False, shuffle=False, max_iter=1, random_state=0)
        x, self.x_test = wl.data(dtype)
        self.x, self.y = x, wl.y_train
        self.mse = wl.loss == "mse"
        self.clf.partial_fit(x[:wl.batch_size], self.y[:wl.batch_size], classes=np.arange(wl.k))  # builds it
        model = wl.make_model(dtype)
        dense = [layer for layer in model.layers if layer.kind == "dense"]
        self.clf.coefs_ = [np.ascontiguousarray(d.params["W"].T) for d in dense]
        self.clf.intercepts_ = [d.params["b"].copy() for d in dense]
        self.y_test = wl.y_test

    def prepare(self, batches):
        return np.concatenate(batches)

    def epoch(self, order):
        self.clf.partial_fit(self.x[order], self.y[order])

    def test_scores(self):
        p = self.clf.predict_proba(self.x_test)
        return p if self.mse else np.log(np.maximum(p, np.finfo(p.dtype).tiny))


class PerExample(Contender):
    """The classic network.py style: every example of a mini-batch goes through its own
    forward and backward pass as column vectors; the batch's gradients are summed."""

    def __init__(self, wl, dtype, threads):
        self.name, self.dtype, self.threads = "per-example loop", dtype, threads
        model = wl.make_model(dtype)
        dense = [layer for layer in model.layers if layer.kind == "dense"]
        self.W = [d.params["W"].copy() for d in dense]
        self.b = [d.params["b"].reshape(-1, 1).copy() for d in dense]
        self.lr, self.mse = wl.lr, wl.loss == "mse"
        (self.x, self.x_test), self.y_test = wl.data(dtype), wl.y_test
        self.Y = wl.onehot(dtype)

    def backprop(self, x, y):
        acts, a = [x], x
        n = len(self.W)
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            z = W @ a + b
            a = z if (i == n - 1 and not self.mse) else sigmoid(z)
            acts.append(a)
        if self.mse:
            delta = (a - y) * a * (1 - a)
        else:
            e = np.exp(a - a.max())
            delta = e / e.sum() - y
        nabla_W, nabla_b = [None] * n, [None] * n
        for i in range(n - 1, -1, -1):
            nabla_W[i] = delta @ acts[i].T
            nabla_b[i] = delta
            if i > 0:
                h = acts[i]
                delta = (self.W[i].T @ delta) * h * (1 - h)
        return nabla_W, nabla_b

    def epoch(self, batches):
        for idx in batches:
            sum_W = [np.zeros_like(W) for W in self.W]
            sum_b = [np.zeros_like(b) for b in self.b]
            for j in idx:
                nW, nb = self.backprop(self.x[j].reshape(-1, 1), self.Y[j].reshape(-1, 1))
                for i in range(len(self.W)):
                    sum_W[i] += nW[i]
                    sum_b[i] += nb[i]
            for i in range(len(self.W)):
                self.W[i] -= (self.lr / len(idx)) * sum_W[i]
                self.b[i] -= (self.lr / len(idx)) * sum_b[i]

    def test_scores(self):
        a = self.x_test.T
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            z = W @ a + b
            a = z if (i == len(self.W) - 1 and not self.mse) else sigmoid(z)
        return a.T


class MatmulsOnly(Contender):
    """A ceiling, not a contender: only the matrix products of bpcourse's step (forward x @ W.T,
    backward dz.T @ a and dz @ W) plus the gather of the batch, into preallocated outputs, on
    fixed weights. No activation, loss or update: what a numpy trainer at these shapes and
    with this BLAS cannot beat."""

    def __init__(self, wl, dtype, threads):
        self.name, self.dtype, self.threads = "matmuls alone", dtype, threads
        self.W = [d.params["W"] for d in wl.make_model(dtype).layers if d.kind == "dense"]
        self.x = wl.data(dtype)[0]
        B = wl.batch_size
        sizes = [self.W[0].shape[1]] + [W.shape[0] for W in self.W]
        self.a = [np.empty((B, n), dtype) for n in sizes]        # a[0] = x batch, a[i + 1] = layer i's output
        self.d = [np.empty((B, n), dtype) for n in sizes[1:]]    # d[i] = dL/d(layer i's output)
        self.dW = [np.empty_like(W) for W in self.W]

    def epoch(self, batches):
        W, a, d, dW, x = self.W, self.a, self.d, self.dW, self.x
        for idx in batches:
            if len(idx) != len(a[0]):      # a short last batch: skipped (one of hundreds)
                continue
            np.take(x, idx, axis=0, out=a[0])
            for i in range(len(W)):
                np.matmul(a[i], W[i].T, out=a[i + 1])
            d[-1][...] = a[-1]
            for i in range(len(W) - 1, -1, -1):
                np.matmul(d[i].T, a[i], out=dW[i])
                if i > 0:
                    np.matmul(d[i], W[i], out=d[i - 1])


# ------------------------------------------------------------ workloads

class Workload:
    def __init__(self, key, title, data, sizes, loss, batch_size, lr):
        self.key, self.title = key, title
        self.x_train, self.x_test, self.y_train, self.y_test = data
        self.sizes, self.loss, self.batch_size, self.lr = sizes, loss, batch_size, lr
        self.k = sizes[-1]
        self.N = len(self.x_train)
        self._cast = {}

    def data(self, dtype):
        """(x_train, x_test) in dtype, one shared copy per dtype (W3's x is 376 MB in float64)."""
        key = np.dtype(dtype).name
        if key not in self._cast:
            self._cast[key] = (self.x_train.astype(dtype, copy=False), self.x_test.astype(dtype, copy=False))
        return self._cast[key]

    def make_model(self, dtype):
        if self.loss == "mse":
            return mlp(self.sizes, activation="sigmoid", output="sigmoid", loss="mse", seed=0, dtype=dtype)
        return mlp(self.sizes, activation="sigmoid", output=None, loss="softmax_cross_entropy",
                   seed=0, dtype=dtype)

    def onehot(self, dtype):
        return one_hot(self.y_train, self.k).astype(dtype)

    def targets(self, dtype):
        """One-hot rows for squared error, integer labels for cross-entropy."""
        return self.onehot(dtype) if self.loss == "mse" else self.y_train


def make_workloads(quick):
    d = digits_data()
    n_train, n_test = (240, 60) if quick else (60000, 10000)
    s = synthetic_data(n_train, n_test)
    if quick:
        d = (d[0][:240], d[1][:60], d[2][:240], d[3][:60])
    ce, sq = "softmax CE", "sigmoid out, squared error"
    warnings.filterwarnings("ignore", module="sklearn")  # e.g. "batch_size larger than sample size" in --quick
    return {
        "W1": Workload("W1", f"digits {len(d[0])}/{len(d[1])}, 64-100-100-100-10 sigmoid, {ce}, B=60, lr 0.1",
                       d, [64, 100, 100, 100, 10], "softmax_cross_entropy", 60, 0.1),
        "W2": Workload("W2", f"digits {len(d[0])}/{len(d[1])}, 64-30-10, {sq}, B=10, lr 3.0",
                       d, [64, 30, 10], "mse", 10, 3.0),
        "W3": Workload("W3", f"synthetic {n_train}x784/{n_test}, 784-100-100-100-10 sigmoid, {ce}, B=60, lr 0.1",
                       s, [784, 100, 100, 100, 10], "softmax_cross_entropy", 60, 0.1),
        "W4": Workload("W4", f"synthetic {n_train}x784/{n_test}, 784-30-10, {sq}, B=10, lr 3.0",
                       s, [784, 30, 10], "mse", 10, 3.0),
    }


# -------------------------------------------------------------- running

def contenders_for(wl, quick, args):
    cs = []
    for dname in args.dtypes:
        dtype = DTYPES[dname]
        for t in args.threads:
            cs.append(Bpcourse(wl, dtype, t))
        if torch is not None:
            for t in args.threads:
                cs.append(Torch(wl, dtype, t))
        if sklearn is not None:
            cs.append(Sklearn(wl, dtype, min(args.threads)))
        for t in args.threads:
            cs.append(MatmulsOnly(wl, dtype, t))
    cs.append(PerExample(wl, np.float64, min(args.threads)))
    return cs


def paired_ratio(times, base):
    """The contender's time over bpcourse's, repeat by repeat (both ran in the same repeat, one
    after the other, so a change of the machine's load between repeats cancels out): the median
    of those ratios (None for bpcourse itself, or without a bpcourse row) and its two table cells,
    the median and the range. A contender timed in fewer repeats (c:k/n) is paired with
    bpcourse's first ones."""
    if not base:
        return None, "-", "-"
    if times is base:
        return None, "1.00", "-"
    ratios = [t / b for t, b in zip(times, base)]
    spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if len(ratios) > 1 else "-"
    median = statistics.median(ratios)
    return median, f"{median:.2f}", spread


def run_training(wl, args, rows):
    contenders = contenders_for(wl, args.quick, args)
    rng = np.random.default_rng(1234)
    times = {id(c): [] for c in contenders}
    n_batches = len(batch_indices(wl.N, wl.batch_size, shuffle=False))
    warm = batch_indices(wl.N, wl.batch_size, np.random.default_rng(99))[:5]
    for c in contenders:     # warm-up: the same 5 batches for everyone; estimates the epoch time
        with c.using():
            b = c.prepare(warm) if hasattr(c, "prepare") else warm
            t0 = time.perf_counter()
            c.epoch(b)
            per_batch = (time.perf_counter() - t0) / len(warm)
        if per_batch * n_batches > args.budget:
            # too slow for whole epochs (the per-example loop on W3/W4, or a thread count that
            # the machine's load starves): time one run on the first batches, scaled to an epoch
            c.partial = max(5, int(args.budget / 4 / per_batch))
    for r in range(args.repeats):
        batches = batch_indices(wl.N, wl.batch_size, rng)
        for c in contenders:
            if c.partial and r > 0:
                continue
            run = batches[:c.partial] if c.partial else batches
            b = c.prepare(run) if hasattr(c, "prepare") else run
            with c.using():
                time.sleep(PAUSE)
                t0 = time.perf_counter()
                c.epoch(b)
                dt = time.perf_counter() - t0
            times[id(c)].append(dt * len(batches) / len(run))
    flops = epoch_flops(wl.sizes, wl.N)
    base = {(c.dtype, c.threads): times[id(c)] for c in contenders if isinstance(c, Bpcourse)}
    rows.append(("section", f"{wl.key}: {wl.title}; s/epoch, median of {args.repeats}, {n_batches} batches/epoch"))
    for c in contenders:
        s = statistics.median(times[id(c)])
        thr = c.threads
        r, ratio, spread = paired_ratio(times[id(c)], base.get((c.dtype, thr)))
        gflops = flops / s / 1e9
        peak = PEAK.get((c.dtype, thr))
        with c.using():
            scores = None if c.partial else c.test_scores()
        acc = loss = None
        if scores is not None:
            scores = np.asarray(scores, dtype=np.float64)
            acc = float(np.mean(scores.argmax(1) == wl.y_test))
            loss = (mse(scores, one_hot(wl.y_test, wl.k))[0] if wl.loss == "mse"
                    else softmax_cross_entropy(scores, wl.y_test)[0])
        note = ",".join((["a"] if isinstance(c, Sklearn) else []) + (["b"] if isinstance(c, PerExample) else [])
                        + (["d"] if isinstance(c, MatmulsOnly) else [])
                        + ([f"c:{c.partial}/{n_batches}"] if c.partial else []))
        RESULTS[(wl.key, c.name, np.dtype(c.dtype).name, thr)] = (r, 100 * gflops / peak if peak else None)
        rows.append(("row", c.name, np.dtype(c.dtype).name, thr, f"{s:.4g}", ratio, spread, f"{gflops:.2f}",
                     f"{100 * gflops / peak:.1f}%" if peak else "-",
                     f"{acc:.3f}" if acc is not None else "-",
                     f"{loss:.5f}" if loss is not None else "-", note))


def bn_torch(x, dout, threads, inner):
    D = x.shape[1]
    bn = torch.nn.BatchNorm1d(D, dtype=x.dtype)
    bn.train()
    xt = x.clone().requires_grad_(True)
    fwd = bwd = 0.0
    for _ in range(inner):
        xt.grad = None
        bn.weight.grad = bn.bias.grad = None
        t0 = time.perf_counter()
        out = bn(xt)
        t1 = time.perf_counter()
        out.backward(dout)
        t2 = time.perf_counter()
        fwd += t1 - t0
        bwd += t2 - t1
    return fwd / inner, bwd / inner


def bn_bpcourse(x, dout, threads, inner):
    gamma, beta = np.ones(x.shape[1], x.dtype), np.zeros(x.shape[1], x.dtype)
    fwd = bwd = 0.0
    for _ in range(inner):
        t0 = time.perf_counter()
        out, cache = batchnorm_forward(x, gamma, beta)
        t1 = time.perf_counter()
        batchnorm_backward(dout, cache)
        t2 = time.perf_counter()
        fwd += t1 - t0
        bwd += t2 - t1
    return fwd / inner, bwd / inner


def run_batchnorm(args, rows):
    shapes = [(60, 100), (256, 512)] if not args.quick else [(60, 100)]
    inner = 5 if args.quick else 300
    for N, D in shapes:
        rows.append(("section", f"W5: batch norm train-mode forward + backward, x ({N}, {D}); "
                                f"microseconds per call, median of {args.repeats} x {inner} calls"))
        for dname in args.dtypes:
            dtype = DTYPES[dname]
            rng = np.random.default_rng(0)
            x = rng.standard_normal((N, D)).astype(dtype)
            dout = rng.standard_normal((N, D)).astype(dtype)
            runs = [("bpcourse", t, bn_bpcourse, (x, dout)) for t in args.threads]
            if torch is not None:
                xt, doutt = torch.from_numpy(x), torch.from_numpy(dout)
                runs += [("PyTorch BatchNorm1d", t, bn_torch, (xt, doutt)) for t in args.threads]
            res = {i: [] for i in range(len(runs))}
            def ctx(name, t):
                if name == "bpcourse":
                    return _blas_threads(t)
                torch.set_num_threads(t)
                return nullcontext()

            for name, t, fn, data in runs:   # warm-up
                with ctx(name, t):
                    fn(*data, t, 3)
            for _ in range(args.repeats):
                for i, (name, t, fn, data) in enumerate(runs):
                    with ctx(name, t):
                        time.sleep(PAUSE)
                        res[i].append(fn(*data, t, inner))
            both = {i: [f + b for f, b in v] for i, v in res.items()}
            bwd = {i: [b for _, b in v] for i, v in res.items()}
            base = {t: i for i, (name, t, _, _) in enumerate(runs) if name == "bpcourse"}
            for i, (name, t, _, _) in enumerate(runs):
                i0 = base[t]
                rows.append(("row", name + " fwd+bwd", dname, t, f"{1e6 * statistics.median(both[i]):.1f}",
                             *paired_ratio(both[i], both[i0])[1:], "-", "-", "-", "-", ""))
                r, ratio, spread = paired_ratio(bwd[i], bwd[i0])
                RESULTS[(f"W5 {N}x{D}", name + " bwd only", dname, t)] = (r, None)
                rows.append(("row", name + " bwd only", dname, t, f"{1e6 * statistics.median(bwd[i]):.1f}",
                             ratio, spread, "-", "-", "-", "-", ""))


PEAK = {}
RESULTS = {}    # (workload, contender, dtype, threads) -> (median ratio to bpcourse or None, %peak or None)


def _verdict(label, checks, met, fmt="{:.2f}", notes=None):
    """One line per target: how many of the (name, value) checks are ``met``, and which are not
    (each miss followed by ``notes[name]`` when there is one)."""
    if not checks:
        return f"  {label}: not measured in this run"
    notes = notes or {}
    missed = [f"{name} {fmt.format(value)}" + (f" ({notes[name]})" if name in notes else "")
              for name, value in checks if not met(value)]
    return (f"  {label}: {len(checks) - len(missed)} of {len(checks)} met"
            + (f"; missed: {', '.join(missed)}" if missed else ""))


def targets_summary(results):
    """The performance issue's targets, judged on this run's unrounded numbers.

    A miss of the PyTorch or the peak target also shows its ceiling: what bpcourse would reach
    if its step were nothing but the matmuls (the "matmuls alone" row). A ceiling below the
    target means that no numpy trainer with this BLAS can meet it on this machine."""
    def name(w, d, t):
        return f"{w[3:] or w} {d} {t} thr"

    def ratios(contender, workload=lambda w: w in ("W1", "W2", "W3", "W4")):
        return [(name(w, d, t), r) for (w, c, d, t), (r, _) in sorted(results.items())
                if c == contender and workload(w) and r is not None]

    def alone(w, d, t):
        return results.get((w, "matmuls alone", d, t), (None, None))

    torch_ceiling = {name(w, d, t): f"ceiling {r / alone(w, d, t)[0]:.2f}"
                     for (w, c, d, t), (r, _) in results.items()
                     if c == "PyTorch" and r is not None and alone(w, d, t)[0]}
    peak = [(f"{t} thr", p) for (w, c, d, t), (_, p) in sorted(results.items())
            if (w, c, d) == ("W3", "bpcourse", "float32") and p is not None]
    peak_ceiling = {f"{t} thr": f"ceiling {alone(w, d, t)[1]:.1f}%" for (w, c, d, t) in results
                    if (w, c, d) == ("W3", "bpcourse", "float32") and alone(w, d, t)[1] is not None}
    return ["Targets (performance issue), judged on this run:",
            _verdict("bpcourse >= 1.5x PyTorch on W1-W4 (x bpc >= 1.50)", ratios("PyTorch"), lambda r: r >= 1.5,
                     notes=torch_ceiling),
            _verdict("ahead of scikit-learn on W1-W4 (x bpc > 1)", ratios("scikit-learn"), lambda r: r > 1.0),
            _verdict("W3 float32 at >= 50% of the GEMM peak of the same thread count", peak,
                     lambda p: p >= 50.0, "{:.1f}%", notes=peak_ceiling),
            _verdict("W5 backward within 1.2x of BatchNorm1d (x bpc >= 0.83)",
                     ratios("PyTorch BatchNorm1d bwd only", lambda w: w.startswith("W5")), lambda r: r >= 1 / 1.2),
            "  lessons + solutions in <= 60 s of kernel time: see python benchmarks/notebook_times.py",
            "  ceiling: the value if bpcourse's step were only its matmuls (the 'matmuls alone' row); a ceiling",
            "  below the target means no numpy trainer with this BLAS can meet it on this machine"]


def cpu_model():
    """The CPU's model name (Linux: /proc/cpuinfo), else what platform knows: results differ by CPU."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {platform.machine()}"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_description():
    if threadpool_info is None:
        return ["threadpoolctl not installed: BLAS unknown"]
    out = []
    for lib in sorted(threadpool_info(), key=lambda lib: "numpy" not in lib.get("filepath", "")):
        path = Path(lib.get("filepath", ""))
        owner = next((o for o in ("numpy", "torch", "scipy", "sklearn", "scikit_learn") if o in str(path)), "?")
        out.append(f"{lib.get('user_api')} of {owner}: {lib.get('internal_api')} {lib.get('version') or ''} "
                   f"({lib.get('architecture', '-')}), {lib.get('num_threads')} threads, {path.name}")
    return out


def print_table(rows, header):
    widths = [len(h) for h in header]
    for r in rows:
        if r[0] == "row":
            widths = [max(w, len(str(v))) for w, v in zip(widths, r[1:])]
    fmt = "  ".join(f"{{:{'<' if i < 2 else '>'}{w}}}" for i, w in enumerate(widths))
    line = fmt.format(*header)
    print(line)
    print("-" * len(line))
    for r in rows:
        if r[0] == "section":
            print(r[1])
        else:
            print(fmt.format(*[str(v) for v in r[1:]]))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, 1 repeat (smoke test)")
    p.add_argument("--workloads", default="W1,W2,W3,W4,W5")
    p.add_argument("--repeats", type=int, default=None, help="epochs timed per contender (default 5, quick 1)")
    p.add_argument("--dtypes", default="float64,float32")
    p.add_argument("--budget", type=float, default=60.0,
                   help="seconds an epoch may take; slower contenders are timed on part of one epoch")
    p.add_argument("--threads", default=None, help="thread counts for PyTorch and bpcourse (default 1,2)")
    args = p.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 5)
    if args.quick:
        global PAUSE
        PAUSE = 0.01
    args.dtypes = args.dtypes.split(",")
    args.threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, min(2, NCPU)})
    wanted = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]

    print(f"bpcourse benchmark: python {platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch else 'not installed'}, "
          f"scikit-learn {sklearn.__version__ if sklearn else 'not installed'}, {NCPU} CPUs "
          f"({cpu_model()})")
    for line in blas_description():
        print("  BLAS/threads  " + line)
    print(f"  OPENBLAS_CORETYPE: {os.environ.get('OPENBLAS_CORETYPE', 'not set')}")
    n = 256 if args.quick else 2048
    for dname in args.dtypes:
        for t in args.threads:
            PEAK[(DTYPES[dname], t)] = gemm_peak(DTYPES[dname], t, n)
    print("  GEMM peak (np.matmul %dx%d, best of 3): " % (n, n)
          + ", ".join(f"{np.dtype(d).name} {t} thr {v:.1f} GFLOP/s" for (d, t), v in PEAK.items()))

    rows = []
    workloads = make_workloads(args.quick) if any(w != "W5" for w in wanted) else {}
    if torch is not None:
        torch.manual_seed(0)
    for key in wanted:
        if key == "W5":
            run_batchnorm(args, rows)
        elif key in workloads:
            run_training(workloads[key], args, rows)
        else:
            p.error(f"unknown workload {key!r}")
    print()
    print_table(rows, ["contender", "dtype", "thr", "time", "x bpc", "range", "GFLOP/s", "%peak",
                       "test acc", "test loss", "note"])
    print()
    print("time: s/epoch (W1-W4) or microseconds per call (W5), the median over repeats.\n"
          "x bpc: contender time / bpcourse time, same dtype and thread count (> 1: bpcourse is faster),\n"
          "  taken within each repeat (the two ran one after the other) and the median over repeats;\n"
          "range: the lowest and highest of those per-repeat ratios: how far the machine's load moved them.\n"
          "thr: PyTorch set_num_threads, or the numpy BLAS thread limit (threadpoolctl) for the numpy-based\n"
          "  rows (bpcourse, scikit-learn, loop).\n"
          "GFLOP/s counts only the matmuls, 2*N*in*out each: forward 1x, backward 2x (dW and dx) per layer,\n"
          "  1x for the first layer (no contender computes the gradient of the data). %peak: of the GEMM\n"
          "  peak above, same dtype and threads.\n"
          "test acc, test loss: after the warm-up (5 batches) and all repeats, the workload's own loss\n"
          "  (squared error or softmax CE). Contenders start from bpcourse's initial weights and see the\n"
          "  same batches in the same order, so equal numbers mean they computed the same thing. The deep\n"
          "  sigmoid nets of W1/W3 at lr 0.1 sit on a plateau for the first epochs (vanishing gradients):\n"
          "  there the loss, not the accuracy, shows that they agree.\n"
          "a: scikit-learn's MLPClassifier always uses softmax + cross-entropy (and its own loop), also on\n"
          "  the squared-error workloads W2 and W4, so its accuracy there differs; solver='sgd', momentum 0,\n"
          "  alpha 0, shuffle=False, one partial_fit per epoch on the rows in batch order.\n"
          "b: network.py-style per-example loop (column vectors, float64, the BLAS limited to 1 thread).\n"
          f"c:k/n: whole epochs would exceed --budget {args.budget:g} s: timed once on the first k of the\n"
          "  epoch's n batches and scaled to the whole epoch; no accuracy (it did not train on all batches).\n"
          "d: not a trainer but a ceiling: only the matmuls of bpcourse's step (and the gather of each batch),\n"
          "  into preallocated outputs, with no activation, loss or update. Its x bpc is the share of bpcourse's\n"
          "  time that the matmuls take; no numpy trainer with this BLAS gets past its GFLOP/s at these shapes.")
    print()
    if args.quick:
        print("(--quick: tiny sizes, so the verdicts below say nothing about the real workloads)")
    print("\n".join(targets_summary(RESULTS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
