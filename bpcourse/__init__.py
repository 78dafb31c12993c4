"""bpcourse: backpropagation from first principles.

The maths, in the course's symbols (numpy only):
- ``bpcourse.activations``: sigmoid, sigmoid_prime, tanh, relu, softmax, ...
- ``bpcourse.losses``: mse, softmax_cross_entropy (each returns loss and gradient)
- ``bpcourse.network``: the three-layer network of the derivation (forward, backward)
- ``bpcourse.layers``: dense, activation and batch-norm layers, forward/backward with caches
- ``bpcourse.model``: Sequential models and ``mlp``
- ``bpcourse.optim``, ``bpcourse.batching``, ``bpcourse.training``: updates, batches, the loop
- ``bpcourse.gradcheck``: centred differences and relative errors

The course's tools: ``bpcourse.data`` (toy sets, digits, MNIST), ``bpcourse.plots``,
``bpcourse.widgets``. Weights are stored (out, in); a batch has one example per row.
"""
__version__ = "0.1.0"

from .activations import relu, relu_prime, sigmoid, sigmoid_prime, softmax, softmax_prime, tanh, tanh_prime
from .losses import mse, softmax_cross_entropy
from .network import backward, forward, init_params
from .model import Sequential, mlp, three_layer_model
from .layers import BatchNorm, Dense, ReLU, Sigmoid, Tanh
from .optim import SGD, gd_update
from .batching import batch_indices, minibatches
from .training import History, TrainingDiverged, train
from .gradcheck import check_model_gradients, numerical_gradient, rel_error

__all__ = [
    "sigmoid", "sigmoid_prime", "tanh", "tanh_prime", "relu", "relu_prime", "softmax", "softmax_prime",
    "mse", "softmax_cross_entropy", "init_params", "forward", "backward",
    "Sequential", "mlp", "three_layer_model", "Dense", "Sigmoid", "Tanh", "ReLU", "BatchNorm",
    "SGD", "gd_update", "batch_indices", "minibatches", "train", "History", "TrainingDiverged",
    "numerical_gradient", "rel_error", "check_model_gradients",
]
