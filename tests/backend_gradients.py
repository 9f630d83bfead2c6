"""Gradients of a recurrent layer on any backend, for tests that compare
two paths of the same function backwards."""

import keras
import numpy as np
from keras import ops


def scalar_of(outputs, *states):
    """A scalar that depends on every output and every entry of each final
    state, each with its own weight, so that no gradient is trivially
    shared: `Σ sin(outputs) + Σ_i state_i · (linspace over its entries)`."""
    value = ops.sum(ops.sin(outputs))
    for state in states:
        size = int(np.prod(state.shape[1:]))
        projection = np.linspace(-1.0, 1.0, size).astype(
            keras.backend.standardize_dtype(state.dtype)
        )
        value = value + ops.sum(ops.multiply(state, projection))
    return value


def gradients(layer, x, mask=None, loss=scalar_of):
    """Gradients of `loss(*layer(x, mask=mask))` with respect to the layer's
    trainable weights and its inputs, as NumPy arrays (weights first)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        def loss_of(trainable_values, x):
            results, _ = layer.stateless_call(
                trainable_values, [], x, mask=mask
            )
            return loss(*results)

        values = [v.value for v in layer.trainable_variables]
        weight_grads, x_grad = jax.grad(loss_of, argnums=(0, 1))(values, x)
        return [np.asarray(g) for g in weight_grads] + [np.asarray(x_grad)]
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss(*layer(x, mask=mask))
        grads = tape.gradient(value, [*layer.trainable_variables, x])
        return [np.asarray(g) for g in grads]
    if backend == "torch":
        import torch

        x = torch.tensor(x, requires_grad=True)
        variables = [v.value for v in layer.trainable_variables]
        value = loss(*layer(x, mask=mask))
        grads = torch.autograd.grad(value, [*variables, x])
        return [g.detach().cpu().numpy() for g in grads]
    raise NotImplementedError(f"No gradients on the {backend} backend.")


def assert_gradients_close(got, expected, tolerance):
    """Each gradient to `tolerance` relative to its largest entry: a
    gradient sums terms of either sign, so its rounding error scales with
    the largest of its entries, not with each one."""
    assert len(got) == len(expected)
    for got_grad, expected_grad in zip(got, expected):
        scale = max(1.0, float(np.abs(expected_grad).max()))
        np.testing.assert_allclose(
            got_grad, expected_grad, rtol=tolerance, atol=tolerance * scale
        )
