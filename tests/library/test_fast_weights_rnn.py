"""FastWeightsRNNCell and FastWeightsRNN against a NumPy reference."""

import io
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import ops
from reference import cell_arguments
from reference import numpy_fast_weights

from keras_fastweights import FastWeightsRNN
from keras_fastweights import FastWeightsRNNCell

# float32 against float64: what is left is float32 rounding.
TOLERANCE = dict(rtol=1e-5, atol=1e-5)
FEATURES, UNITS, STEPS, BATCH = 5, 6, 7, 3


def random_inputs(batch=BATCH, steps=STEPS, features=FEATURES, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, steps, features))


def randomize_weights(cell, seed=1, scale=0.5):
    """Gives every weight of the cell random values (gamma around 1)."""
    rng = np.random.default_rng(seed)
    for weight in cell.weights:
        value = rng.normal(scale=scale, size=weight.shape)
        if weight is cell.gamma:
            value = 1.0 + 0.2 * value
        weight.assign(value.astype(weight.dtype))


def built_layer(x, **kwargs):
    layer = FastWeightsRNN(
        UNITS, return_sequences=True, return_state=True, **kwargs
    )
    layer.build(x.shape)
    randomize_weights(layer.cell)
    return layer


def to_numpy(tensors):
    return [keras.ops.convert_to_numpy(t) for t in tensors]


# --- Exactness -------------------------------------------------------------


@pytest.mark.parametrize("inner_steps", [1, 2, 3])
@pytest.mark.parametrize(
    "decay_rate, fast_learning_rate",
    [(0.95, 0.5), (0.0, 0.5), (1.0, 0.5), (0.5, 0.0), (0.8, 1.5)],
)
@pytest.mark.parametrize("use_layer_norm", [True, False])
def test_matches_numpy_reference(
    inner_steps, decay_rate, fast_learning_rate, use_layer_norm
):
    x = random_inputs().astype("float32")
    cell = FastWeightsRNNCell(
        UNITS,
        decay_rate=decay_rate,
        fast_learning_rate=fast_learning_rate,
        inner_steps=inner_steps,
        use_layer_norm=use_layer_norm,
    )
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    layer.build(x.shape)
    # Without layer norm, h grows like |h|^2 per step (why the paper uses
    # it): small weights keep the comparison within float32's range.
    randomize_weights(cell, scale=0.5 if use_layer_norm else 0.1)
    outputs, h, memory = to_numpy(layer(x))

    expected, expected_h, expected_A = numpy_fast_weights(
        x, **cell_arguments(cell)
    )
    assert np.abs(expected).max() < 1e3
    np.testing.assert_allclose(outputs, expected, **TOLERANCE)
    np.testing.assert_allclose(h, expected_h, **TOLERANCE)
    # The memory state is A, flattened row-major.
    np.testing.assert_allclose(
        memory, expected_A.reshape(BATCH, UNITS * UNITS), **TOLERANCE
    )


def test_reference_would_catch_a_wrong_order_of_update():
    """The comparison has teeth: A(t) must hold h(t) before computing h(t+1).

    A cell that updated A after computing h(t+1) would differ from the
    reference by far more than the tolerance.
    """
    x = random_inputs()
    layer = built_layer(x.astype("float32"))
    kwargs = cell_arguments(layer.cell)
    outputs = to_numpy(layer(x.astype("float32")))[0]
    # Without the fast memory (η = 0) the result must be clearly different.
    no_memory, _, _ = numpy_fast_weights(
        x, **{**kwargs, "fast_learning_rate": 0.0}
    )
    assert np.abs(outputs - no_memory).max() > 1e-2


def test_tanh_activation_and_no_bias():
    x = random_inputs().astype("float32")
    layer = built_layer(x, activation="tanh", use_bias=False, inner_steps=2)
    outputs, _, _ = to_numpy(layer(x))
    expected, _, _ = numpy_fast_weights(x, **cell_arguments(layer.cell))
    assert layer.cell.bias is None
    np.testing.assert_allclose(outputs, expected, **TOLERANCE)


@pytest.mark.parametrize("update_rule", ["hebbian", "delta"])
@pytest.mark.parametrize("inner_steps", [1, 3])
def test_layer_matches_both_forms_of_the_reference(inner_steps, update_rule):
    """A(t)·h_s = η Σ λ^{t-τ} v(τ)(k(τ)ᵀh_s), v = k = h for the Hebbian
    rule: both forms, same cell result."""
    x = random_inputs().astype("float32")
    layer = built_layer(
        x, inner_steps=inner_steps, decay_rate=0.9, update_rule=update_rule
    )
    outputs, _, _ = to_numpy(layer(x))
    kwargs = cell_arguments(layer.cell)
    matrix, _, _ = numpy_fast_weights(x, form="matrix", **kwargs)
    attention, _, _ = numpy_fast_weights(x, form="attention", **kwargs)
    np.testing.assert_allclose(attention, matrix, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(outputs, attention, **TOLERANCE)


def test_cell_and_layer_agree():
    x = random_inputs().astype("float32")
    layer = built_layer(x)
    cell = FastWeightsRNNCell(UNITS)
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    rnn.build(x.shape)
    rnn.set_weights(layer.get_weights())
    for a, b in zip(to_numpy(layer(x)), to_numpy(rnn(x))):
        np.testing.assert_allclose(a, b, **TOLERANCE)


def test_default_weights_follow_the_paper():
    cell = FastWeightsRNNCell(4)
    keras.layers.RNN(cell).build((2, 3, 5))
    assert (cell.decay_rate, cell.fast_learning_rate) == (0.95, 0.5)
    assert cell.inner_steps == 1 and cell.use_layer_norm
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(cell.recurrent_kernel), 0.05 * np.eye(4)
    )
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(cell.gamma), 1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(cell.beta), 0)
    assert cell.state_size == [4, 16] and cell.output_size == 4
    h, memory = to_numpy(cell.get_initial_state(batch_size=2))
    assert h.shape == (2, 4) and memory.shape == (2, 16)
    assert not h.any() and not memory.any()


# --- Gradients ---------------------------------------------------------------


def _loss_and_gradients(layer, weights, x, projection):
    """d loss / d (weights, x), loss = Σ output·projection, on the backend."""
    backend = keras.backend.backend()

    def loss_fn(weights, x):
        output, _ = layer.stateless_call(weights, [], x)
        return ops.sum(ops.multiply(output, projection))

    if backend == "jax":
        import jax

        loss, grads = jax.value_and_grad(loss_fn, argnums=(0, 1))(weights, x)
        return loss, list(grads[0]), grads[1]
    if backend == "tensorflow":
        import tensorflow as tf

        weights = [tf.convert_to_tensor(w) for w in weights]
        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(weights + [x])
            loss = loss_fn(weights, x)
        grads = tape.gradient(loss, weights + [x])
        return loss, grads[:-1], grads[-1]
    if backend == "torch":
        import torch

        weights = [torch.tensor(w, requires_grad=True) for w in weights]
        x = torch.tensor(x, requires_grad=True)
        loss = loss_fn(weights, x)
        loss.backward()
        return loss, [w.grad for w in weights], x.grad
    raise NotImplementedError(backend)


@pytest.mark.parametrize("inner_steps", [1, 2])
def test_gradients_match_finite_differences(inner_steps, float64_backend):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 4, 3))
    layer = FastWeightsRNN(4, inner_steps=inner_steps, dtype="float64")
    layer.build(x.shape)
    randomize_weights(layer.cell)
    weights = [np.array(w) for w in layer.get_weights()]
    projection = rng.normal(size=(2, 4))

    def loss_at(weights, x):
        output, _ = layer.stateless_call(weights, [], x)
        output = keras.ops.convert_to_numpy(ops.stop_gradient(output))
        return float(np.sum(output * projection))

    _, weight_grads, input_grad = _loss_and_gradients(
        layer, weights, x, projection
    )
    analytic = [keras.ops.convert_to_numpy(g) for g in weight_grads]
    analytic.append(keras.ops.convert_to_numpy(input_grad))

    epsilon = 1e-6
    arrays = weights + [x]
    for index, array in enumerate(arrays):
        numeric = np.zeros_like(array)
        for position in np.ndindex(array.shape):
            shifted = [a.copy() for a in arrays]
            shifted[index][position] += epsilon
            up = loss_at(shifted[:-1], shifted[-1])
            shifted[index][position] -= 2 * epsilon
            down = loss_at(shifted[:-1], shifted[-1])
            numeric[position] = (up - down) / (2 * epsilon)
        np.testing.assert_allclose(analytic[index], numeric, atol=1e-6)
    assert any(np.abs(g).max() > 1e-3 for g in analytic)


# --- RNN features ------------------------------------------------------------


def masked_example():
    x = random_inputs().astype("float32")
    mask = np.ones((BATCH, STEPS), dtype=bool)
    mask[0, 5:] = False  # padding at the end
    mask[1, 2] = False  # a step skipped in the middle
    mask[2, :3] = False  # padding at the start
    return x, mask


def test_masking_keeps_state_on_masked_steps():
    x, mask = masked_example()
    layer = built_layer(x, inner_steps=2)
    outputs, h, memory = to_numpy(layer(x, mask=mask))
    expected, expected_h, expected_A = numpy_fast_weights(
        x, mask=mask, **cell_arguments(layer.cell)
    )
    np.testing.assert_allclose(h, expected_h, **TOLERANCE)
    np.testing.assert_allclose(
        memory, expected_A.reshape(BATCH, -1), **TOLERANCE
    )
    np.testing.assert_allclose(outputs, expected, **TOLERANCE)
    # A masked sequence's state equals the unpadded sequence's.
    np.testing.assert_allclose(
        h[0], to_numpy(layer(x[:1, :5]))[1][0], **TOLERANCE
    )


def test_masking_layer_in_a_model():
    x, mask = masked_example()
    x[~mask] = 0.0
    inputs = keras.Input((STEPS, FEATURES))
    layer = FastWeightsRNN(UNITS)
    outputs = layer(keras.layers.Masking(0.0)(inputs))
    model = keras.Model(inputs, outputs)
    randomize_weights(layer.cell)
    expected, expected_h, _ = numpy_fast_weights(
        x, mask=mask, **cell_arguments(layer.cell)
    )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(x)), expected_h, **TOLERANCE
    )


def test_masked_training_step():
    """Masking under fit (where matrix-shaped states failed on JAX)."""
    x, mask = masked_example()
    x[~mask] = 0.0
    model = keras.Sequential(
        [
            keras.Input((STEPS, FEATURES)),
            keras.layers.Masking(0.0),
            FastWeightsRNN(UNITS),
            keras.layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, np.ones((BATCH, 1)), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert any(
        not np.array_equal(a, b) for a, b in zip(before, model.get_weights())
    )


def test_unroll_equals_loop():
    x = random_inputs().astype("float32")
    looped = built_layer(x, inner_steps=2)
    unrolled = FastWeightsRNN(
        UNITS,
        inner_steps=2,
        unroll=True,
        return_sequences=True,
        return_state=True,
    )
    unrolled.build(x.shape)
    unrolled.set_weights(looped.get_weights())
    for a, b in zip(to_numpy(looped(x)), to_numpy(unrolled(x))):
        np.testing.assert_allclose(a, b, **TOLERANCE)
    expected, _, _ = numpy_fast_weights(x, **cell_arguments(looped.cell))
    np.testing.assert_allclose(to_numpy(unrolled(x))[0], expected, **TOLERANCE)


def test_initial_state_and_return_state():
    x = random_inputs().astype("float32")
    layer = built_layer(x)
    _, h_first, memory_first = layer(x[:, :3])
    outputs, h, memory = to_numpy(
        layer(x[:, 3:], initial_state=[h_first, memory_first])
    )
    expected, expected_h, expected_A = numpy_fast_weights(
        x, **cell_arguments(layer.cell)
    )
    np.testing.assert_allclose(outputs, expected[:, 3:], **TOLERANCE)
    np.testing.assert_allclose(h, expected_h, **TOLERANCE)
    np.testing.assert_allclose(
        memory, expected_A.reshape(BATCH, -1), **TOLERANCE
    )


def test_stateful_continues_from_the_last_batch():
    x = random_inputs().astype("float32")
    layer = FastWeightsRNN(UNITS, stateful=True, return_sequences=True)
    model = keras.Sequential([keras.Input(batch_shape=(BATCH, 3, FEATURES))])
    model.add(layer)
    randomize_weights(layer.cell)
    first = keras.ops.convert_to_numpy(model(x[:, :3]))
    second = keras.ops.convert_to_numpy(model(x[:, 3:6]))
    expected, _, _ = numpy_fast_weights(x[:, :6], **cell_arguments(layer.cell))
    np.testing.assert_allclose(first, expected[:, :3], **TOLERANCE)
    np.testing.assert_allclose(second, expected[:, 3:], **TOLERANCE)
    # The memory state is kept too, and reset_state starts over.
    memory = keras.ops.convert_to_numpy(layer.states[1])
    assert memory.shape == (BATCH, UNITS * UNITS) and memory.any()
    layer.reset_state()
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(x[:, 3:6])),
        numpy_fast_weights(x[:, 3:6], **cell_arguments(layer.cell))[0],
        **TOLERANCE,
    )


def test_bidirectional():
    x = random_inputs().astype("float32")
    layer = keras.layers.Bidirectional(
        keras.layers.RNN(FastWeightsRNNCell(UNITS))
    )
    layer.build(x.shape)
    randomize_weights(layer.forward_layer.cell, seed=1)
    randomize_weights(layer.backward_layer.cell, seed=2)
    output = keras.ops.convert_to_numpy(layer(x))
    _, forward, _ = numpy_fast_weights(
        x, **cell_arguments(layer.forward_layer.cell)
    )
    _, backward, _ = numpy_fast_weights(
        x[:, ::-1], **cell_arguments(layer.backward_layer.cell)
    )
    np.testing.assert_allclose(
        output, np.concatenate([forward, backward], axis=-1), **TOLERANCE
    )


def test_long_sequences_stay_finite():
    x = np.random.default_rng(0).normal(size=(2, 400, 3)).astype("float32")
    # The cell loop: the bound is the equations', whatever the path.
    layer = FastWeightsRNN(
        8, decay_rate=1.0, return_sequences=True, implementation="cell"
    )
    outputs = keras.ops.convert_to_numpy(layer(x))
    assert np.isfinite(outputs).all()
    # Layer norm bounds every hidden vector: |LN(v)|² = H for unit gain.
    assert np.linalg.norm(outputs, axis=-1).max() <= np.sqrt(8) + 1e-3


def test_summary_counts_parameters():
    model = keras.Sequential([keras.Input((None, 37))])
    model.add(keras.layers.RNN(FastWeightsRNNCell(64)))
    model.add(keras.layers.Dense(10))
    lines = []
    model.summary(print_fn=lambda line, **kwargs: lines.append(line))
    text = "\n".join(lines)
    # C: 37·64, W: 64·64, b, γ, β: 64 each; the dense layer: 64·10 + 10.
    expected = 37 * 64 + 64 * 64 + 3 * 64
    assert model.layers[0].count_params() == expected
    assert f"{expected:,}" in text
    assert f"{expected + 650:,}" in text


def test_quick_start_trains():
    """The README's quick start, run as written (its first Python block,
    as .ci/run runs it): the layer's model and the design card's compute
    the same function, and each trains."""
    readme = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
    with open(readme, encoding="utf-8") as file:
        text = file.read().split("## Quick start", 1)[1]
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(code, namespace)
    model, card = namespace["model"], namespace["card"]
    assert isinstance(model.layers[0], FastWeightsRNN)
    assert isinstance(card.layers[0].cell, FastWeightsRNNCell)
    x = random_inputs(batch=8, steps=5, features=37).astype("float32")
    card.set_weights(model.get_weights())
    np.testing.assert_allclose(
        ops.convert_to_numpy(card(x)),
        ops.convert_to_numpy(model(x)),
        **TOLERANCE,
    )
    for trained in (model, card):
        trained.compile(
            "adam",
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        assert np.isfinite(trained.train_on_batch(x, np.arange(8) % 10))


# --- Serialization -----------------------------------------------------------


def test_cell_config_round_trip():
    cell = FastWeightsRNNCell(
        7,
        decay_rate=0.9,
        fast_learning_rate=0.25,
        inner_steps=3,
        activation="tanh",
        use_layer_norm=False,
        layer_norm_epsilon=1e-5,
        use_bias=False,
        kernel_regularizer="l2",
        recurrent_constraint="non_neg",
        name="memory_cell",
    )
    config = cell.get_config()
    clone = FastWeightsRNNCell.from_config(config)
    assert clone.get_config() == config
    assert clone.inner_steps == 3 and clone.activation is keras.activations.tanh


def test_layer_config_round_trip_keeps_the_recurrent_initializer():
    layer = FastWeightsRNN(
        5,
        decay_rate=0.5,
        inner_steps=2,
        return_sequences=True,
        go_backwards=True,
        recurrent_initializer=keras.initializers.Identity(gain=0.3),
    )
    config = layer.get_config()
    clone = FastWeightsRNN.from_config(config)
    assert clone.get_config() == config
    assert (clone.units, clone.decay_rate, clone.inner_steps) == (5, 0.5, 2)
    assert clone.return_sequences and clone.go_backwards
    clone.build((1, 2, 3))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(clone.cell.recurrent_kernel),
        0.3 * np.eye(5),
    )


@pytest.mark.parametrize("use_layer", ["FastWeightsRNN", "RNN(cell)"])
def test_saved_model_predicts_identically_in_a_fresh_process(
    tmp_path, use_layer
):
    x = random_inputs(steps=4).astype("float32")
    if use_layer == "FastWeightsRNN":
        recurrent = FastWeightsRNN(UNITS, inner_steps=2)
    else:
        recurrent = keras.layers.RNN(FastWeightsRNNCell(UNITS, inner_steps=2))
    model = keras.Sequential(
        [keras.Input((None, FEATURES)), recurrent, keras.layers.Dense(2)]
    )
    randomize_weights(recurrent.cell)
    path = tmp_path / "model.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent(
        f"""
        import numpy as np, keras
        import keras_fastweights  # registers the serializable classes
        model = keras.saving.load_model({str(path)!r})
        x = np.load({str(tmp_path / "x.npy")!r})
        np.save({str(tmp_path / "y.npy")!r},
                keras.ops.convert_to_numpy(model.predict(x, verbose=0)))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, env=os.environ)
    np.testing.assert_array_equal(
        np.load(tmp_path / "y.npy"), model.predict(x, verbose=0)
    )


# --- Bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"units": 0}, ValueError, "units=0"),
        ({"units": -3}, ValueError, "units=-3"),
        ({"units": 2.5}, TypeError, "units=2.5"),
        ({"units": "8"}, TypeError, "units='8'"),
        ({"units": True}, TypeError, "units=True"),
        ({"units": 4, "decay_rate": 1.5}, ValueError, "decay_rate=1.5"),
        ({"units": 4, "decay_rate": -0.1}, ValueError, "decay_rate=-0.1"),
        ({"units": 4, "decay_rate": "high"}, TypeError, "decay_rate='high'"),
        (
            {"units": 4, "fast_learning_rate": -0.5},
            ValueError,
            "fast_learning_rate=-0.5",
        ),
        ({"units": 4, "inner_steps": 0}, ValueError, "inner_steps=0"),
        ({"units": 4, "inner_steps": 1.5}, TypeError, "inner_steps=1.5"),
        ({"units": 4, "activation": "nope"}, ValueError, "activation='nope'"),
        (
            {"units": 4, "layer_norm_epsilon": -1.0},
            ValueError,
            "layer_norm_epsilon=-1.0",
        ),
    ],
)
@pytest.mark.parametrize("cls", [FastWeightsRNNCell, FastWeightsRNN])
def test_bad_arguments_name_the_value(cls, kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        cls(**kwargs)


def test_decay_rate_nan_is_rejected():
    with pytest.raises(ValueError, match="decay_rate=nan"):
        FastWeightsRNNCell(4, decay_rate=float("nan"))


@pytest.mark.parametrize("shape", [(2, 5), (2, 3, 4, 5)])
def test_wrong_input_rank_is_a_clear_error(shape):
    layer = keras.layers.RNN(FastWeightsRNNCell(4))
    with pytest.raises(ValueError, match=r"\(batch, timesteps, features\)"):
        layer(np.zeros(shape, "float32"))


def test_unknown_feature_dimension_is_a_clear_error():
    with pytest.raises(ValueError, match="feature"):
        FastWeightsRNN(4)(keras.Input((3, None)))


def test_summary_text_names_the_layer():
    model = keras.Sequential(
        [keras.Input((None, 3)), FastWeightsRNN(2, name="fast_memory")]
    )
    out = io.StringIO()
    model.summary(print_fn=lambda line, **kwargs: out.write(line))
    assert "fast_memory" in out.getvalue()
    assert "FastWeightsRNN" in out.getvalue()
