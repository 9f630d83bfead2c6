"""How the fast-weights layer of a model computes: the size of the
memory's term against the input drive (`memory_drive_ratio`), how far
back the gradient reaches (`input_gradient_norms`) and how alike the
states the memory stores are (`consecutive_state_cosine`)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from keras_fastweights.inspection import fast_weights_inputs
from keras_fastweights.inspection import find_fast_weights_layer
from keras_fastweights.inspection import replay
from keras_fastweights.validation import check_int


def memory_drive_ratio(
    model: keras.Model | keras.layers.Layer,
    inputs: Any,
    *,
    layer_name: str | None = None,
    iterate: int = 0,
) -> np.ndarray:
    """`‖A(t) h_s‖ / ‖z‖` of every example and step of a fast-weights layer.

    At each step the inner loop adds the memory's read-out to the input
    drive, `h_{s+1} = f(LN(z + A(t) h_s))`, with `z = C x(t) + W h(t) + b`
    and `h_0 = f(z)`. This ratio says which of the two terms dominates the
    inner iterate `h_{s+1}`. The layer's cell is replayed step by step with
    its own weights (as in `keras_fastweights.inspection`), so `A(t)` and
    `h_s` are those the layer itself uses.

    Args:
        model: A built model containing one fast-weights recurrent layer
            (see `keras_fastweights.inspection.fast_weights_attention`),
            that layer, or a built `FastWeightsRNNCell`.
        inputs: Inputs of `model`, or the sequences of shape
            `(batch, timesteps, features)` read by the layer or cell.
        layer_name: Name of the recurrent layer, if `model` has several.
        iterate: `s`, the iterate that reads the memory: 0 (the first
            read, `h_0 = f(z)`) to `inner_steps - 1`.

    Returns:
        A float64 array of shape `(batch, timesteps)`. Step 0 is 0, since
        `A(0) = 0`, and so is any step with `z = 0`.

    Raises:
        TypeError: If `model` is neither a model, a fast-weights recurrent
            layer nor a `FastWeightsRNNCell`.
        ValueError: If the model has no (or several, and no `layer_name`)
            fast-weights layers, or the cell is not built.

    Example:

    >>> from keras_fastweights.models import build_retrieval_model
    >>> from keras_fastweights.datasets import associative_retrieval
    >>> _, _, (tokens, _) = associative_retrieval.load_data(
    ...     num_train=0, num_val=0, num_test=8, seed=0)
    >>> model = build_retrieval_model("fast_weights", 20, seed=0)
    >>> ratios = memory_drive_ratio(model, tokens)
    >>> ratios.shape, bool((ratios[:, 0] == 0).all())
    ((8, 11), True)
    """
    cell, sequences = fast_weights_inputs(model, inputs, layer_name)
    iterate = check_int("iterate", iterate, 0)
    if iterate >= cell.inner_steps:
        raise ValueError(
            f"`iterate` must be below inner_steps={cell.inner_steps}: the "
            f"iterates h_0 .. h_{cell.inner_steps - 1} read the memory. "
            f"Received: iterate={iterate}"
        )
    recorded = replay(cell, sequences)
    memory = ops.convert_to_numpy(recorded.memories).astype("float64")
    memory = memory.reshape(*memory.shape[:2], cell.units, cell.units)
    h_s = ops.convert_to_numpy(recorded.queries[:, :, iterate])
    drive = ops.convert_to_numpy(recorded.drives).astype("float64")
    drive = np.linalg.norm(drive, axis=-1)
    read = np.einsum("btij,btj->bti", memory, h_s.astype("float64"))
    read = np.linalg.norm(read, axis=-1)
    return read / np.where(drive > 0, drive, np.inf)


def _gradient(function, x):
    """The gradient of the scalar `function` at `x`, in the backend's own
    automatic differentiation (Keras 3 has no backend-neutral one)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        # Compiled: op by op, JAX's tracing of the layer's Python loop is
        # several times slower than compiling it once.
        return jax.jit(jax.grad(function))(x)
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            value = function(x)
        return tape.gradient(value, x)
    if backend == "torch":
        import torch

        x = x.detach().requires_grad_(True)
        return torch.autograd.grad(function(x), x)[0]
    raise NotImplementedError(
        f"Gradients are not implemented for the {backend!r} backend."
    )


def fast_weights_layer_of(model, layer_name, function):
    """The fast-weights layer of `model`, which `function` needs to be a
    `keras.Model`."""
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"`{function}` needs a keras.Model (it reads the model's "
            f"logits). Received: model={model!r} (of type "
            f"{type(model).__name__})"
        )
    return find_fast_weights_layer(model, layer_name)


def model_tail(model, start):
    """The part of `model` from the tensor `start` to its (one) output."""
    if len(model.outputs) != 1:
        raise ValueError(
            f"Model {model.name!r} must have one output, its logits. It has "
            f"{len(model.outputs)}."
        )
    return keras.Model(start, model.outputs[0])


def input_gradient_norms(
    model: keras.Model,
    inputs: Any,
    targets: Any,
    *,
    layer_name: str | None = None,
) -> np.ndarray:
    """`‖∂L/∂x(τ)‖` for every example and input step of a fast-weights layer.

    `L` is the cross-entropy of the model's logits (its output, as that of
    `keras_fastweights.models.build_retrieval_model`) for the integer
    `targets`, and `x(τ)` is the vector that the fast-weights layer reads
    at step `τ` (for the paper's models, the embedding of token `τ`). How
    fast these norms fall with the distance from the last step says how far
    back the gradient reaches. The examples of a batch are independent, so
    each example's row is the gradient of its own loss.

    Args:
        model: A built `keras.Model` with one fast-weights recurrent layer
            (see `keras_fastweights.inspection.fast_weights_attention`)
            whose outputs are logits.
        inputs: Inputs of `model`.
        targets: Integer class of each example, shape `(batch,)`.
        layer_name: Name of the recurrent layer, if `model` has several.

    Returns:
        A float64 array of shape `(batch, timesteps)`.

    Raises:
        TypeError: If `model` is not a `keras.Model`.
        ValueError: If the model has no (or several, and no `layer_name`)
            fast-weights layers.

    Example:

    >>> from keras_fastweights.models import build_retrieval_model
    >>> from keras_fastweights.datasets import associative_retrieval
    >>> _, _, (tokens, targets) = associative_retrieval.load_data(
    ...     num_train=0, num_val=0, num_test=8, seed=0)
    >>> model = build_retrieval_model("fast_weights", 20, seed=0)
    >>> input_gradient_norms(model, tokens, targets).shape
    (8, 11)
    """
    layer = fast_weights_layer_of(model, layer_name, "input_gradient_norms")
    _, sequences = fast_weights_inputs(model, inputs, layer.name)
    tail = model_tail(model, layer.input)
    targets = ops.convert_to_tensor(np.asarray(targets), "int32")

    def loss(x):
        logits = tail(x)
        return ops.sum(
            keras.losses.sparse_categorical_crossentropy(
                targets, logits, from_logits=True
            )
        )

    gradients = ops.convert_to_numpy(_gradient(loss, sequences))
    return np.linalg.norm(gradients.astype("float64"), axis=-1)


def consecutive_state_cosine(
    model: keras.Model | keras.layers.Layer,
    inputs: Any,
    *,
    layer_name: str | None = None,
) -> np.ndarray:
    """Cosine similarity of each output `h(τ+1)` with the previous `h(τ)`.

    The fast memory stores these outputs, and its read-out weighs each by
    its dot product with the query (docs/method.md, section 3): how alike
    the stored states are bounds how selectively the memory can be read.

    Args:
        model: A built model containing one fast-weights recurrent layer
            (see `keras_fastweights.inspection.fast_weights_attention`),
            that layer, or a built `FastWeightsRNNCell`.
        inputs: Inputs of `model`, or the sequences of shape
            `(batch, timesteps, features)` read by the layer or cell.
        layer_name: Name of the recurrent layer, if `model` has several.

    Returns:
        A float64 array of shape `(batch, timesteps - 1)`: entry `[b, i]` is
        the cosine between the outputs of steps `i` and `i + 1`, or NaN if
        either is zero.

    Example:

    >>> from keras_fastweights.models import build_retrieval_model
    >>> from keras_fastweights.datasets import associative_retrieval
    >>> _, _, (tokens, _) = associative_retrieval.load_data(
    ...     num_train=0, num_val=0, num_test=8, seed=0)
    >>> model = build_retrieval_model("fast_weights", 20, seed=0)
    >>> consecutive_state_cosine(model, tokens).shape
    (8, 10)
    """
    cell, sequences = fast_weights_inputs(model, inputs, layer_name)
    outputs = ops.convert_to_numpy(replay(cell, sequences).outputs)
    outputs = outputs.astype("float64")
    products = np.sum(outputs[:, 1:] * outputs[:, :-1], axis=-1)
    norms = np.linalg.norm(outputs, axis=-1)
    norms = norms[:, 1:] * norms[:, :-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, products / norms, np.nan)
