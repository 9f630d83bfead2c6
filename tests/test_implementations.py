"""Every implementation path of FastWeightsRNN against the NumPy reference.

The paths ("cell", "attention", "chunked", and "auto", which picks one)
compute the same function; these tests hold each to the reference's result
to float32 rounding, forwards and backwards, on the current backend.
"""

import keras
import numpy as np
import pytest
from keras import ops
from reference import numpy_fast_weights

from keras_fastweights import FastWeightsRNN
from keras_fastweights.layers.fast_weights_rnn import IMPLEMENTATIONS

# float32 rounding, amplified by layer normalization over a few units and
# by the recurrence; an error in the recurrence is orders larger.
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
BATCH, FEATURES, UNITS = 3, 5, 6
ACTIVATIONS = {"relu": lambda x: np.maximum(x, 0.0), "tanh": np.tanh}


def make_inputs(timesteps, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(BATCH, timesteps, FEATURES)).astype("float32")


def make_layer(implementation, batch_size=None, **kwargs):
    # Fixed weights: the sensitivity of the recurrence to rounding varies
    # with them, and a test should not depend on the tests run before it.
    keras.utils.set_random_seed(0)
    kwargs.setdefault("recurrent_initializer", "orthogonal")
    kwargs.setdefault("bias_initializer", "random_normal")
    layer = FastWeightsRNN(
        UNITS,
        implementation=implementation,
        return_sequences=True,
        return_state=True,
        **kwargs,
    )
    layer.build((batch_size, None, FEATURES))
    return layer


def copy_weights(source, target):
    for from_variable, to_variable in zip(source.weights, target.weights):
        to_variable.assign(from_variable)


def reference(layer, x, mask=None):
    cell = layer.cell
    weights = [
        None if w is None else ops.convert_to_numpy(w)
        for w in (cell.kernel, cell.recurrent_kernel, cell.bias)
    ]
    gamma = beta = None
    if cell.use_layer_norm:
        gamma = ops.convert_to_numpy(cell.gamma)
        beta = ops.convert_to_numpy(cell.beta)
    return numpy_fast_weights(
        x,
        *weights,
        gamma=gamma,
        beta=beta,
        decay_rate=cell.decay_rate,
        fast_learning_rate=cell.fast_learning_rate,
        inner_steps=cell.inner_steps,
        activation=ACTIVATIONS[cell.activation.__name__],
        layer_norm_epsilon=cell.layer_norm_epsilon,
        mask=mask,
    )


def assert_matches_reference(layer, x, mask=None, tolerance=TOLERANCE):
    """Checks outputs, last h and last A; returns the layer's outputs."""
    outputs, h, memory = layer(x, mask=mask)
    expected_outputs, expected_h, expected_memory = reference(layer, x, mask)
    np.testing.assert_allclose(
        ops.convert_to_numpy(outputs), expected_outputs, **tolerance
    )
    np.testing.assert_allclose(ops.convert_to_numpy(h), expected_h, **tolerance)
    np.testing.assert_allclose(
        ops.convert_to_numpy(memory).reshape(expected_memory.shape),
        expected_memory,
        **tolerance,
    )
    return outputs


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize(
    "timesteps, inner_steps",
    # 64 and 75 steps: two chunks of 32 for "chunked", exactly and with a
    # rest of 11.
    [(1, 1), (11, 1), (11, 3), (40, 1), (64, 1), (75, 2)],
)
def test_matches_reference(implementation, timesteps, inner_steps):
    layer = make_layer(implementation, inner_steps=inner_steps)
    assert_matches_reference(layer, make_inputs(timesteps))


@pytest.fixture
def float64(float64_backend):
    """Computes in float64 (conftest restores floatx afterwards)."""
    keras.config.set_floatx("float64")


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_matches_reference_in_float64(implementation, float64):
    # Long sequences with several inner steps amplify float32 rounding
    # (layer normalization of a nearly constant vector); in float64 every
    # path must agree with the reference almost to the last digit.
    layer = make_layer(implementation, inner_steps=3, dtype="float64")
    x = make_inputs(40).astype("float64")
    outputs = assert_matches_reference(
        layer, x, tolerance={"rtol": 1e-9, "atol": 1e-9}
    )
    assert keras.backend.standardize_dtype(outputs.dtype) == "float64"


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize(
    "options",
    [
        {"decay_rate": 0.5, "fast_learning_rate": 0.9},
        {
            # tanh keeps the recurrence without layer normalization bounded.
            "use_layer_norm": False,
            "use_bias": False,
            "activation": "tanh",
        },
        {"decay_rate": 0.0},
        {"decay_rate": 1.0, "fast_learning_rate": 0.0},
    ],
)
def test_matches_reference_with_options(implementation, options):
    layer = make_layer(implementation, **options)
    assert_matches_reference(layer, make_inputs(17))


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_go_backwards_processes_the_reversed_sequence(implementation):
    layer = make_layer(implementation, go_backwards=True)
    x = make_inputs(23)
    outputs, h, memory = layer(x)
    expected_outputs, expected_h, expected_memory = reference(layer, x[:, ::-1])
    np.testing.assert_allclose(
        ops.convert_to_numpy(outputs), expected_outputs, **TOLERANCE
    )
    np.testing.assert_allclose(ops.convert_to_numpy(h), expected_h, **TOLERANCE)
    np.testing.assert_allclose(
        ops.convert_to_numpy(memory).reshape(expected_memory.shape),
        expected_memory,
        **TOLERANCE,
    )


def padding_mask(timesteps):
    """Right padding past the first chunk of 32, a hole, an empty row."""
    mask = np.ones((BATCH, timesteps), bool)
    mask[0, timesteps // 3 :] = False
    mask[1, 5:9] = False
    mask[2, :] = False
    return mask


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("timesteps", [11, 40])
def test_masked_steps_keep_h_and_memory(implementation, timesteps):
    layer = make_layer(implementation)
    mask = padding_mask(timesteps)
    assert_matches_reference(layer, make_inputs(timesteps), mask)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_masked_backwards_matches_cell(implementation):
    cell_layer = make_layer("cell", go_backwards=True)
    layer = make_layer(implementation, go_backwards=True)
    copy_weights(cell_layer, layer)
    x, mask = make_inputs(40), padding_mask(40)
    for got, expected in zip(layer(x, mask=mask), cell_layer(x, mask=mask)):
        np.testing.assert_allclose(
            ops.convert_to_numpy(got),
            ops.convert_to_numpy(expected),
            **TOLERANCE,
        )


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("timesteps", [11, 70])
def test_initial_state_matches_cell(implementation, timesteps):
    cell_layer = make_layer("cell")
    layer = make_layer(implementation)
    copy_weights(cell_layer, layer)
    x = make_inputs(timesteps)
    rng = np.random.default_rng(1)
    initial_state = [
        rng.normal(size=(BATCH, UNITS)).astype("float32"),
        rng.normal(size=(BATCH, UNITS * UNITS)).astype("float32") * 0.1,
    ]
    got = layer(x, initial_state=initial_state)
    expected = cell_layer(x, initial_state=initial_state)
    for got_tensor, expected_tensor in zip(got, expected):
        np.testing.assert_allclose(
            ops.convert_to_numpy(got_tensor),
            ops.convert_to_numpy(expected_tensor),
            **TOLERANCE,
        )


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("timesteps", [5, 40])
def test_stateful_carries_h_and_memory_to_the_next_batch(
    implementation, timesteps
):
    layer = make_layer(implementation, batch_size=BATCH, stateful=True)
    x = make_inputs(2 * timesteps)
    first = layer(x[:, :timesteps])
    second = layer(x[:, timesteps:])
    expected_outputs, expected_h, expected_memory = reference(layer, x)
    got = ops.concatenate([first[0], second[0]], axis=1)
    np.testing.assert_allclose(
        ops.convert_to_numpy(got), expected_outputs, **TOLERANCE
    )
    for variable, expected in zip(layer.states, [expected_h, expected_memory]):
        np.testing.assert_allclose(
            ops.convert_to_numpy(variable),
            expected.reshape(BATCH, -1),
            **TOLERANCE,
        )


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_bidirectional_with_mask_matches_cell(implementation):
    x, mask = make_inputs(40), padding_mask(40)
    results = []
    for path in ("cell", implementation):
        keras.utils.set_random_seed(0)
        layer = keras.layers.Bidirectional(
            FastWeightsRNN(UNITS, implementation=path, return_sequences=True)
        )
        results.append(ops.convert_to_numpy(layer(x, mask=mask)))
    np.testing.assert_allclose(results[1], results[0], **TOLERANCE)


def gradients(layer, x):
    """Gradients of a scalar function of the outputs and last states with
    respect to the layer's weights and its inputs, on any backend."""
    backend = keras.backend.backend()
    projection = np.linspace(-1.0, 1.0, UNITS * UNITS).astype(x.dtype)

    def loss(outputs, h, memory):
        return (
            ops.sum(ops.sin(outputs))
            + ops.sum(h * h)
            + ops.sum(ops.multiply(memory, projection))
        )

    if backend == "jax":
        import jax

        def loss_of(trainable_values, x):
            (outputs, h, memory), _ = layer.stateless_call(
                trainable_values, [], x
            )
            return loss(outputs, h, memory)

        values = [v.value for v in layer.trainable_variables]
        weight_grads, x_grad = jax.grad(loss_of, argnums=(0, 1))(values, x)
        return [np.asarray(g) for g in weight_grads] + [np.asarray(x_grad)]
    if backend == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = loss(*layer(x))
        grads = tape.gradient(value, [*layer.trainable_variables, x])
        return [np.asarray(g) for g in grads]
    if backend == "torch":
        import torch

        x = torch.tensor(x, requires_grad=True)
        variables = [v.value for v in layer.trainable_variables]
        value = loss(*layer(x))
        grads = torch.autograd.grad(value, [*variables, x])
        return [g.detach().cpu().numpy() for g in grads]
    raise NotImplementedError(f"No gradients on the {backend} backend.")


# The paths whose gradients are compared with the cell path's: "auto" runs
# one of them (test_auto_chooses_path), so it would repeat a case at the
# cost of another compilation.
OTHER_PATHS = ("attention", "chunked")


@pytest.mark.parametrize("implementation", OTHER_PATHS)
@pytest.mark.parametrize("timesteps, inner_steps", [(11, 2), (40, 1)])
def test_gradients_equal_the_cell_path(implementation, timesteps, inner_steps):
    assert_gradients_equal_the_cell_path(
        implementation, make_inputs(timesteps), 1e-4, inner_steps=inner_steps
    )


def test_gradients_equal_the_cell_path_in_float64(float64):
    # 75 steps: two chunks of "chunked" and a rest. The gradients grow to
    # ~10³ over so many steps, and float32 rounding to ~10⁻³ of them, so
    # this is checked in float64, where every path agrees to ~10⁻¹⁴. (The
    # attention path has no chunks; its gradients are checked above.)
    assert_gradients_equal_the_cell_path(
        "chunked", make_inputs(75).astype("float64"), 1e-9, dtype="float64"
    )


def assert_gradients_equal_the_cell_path(implementation, x, tolerance, **kw):
    cell_layer = make_layer("cell", **kw)
    layer = make_layer(implementation, **kw)
    copy_weights(cell_layer, layer)
    expected = gradients(cell_layer, x)
    got = gradients(layer, x)
    assert len(got) == len(expected)
    for got_grad, expected_grad in zip(got, expected):
        # A gradient sums terms of either sign: its rounding error scales
        # with the largest of its entries, not with each one.
        scale = max(1.0, float(np.abs(expected_grad).max()))
        np.testing.assert_allclose(
            got_grad, expected_grad, rtol=tolerance, atol=tolerance * scale
        )


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_mixed_precision_is_close_to_float32(implementation):
    x = make_inputs(11)
    float32_layer = make_layer(implementation)
    keras.config.set_dtype_policy("mixed_float16")
    layer = make_layer(implementation)
    copy_weights(float32_layer, layer)
    outputs = layer(x)[0]
    assert keras.backend.standardize_dtype(outputs.dtype) == "float16"
    np.testing.assert_allclose(
        ops.convert_to_numpy(outputs).astype("float32"),
        ops.convert_to_numpy(float32_layer(x)[0]),
        rtol=2e-2,
        atol=2e-2,
    )


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_implementation_survives_save_and_load(implementation, tmp_path):
    inputs = keras.Input((11, FEATURES))
    outputs = FastWeightsRNN(UNITS, implementation=implementation)(inputs)
    model = keras.Model(inputs, outputs)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layers[-1].implementation == implementation
    x = make_inputs(11)
    np.testing.assert_allclose(
        ops.convert_to_numpy(loaded(x)),
        ops.convert_to_numpy(model(x)),
        **TOLERANCE,
    )


def test_rejects_unknown_implementation():
    with pytest.raises(ValueError, match="implementation='fast'"):
        FastWeightsRNN(UNITS, implementation="fast")


@pytest.mark.parametrize(
    "timesteps, units, mask, expected",
    [
        (11, 50, False, "attention"),
        (32, 8, False, "attention"),
        (11, 50, True, "cell"),
        (33, 8, False, "chunked"),
        (1000, 256, False, "chunked"),
        (1000, 256, True, "cell"),
        (None, 256, False, "cell"),
    ],
)
def test_auto_chooses_path(timesteps, units, mask, expected):
    layer = FastWeightsRNN(units)
    sequences = keras.KerasTensor((2, timesteps, 3))
    mask = keras.KerasTensor((2, timesteps), "bool") if mask else None
    assert layer._resolve_implementation(sequences, mask) == expected
