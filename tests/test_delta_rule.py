"""The delta rule as the fast memory's update (`update_rule="delta"`).

`A(t) = λ A(t-1) (I - η k kᵀ) + η h kᵀ` with `k = h / sqrt(hᵀh + 1e-6)`.
The paths of `FastWeightsRNN` are held to the NumPy reference in
test_implementations.py and test_dropout.py (their "delta" case); here:
the cell in `keras.layers.RNN`, an initial state, gradients against
float64 finite differences of the reference, the arguments and saving.
"""

import keras
import numpy as np
import pytest
from keras import ops
from reference import cell_arguments
from reference import numpy_fast_weights
from test_implementations import BATCH
from test_implementations import FEATURES
from test_implementations import TOLERANCE
from test_implementations import UNITS
from test_implementations import gradients
from test_implementations import make_inputs
from test_implementations import make_layer

from keras_fastweights import FastWeightsRNN
from keras_fastweights import FastWeightsRNNCell


def test_cell_in_keras_rnn_matches_reference():
    keras.utils.set_random_seed(0)
    cell = FastWeightsRNNCell(
        UNITS,
        update_rule="delta",
        inner_steps=2,
        recurrent_initializer="orthogonal",
        bias_initializer="random_normal",
    )
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    x = make_inputs(13)
    outputs, h, memory = rnn(x)
    expected = numpy_fast_weights(x, **cell_arguments(cell))
    for got, want in zip((outputs, h, memory), expected):
        np.testing.assert_allclose(
            ops.convert_to_numpy(got).reshape(want.shape), want, **TOLERANCE
        )


@pytest.mark.parametrize("update_rule", ["hebbian", "delta"])
def test_initial_state_matches_reference(update_rule):
    layer = make_layer("cell", update_rule=update_rule)
    rng = np.random.default_rng(1)
    initial_state = [
        rng.normal(size=(BATCH, UNITS)).astype("float32"),
        0.1 * rng.normal(size=(BATCH, UNITS * UNITS)).astype("float32"),
    ]
    x = make_inputs(9)
    got = layer(x, initial_state=initial_state)
    expected = numpy_fast_weights(
        x, initial_state=initial_state, **cell_arguments(layer.cell)
    )
    for got_tensor, want in zip(got, expected):
        np.testing.assert_allclose(
            ops.convert_to_numpy(got_tensor).reshape(want.shape),
            want,
            **TOLERANCE,
        )


def reference_loss(x, arguments, projection):
    """The loss of `test_implementations.gradients`, in NumPy."""
    outputs, h, memory = numpy_fast_weights(x, **arguments)
    return (
        np.sin(outputs).sum()
        + (h * h).sum()
        + (memory.reshape(len(x), -1) * projection).sum()
    )


def finite_differences(function, value, step=1e-6):
    """Central differences of `function` at every entry of `value`."""
    grad = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        saved = value[index]
        value[index] = saved + step
        up = function()
        value[index] = saved - step
        down = function()
        value[index] = saved
        grad[index] = (up - down) / (2 * step)
    return grad


@pytest.mark.parametrize("update_rule", ["hebbian", "delta"])
def test_gradients_match_finite_differences(update_rule, float64_backend):
    # In float64 the backend's gradient of the layer (every weight and the
    # inputs) must agree with central differences of the independent
    # reference to the differences' own error (~1e-8).
    keras.config.set_floatx("float64")
    layer = make_layer(
        "auto", update_rule=update_rule, inner_steps=2, dtype="float64"
    )
    x = make_inputs(7).astype("float64")
    got = gradients(layer, x)
    arguments = cell_arguments(layer.cell)
    projection = np.linspace(-1.0, 1.0, UNITS * UNITS)
    names = ["kernel", "recurrent_kernel", "bias", "gamma", "beta"]
    assert len(got) == len(names) + 1
    for name, grad in zip(names, got):
        expected = finite_differences(
            lambda: reference_loss(x, arguments, projection), arguments[name]
        )
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)
    expected = finite_differences(
        lambda: reference_loss(x, arguments, projection), x
    )
    np.testing.assert_allclose(got[-1], expected, rtol=1e-5, atol=1e-6)


def test_auto_runs_the_cell_loop():
    layer = make_layer("auto", update_rule="delta")
    assert layer._resolve_implementation(make_inputs(11)) == "cell"
    assert layer._resolve_implementation(make_inputs(64)) == "cell"


def test_default_fast_learning_rate_depends_on_the_rule():
    assert FastWeightsRNNCell(4).fast_learning_rate == 0.5
    assert FastWeightsRNNCell(4, update_rule="delta").fast_learning_rate == 1
    layer = FastWeightsRNN(4, update_rule="delta", fast_learning_rate=0.3)
    assert layer.fast_learning_rate == 0.3
    assert layer.update_rule == "delta"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"update_rule": "oja"}, ValueError, "update_rule='oja'"),
        ({"update_rule": None}, ValueError, "update_rule=None"),
        (
            {"update_rule": "delta", "fast_learning_rate": 1.5},
            ValueError,
            "fast_learning_rate=1.5",
        ),
        (
            {"update_rule": "delta", "fast_learning_rate": -0.1},
            ValueError,
            "fast_learning_rate=-0.1",
        ),
    ],
)
def test_bad_arguments_name_the_value(kwargs, error, message):
    with pytest.raises(error, match=message):
        FastWeightsRNNCell(4, **kwargs)
    with pytest.raises(error, match=message):
        FastWeightsRNN(4, **kwargs)


def test_hebbian_rule_takes_any_non_negative_fast_learning_rate():
    assert FastWeightsRNNCell(4, fast_learning_rate=1.5).fast_learning_rate
    with pytest.raises(ValueError, match="fast_learning_rate=-1.0"):
        FastWeightsRNNCell(4, fast_learning_rate=-1.0)


@pytest.mark.parametrize("implementation", ["attention", "chunked"])
def test_attention_forms_refuse_the_delta_rule(implementation):
    with pytest.raises(ValueError, match=f"implementation='{implementation}'"):
        FastWeightsRNN(4, update_rule="delta", implementation=implementation)


def test_config_and_saved_model_keep_the_rule(tmp_path):
    cell = FastWeightsRNNCell(4, update_rule="delta", fast_learning_rate=0.7)
    copy = FastWeightsRNNCell.from_config(cell.get_config())
    assert (copy.update_rule, copy.fast_learning_rate) == ("delta", 0.7)
    inputs = keras.Input((11, FEATURES))
    outputs = FastWeightsRNN(UNITS, update_rule="delta")(inputs)
    model = keras.Model(inputs, outputs)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layers[-1].update_rule == "delta"
    assert loaded.layers[-1].fast_learning_rate == 1.0
    x = make_inputs(11)
    np.testing.assert_allclose(
        ops.convert_to_numpy(loaded(x)),
        ops.convert_to_numpy(model(x)),
        **TOLERANCE,
    )
