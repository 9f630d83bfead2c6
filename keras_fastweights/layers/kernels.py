"""The layers' operations whose form depends on the Keras backend.

Four operations are written differently on some backend, for speed or for
exactness; each has its NumPy reference beside it, with the same signature,
so that a test can hold every backend's form to it
(`tests/library/test_kernels.py`):

- `matmul(x, kernel)`: `x @ kernel` (einsum in float64, which Keras's torch
  `matmul` computes in float32);
- `read_out(keys, weights, query, values)`: the attention read-out of the
  fast memory (eq. 3), two contractions in each backend's fastest form;
- `layer_norm(x, gamma, beta, epsilon)`: one fused op on torch, sums in at
  least float32 elsewhere;
- `chunk_loop(step, h, memory, xs, chunks)`: the loop over the chunks of a
  sequence, `keras.ops.scan` except on TensorFlow, where XLA needs a bounded
  `keras.ops.while_loop`.

The timings behind each choice are in benchmarks/README.md.
"""

import keras
import numpy as np
from keras import ops


def matmul(x, kernel):
    """`x @ kernel` over the last axis of `x`.

    `ops.matmul`, which TensorFlow runs several times faster than
    `ops.einsum` at these sizes, except in float64, which Keras's torch
    `matmul` computes in float32.
    """
    if keras.backend.standardize_dtype(x.dtype) == "float64":
        return ops.einsum("...i,ij->...j", x, kernel)
    return ops.matmul(x, kernel)


def matmul_numpy(x, kernel):
    """`matmul`'s reference."""
    return np.matmul(x, kernel)


def read_out_matmul(keys, weights, query, values):
    """`Σ_τ weights[τ] values[τ] (keys[τ]ᵀ query)` for `keys` and `values`
    `(batch, steps, units)`, `weights` `(steps,)` or `(batch, steps)` and
    `query` `(batch, units)`, as two batched `ops.matmul`."""
    scores = ops.matmul(keys, ops.expand_dims(query, -1))
    scores = scores * ops.expand_dims(weights, -1)
    return ops.squeeze(ops.matmul(ops.transpose(scores, (0, 2, 1)), values), 1)


def read_out_products(keys, weights, query, values):
    """The same, as elementwise products and `ops.sum`."""
    scores = ops.sum(keys * ops.expand_dims(query, 1), axis=-1)
    scores = ops.expand_dims(scores * weights, -1)
    return ops.sum(scores * values, axis=1)


def read_out_einsum(keys, weights, query, values):
    """The same, as two `ops.einsum`."""
    scores = ops.einsum("bti,bi->bt", keys, query)
    return ops.einsum("bt,bti->bi", scores * weights, values)


# Each backend's fastest form at these sizes (benchmarks/contractions.py):
# TensorFlow's oneDNN einsum kernel is slow on small operands, torch runs
# eagerly, op by op, and XLA fuses JAX's einsum. (Keras's torch `matmul`
# would also compute float64 in float32.)
READ_OUT_BY_BACKEND = {
    "tensorflow": read_out_matmul,
    "torch": read_out_products,
}


def read_out(keys, weights, query, values):
    """`Σ_τ weights[τ] values[τ] (keys[τ]ᵀ query)`, the read-out of eq. 3,
    in the current backend's form: `A(t) h_s` of a memory
    `A(t) = Σ_τ weights[τ] values[τ] keys[τ]ᵀ`."""
    form = READ_OUT_BY_BACKEND.get(keras.backend.backend(), read_out_einsum)
    return form(keys, weights, query, values)


def read_out_numpy(keys, weights, query, values):
    """`read_out`'s reference."""
    scores = np.einsum("bti,bi->bt", keys, query)
    return np.einsum("bt,bti->bi", scores * weights, values)


def layer_norm(x, gamma, beta, epsilon):
    """`gamma ⊙ (x - mean) / sqrt(variance + epsilon) + beta` over the last
    axis of `x`, each example alone (not over the batch)."""
    dtype = keras.backend.standardize_dtype(x.dtype)
    if keras.backend.backend() == "torch" and dtype != "float64":
        # One torch.nn.functional.layer_norm, in float32, instead of about
        # 13 ops forward and 20 backward. (Keras's torch
        # layer_normalization would compute float64 in float32: float64
        # takes the sums below.)
        return ops.layer_normalization(x, gamma, beta, epsilon=epsilon)
    # Statistics in at least float32 under mixed precision, as
    # keras.layers.LayerNormalization does.
    stats_dtype = "float32" if dtype in ("float16", "bfloat16") else dtype
    # Sums rather than ops.mean/ops.var, which compute in float32 on JAX
    # even for float64 inputs.
    size = x.shape[-1]
    x = ops.cast(x, stats_dtype)
    mean = ops.sum(x, axis=-1, keepdims=True) / size
    centered = x - mean
    variance = ops.sum(ops.square(centered), axis=-1, keepdims=True) / size
    x = centered * ops.rsqrt(variance + epsilon)
    x = x * ops.cast(gamma, stats_dtype) + ops.cast(beta, stats_dtype)
    return ops.cast(x, dtype)


def layer_norm_numpy(x, gamma, beta, epsilon):
    """`layer_norm`'s reference."""
    mean = x.mean(axis=-1, keepdims=True)
    variance = x.var(axis=-1, keepdims=True)
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta


def chunk_loop(step, h, memory, xs, chunks):
    """Runs `step(h, memory, window) -> (h, memory, outputs)` over the
    `chunks` windows of `xs` (a tensor or a tuple of tensors, chunks first),
    carrying `h` and `memory`; each chunk's `outputs` has the shape of its
    window of `xs` (of `xs[0]` for a tuple).

    Returns the last `h` and `memory`, and the outputs of every chunk,
    stacked (chunks first).

    `keras.ops.scan`, except on TensorFlow: Keras's TensorFlow `scan` sets
    no `maximum_iterations`, and without one XLA cannot compile the loop's
    gradient (`jit_compile=True` fails with "XLA compilation requires a
    fixed tensor list size"). There the loop is a `keras.ops.while_loop`
    with `maximum_iterations`, each chunk's outputs written into a buffer:
    the same operations on the same values as the scan.
    """
    first = xs[0] if isinstance(xs, tuple) else xs
    if keras.backend.backend() != "tensorflow":

        def scan_step(carry, window):
            h, memory, _ = carry
            carry = step(h, memory, window)
            # Keras's scan takes per-step outputs of any structure, but
            # its TensorFlow form those of the carry's: one form for all.
            return carry, carry

        no_outputs = ops.zeros_like(first[0])
        (h, memory, _), (_, _, outputs) = ops.scan(
            scan_step, (h, memory, no_outputs), xs
        )
        return h, memory, outputs

    def body(i, h, memory, buffer):
        window = keras.tree.map_structure(lambda x: ops.take(x, i, axis=0), xs)
        h, memory, outputs = step(h, memory, window)
        # scatter_update, not slice_update, whose TensorFlow op
        # (XlaDynamicUpdateSlice) has no gradient.
        buffer = ops.scatter_update(
            buffer, ops.reshape(i, (1, 1)), ops.expand_dims(outputs, 0)
        )
        return i + 1, h, memory, buffer

    _, h, memory, buffer = ops.while_loop(
        lambda i, *_: i < chunks,
        body,
        (0, h, memory, ops.zeros_like(first)),
        maximum_iterations=chunks,
    )
    return h, memory, buffer


def chunk_loop_numpy(step, h, memory, xs, chunks):
    """`chunk_loop`'s reference: a Python loop."""
    outputs = []
    for i in range(chunks):
        window = keras.tree.map_structure(lambda x: x[i], xs)
        h, memory, output = step(h, memory, window)
        outputs.append(output)
    return h, memory, np.stack(outputs)
