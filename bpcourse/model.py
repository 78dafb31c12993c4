"""A sequential model: layers applied in order, then a loss.

    forward:  a_0 = x,  a_i = layer_i(a_(i-1)),  loss = L(a_last, y)
    backward: g = dL/da_last,  g <- layer_i.backward(g) from the last layer to the first

Parameters and gradients are reachable by name, "<layer>.<param>", where
layers are named by kind and position among their kind: "dense1.W",
"dense2.b", "batchnorm1.gamma", ...
"""
import numpy as np

from .layers import BatchNorm, Dense, ReLU, Sigmoid, Tanh
from .losses import mse, one_hot_if_labels, softmax_cross_entropy
from .activations import softmax

LOSSES = {"mse": mse, "softmax_cross_entropy": softmax_cross_entropy}
ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU}


def class_labels(y, name="y"):
    """Integer class labels (N,) from labels (N,), one output column (N, 1) or scores (N, k).

    - labels (N,): integers, booleans or floats holding whole numbers, all >= 0;
    - one column (N, 1): a sigmoid output or 0/1 target, class 1 where it is > 0.5
      (a column of integers above 1 is labels written as a column: an error);
    - k columns (N, k): one-hot targets, probabilities or scores, class = argmax of each row.
    ``name`` is the argument named in an error.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        if y.dtype.kind in "iu" and y.size and y.max() > 1:
            raise ValueError(f"{name}: one column (N, 1) is read as p(class 1), but it holds integers up "
                             f"to {y.max()}: pass class labels as a 1-D array (N,), e.g. y[:, 0]")
        return (y[:, 0] > 0.5).astype(int)
    if y.ndim == 2:
        return y.argmax(axis=1)
    if y.ndim != 1:
        raise ValueError(f"{name} must be labels (N,), one column (N, 1) or scores (N, k); "
                         f"got shape {y.shape}")
    if y.dtype.kind == "b":
        return y.astype(int)
    if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(y == np.round(y))):
        raise ValueError(f"{name} must hold whole-number class labels, got values such as {y[:3]}")
    if y.size and y.min() < 0:
        raise ValueError(f"{name}: class labels must be >= 0, got {y.min()}")
    return y.astype(int, copy=False)


def accuracy(output, y):
    """Fraction of examples classified right: the mean of class_labels(output) == class_labels(y).

    The predicted class is the argmax of each output row, or output > 0.5 for one output
    unit; y may be labels (N,), one-hot rows (N, k) or 0/1 targets (N, 1).
    """
    predicted, true = class_labels(output, "accuracy: output"), class_labels(y, "accuracy: y")
    if len(predicted) != len(true):
        raise ValueError(f"accuracy: {len(predicted)} outputs but {len(true)} labels")
    return float(np.mean(predicted == true))


class Sequential:
    """Layers in order plus a loss ("mse" or "softmax_cross_entropy").

    With "mse" the last layer's output is the prediction (end with Sigmoid for
    the course's network); with "softmax_cross_entropy" the last layer gives
    scores z and the softmax sits inside the loss.
    """

    def __init__(self, layers, loss="mse"):
        if loss not in LOSSES:
            raise ValueError(f"Sequential: loss must be one of {sorted(LOSSES)}, got {loss!r}")
        self.layers = list(layers)
        self.loss_name = loss
        self.names = []
        counts = {}
        for layer in self.layers:
            counts[layer.kind] = counts.get(layer.kind, 0) + 1
            self.names.append(f"{layer.kind}{counts[layer.kind]}")

    def __repr__(self):
        inner = ",\n  ".join(f"{n}: {l!r}" for n, l in zip(self.names, self.layers))
        return f"Sequential(\n  {inner},\n  loss={self.loss_name!r})"

    def _named(self, attr):
        return {f"{n}.{k}": v for n, layer in zip(self.names, self.layers)
                for k, v in getattr(layer, attr).items()}

    def params(self):
        """{name: array} of every learned parameter (the arrays themselves, not copies)."""
        return self._named("params")

    def grads(self):
        """{name: array} of the gradients from the last backward pass."""
        return self._named("grads")

    def buffers(self):
        """{name: array} of state that is not learned (batch norm's running averages)."""
        return self._named("buffers")

    def set_buffers(self, values):
        """Restore buffers saved with ``{k: v.copy() for k, v in model.buffers().items()}``."""
        for n, layer in zip(self.names, self.layers):
            for k in layer.buffers:
                layer.buffers[k] = values[f"{n}.{k}"].copy()

    def forward(self, x, train=True):
        """Run every layer; returns the last layer's output."""
        for layer in self.layers:
            x = layer.forward(x, train)
        return x

    def backward(self, dout, need_dx=False):
        """Chain rule from the last layer to the first; fills every layer's grads.

        Returns dL/dx for the input x when need_dx=True (else None: training
        never needs it, and skipping it saves the first layer's largest product).
        """
        for i in range(len(self.layers) - 1, -1, -1):
            dout = self.layers[i].backward(dout, need_dx=need_dx or i > 0)
        return dout

    def targets(self, y, out):
        """Targets the loss can use for the output ``out``: integer labels become
        one-hot rows for "mse"; float targets take the output's dtype."""
        y = np.asarray(y)
        if self.loss_name == "mse":
            return one_hot_if_labels(y, out.shape[1], out.dtype).astype(out.dtype, copy=False)
        return y if y.dtype.kind in "iu" else y.astype(out.dtype, copy=False)

    def loss_and_grads(self, x, y, train=True):
        """Forward, loss, backward. Returns (loss, output) and leaves gradients in ``grads()``."""
        out = self.forward(x, train)
        L, dout = LOSSES[self.loss_name](out, self.targets(y, out))
        self.backward(dout)
        return L, out

    def loss(self, x, y, train=False):
        """The batch-mean loss on (x, y), without touching the gradients."""
        out = self.forward(x, train)
        return LOSSES[self.loss_name](out, self.targets(y, out))[0]

    def evaluate(self, x, y):
        """(loss, accuracy) on (x, y) in evaluation mode, from one forward pass."""
        out = self.forward(x, train=False)
        L = LOSSES[self.loss_name](out, self.targets(y, out))[0]
        return L, accuracy(softmax(out) if self.loss_name == "softmax_cross_entropy" else out, y)

    def predict(self, x):
        """Outputs in evaluation mode: the sigmoid outputs, or softmax probabilities."""
        out = self.forward(x, train=False)
        return softmax(out) if self.loss_name == "softmax_cross_entropy" else out

    def accuracy(self, x, y):
        """Fraction of (x, y) classified right, in evaluation mode."""
        return accuracy(self.predict(x), y)


def mlp(sizes, activation="sigmoid", output="sigmoid", loss="mse", batchnorm=False,
        seed=0, dtype=np.float64):
    """Build a multilayer perceptron.

    Inputs:
    - sizes: [n_in, hidden..., n_out], e.g. [64, 100, 100, 100, 10]
    - activation: hidden activation, "sigmoid", "tanh" or "relu"
    - output: "sigmoid" (for mse) or None (scores for softmax_cross_entropy)
    - batchnorm: put BatchNorm between each hidden Dense layer and its activation
      (those Dense layers then have no bias: beta plays its part)
    - seed: for the initial weights; dtype: np.float64 (default) or np.float32
    Returns a Sequential.
    """
    rng = np.random.default_rng(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(Dense(n_in, n_out, rng, dtype=dtype, bias=last or not batchnorm))
        if not last:
            if batchnorm:
                layers.append(BatchNorm(n_out, dtype=dtype))
            layers.append(ACTIVATIONS[activation]())
        elif output is not None:
            layers.append(ACTIVATIONS[output]())
    return Sequential(layers, loss=loss)


def three_layer_model(W1, b1, W2, b2):
    """The network of the derivation as a Sequential model on copies of the given weights:
    Dense(W1, b1), Sigmoid, Dense(W2, b2), Sigmoid, squared error."""
    (m, n), k = np.shape(W1), np.shape(W2)[0]
    return Sequential([Dense(n, m, W=W1, b=b1), Sigmoid(), Dense(m, k, W=W2, b=b2), Sigmoid()], loss="mse")
