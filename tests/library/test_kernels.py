"""Each backend form of `keras_fastweights.layers.kernels` against the
NumPy reference beside it, which takes the same arguments."""

import keras
import numpy as np
import pytest
from keras import ops

from keras_fastweights.layers import kernels

BATCH, STEPS, UNITS = 3, 5, 4


def to_numpy(x):
    return ops.convert_to_numpy(x).astype("float64")


def random(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matmul(dtype, float64_backend):
    x, kernel = random(BATCH, STEPS, 3), random(3, UNITS, seed=1)
    got = kernels.matmul(
        ops.convert_to_tensor(x, dtype), ops.convert_to_tensor(kernel, dtype)
    )
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    # float64 to the last digits (Keras's torch matmul rounds to float32).
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(
        to_numpy(got),
        kernels.matmul_numpy(x, kernel),
        rtol=tolerance,
        atol=tolerance,
    )


@pytest.mark.parametrize(
    "form",
    [
        kernels.read_out,
        kernels.read_out_matmul,
        kernels.read_out_products,
        kernels.read_out_einsum,
    ],
)
@pytest.mark.parametrize("per_example_weights", [False, True])
def test_read_out(form, per_example_weights):
    keys = random(BATCH, STEPS, UNITS)
    values = random(BATCH, STEPS, UNITS, seed=1)
    query = random(BATCH, UNITS, seed=2)
    shape = (BATCH, STEPS) if per_example_weights else (STEPS,)
    weights = random(*shape, seed=3)
    got = form(
        *(
            ops.convert_to_tensor(x, "float32")
            for x in (keys, weights, query, values)
        )
    )
    expected = kernels.read_out_numpy(keys, weights, query, values)
    np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "dtype, tolerance",
    [("float32", 1e-5), ("float64", 1e-12), ("float16", 1e-2)],
)
def test_layer_norm(dtype, tolerance, float64_backend):
    # Not centred and not of unit scale, so that both steps matter.
    x = 3.0 + 2.0 * random(BATCH, UNITS)
    gamma, beta = random(UNITS, seed=1), random(UNITS, seed=2)
    got = kernels.layer_norm(
        ops.convert_to_tensor(x, dtype),
        # In x's dtype, as a layer's autocast reads them in mixed precision.
        ops.convert_to_tensor(gamma, dtype),
        ops.convert_to_tensor(beta, dtype),
        1e-3,
    )
    assert keras.backend.standardize_dtype(got.dtype) == dtype
    expected = kernels.layer_norm_numpy(x, gamma, beta, 1e-3)
    np.testing.assert_allclose(
        to_numpy(got), expected, rtol=tolerance, atol=tolerance
    )


@pytest.mark.parametrize("with_tuple", [False, True])
def test_chunk_loop(with_tuple):
    chunks = 3
    drive = random(chunks, BATCH, STEPS, UNITS)
    scale = random(chunks, BATCH, STEPS, UNITS, seed=1)
    xs = (drive, scale) if with_tuple else drive

    def step(h, memory, window, sum=ops.sum):
        drive, scale = window if with_tuple else (window, 1.0)
        outputs = drive * scale + h[:, None]
        h = sum(outputs, axis=1) * 0.5
        return h, memory * 0.9 + h, outputs

    h, memory = random(BATCH, UNITS, seed=2), random(BATCH, UNITS, seed=3)
    tensors = keras.tree.map_structure(
        lambda x: ops.convert_to_tensor(x, "float32"), (h, memory, xs)
    )
    got = kernels.chunk_loop(step, *tensors, chunks)
    expected = kernels.chunk_loop_numpy(
        lambda *args: step(*args, sum=np.sum), h, memory, xs, chunks
    )
    for got_tensor, expected_array in zip(got, expected, strict=True):
        np.testing.assert_allclose(
            to_numpy(got_tensor), expected_array, rtol=1e-5, atol=1e-5
        )
