"""Tests of keras_fastweights.inspection against a NumPy recomputation."""

import keras
import numpy as np
import pytest
from keras import ops
from reference import cell_arguments
from reference import numpy_fast_weights

import keras_fastweights
from keras_fastweights import FastWeightsRNN
from keras_fastweights import FastWeightsRNNCell
from keras_fastweights.inspection import fast_weights_attention
from keras_fastweights.inspection import replay
from keras_fastweights.layers.fast_weights_rnn_cell import UPDATE_RULES

VOCABULARY = 37
UNITS = 6
TIMESTEPS = 9


def retrieval_model(cell):
    """The shape of the paper's associative-retrieval model."""
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(VOCABULARY, 12, name="embedding"),
            keras.layers.RNN(cell, name="recurrent"),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


def randomize(cell, rng):
    """Gives every weight (bias, gamma, beta included) a random value, so
    that a weight the helper forgot would change the result."""
    for weight in cell.weights:
        weight.assign(rng.normal(scale=0.5, size=weight.shape))


def numpy_replay(cell, sequences):
    """Independent float64 replay of eqs. 1-4 with the cell's weights.

    Returns the outputs (batch, T, H), the queries h_0 .. h_{S-1} of every
    step (batch, T, S, H) and the memories A(t) used at every step
    (batch, T, H, H).
    """
    kernel = ops.convert_to_numpy(cell.kernel).astype("float64")
    recurrent = ops.convert_to_numpy(cell.recurrent_kernel).astype("float64")
    bias = ops.convert_to_numpy(cell.bias).astype("float64")
    if cell.use_layer_norm:
        gamma = ops.convert_to_numpy(cell.gamma).astype("float64")
        beta = ops.convert_to_numpy(cell.beta).astype("float64")
    activations = {"relu": lambda u: np.maximum(u, 0.0), "tanh": np.tanh}
    f = activations[keras.activations.serialize(cell.activation)]
    x = np.asarray(sequences, dtype="float64")
    batch, timesteps, _ = x.shape
    units = cell.units
    h = np.zeros((batch, units))
    A = np.zeros((batch, units, units))
    outputs, queries, memories = [], [], []
    for t in range(timesteps):
        A = cell.decay_rate * A + cell.fast_learning_rate * np.einsum(
            "bi,bj->bij", h, h
        )
        z = x[:, t] @ kernel + h @ recurrent + bias
        h_s = f(z)
        step_queries = []
        for _ in range(cell.inner_steps):
            step_queries.append(h_s)
            u = z + np.einsum("bij,bj->bi", A, h_s)
            if cell.use_layer_norm:
                u = (u - u.mean(-1, keepdims=True)) / np.sqrt(
                    u.var(-1, keepdims=True) + cell.layer_norm_epsilon
                )
                u = u * gamma + beta
            h_s = f(u)
        h = h_s
        outputs.append(h)
        queries.append(np.stack(step_queries, axis=1))
        memories.append(A)
    return (
        np.stack(outputs, axis=1),
        np.stack(queries, axis=1),
        np.stack(memories, axis=1),
    )


def numpy_attention(cell, outputs, queries):
    """weights[b, s, i, j] = η λ^(i-1-j) h(j+1)ᵀ h_s(i) for j < i, by loops."""
    batch, timesteps, inner_steps, _ = queries.shape
    weights = np.zeros((batch, inner_steps, timesteps, timesteps))
    for i in range(timesteps):
        for j in range(i):
            scale = cell.fast_learning_rate * cell.decay_rate ** (i - 1 - j)
            weights[:, :, i, j] = scale * np.einsum(
                "bsh,bh->bs", queries[:, i], outputs[:, j]
            )
    return weights


@pytest.mark.parametrize(
    "inner_steps, decay_rate, fast_learning_rate, use_layer_norm, activation",
    [
        (1, 0.95, 0.5, True, "relu"),
        (3, 0.7, 0.5, True, "relu"),
        (2, 0.0, 1.5, True, "tanh"),
        (2, 1.0, 0.3, False, "tanh"),
    ],
)
def test_matches_numpy_replay(
    inner_steps, decay_rate, fast_learning_rate, use_layer_norm, activation
):
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    cell = FastWeightsRNNCell(
        UNITS,
        decay_rate=decay_rate,
        fast_learning_rate=fast_learning_rate,
        inner_steps=inner_steps,
        use_layer_norm=use_layer_norm,
        activation=activation,
    )
    model = retrieval_model(cell)
    randomize(cell, rng)
    tokens = rng.integers(0, VOCABULARY, size=(3, TIMESTEPS))

    weights = fast_weights_attention(model, tokens, inner_step=None)

    sequences = ops.convert_to_numpy(model.get_layer("embedding")(tokens))
    outputs, queries, _ = numpy_replay(cell, sequences)
    expected = numpy_attention(cell, outputs, queries)
    assert weights.shape == (3, inner_steps, TIMESTEPS, TIMESTEPS)
    assert weights.dtype == np.float32
    np.testing.assert_allclose(weights, expected, rtol=1e-4, atol=1e-4)
    # Guards against a vacuous comparison of two all-zero arrays.
    assert np.abs(expected).max() > 0.1


def test_inner_step_selects_one_query():
    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(2)
    model = retrieval_model(FastWeightsRNNCell(UNITS, inner_steps=3))
    randomize(model.get_layer("recurrent").cell, rng)
    tokens = rng.integers(0, VOCABULARY, size=(2, TIMESTEPS))

    every = fast_weights_attention(model, tokens, inner_step=None)
    np.testing.assert_array_equal(
        fast_weights_attention(model, tokens), every[:, -1]
    )
    np.testing.assert_array_equal(
        fast_weights_attention(model, tokens, inner_step=0), every[:, 0]
    )
    np.testing.assert_array_equal(
        fast_weights_attention(model, tokens, inner_step=-2), every[:, 1]
    )
    # Different queries give different weights, or the checks above are moot.
    assert not np.allclose(every[:, 0], every[:, -1])


def test_weights_are_strictly_lower_triangular():
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    model = retrieval_model(FastWeightsRNNCell(UNITS, inner_steps=2))
    tokens = rng.integers(0, VOCABULARY, size=(2, TIMESTEPS))

    weights = fast_weights_attention(model, tokens, inner_step=None)

    upper = np.triu(np.ones((TIMESTEPS, TIMESTEPS), dtype=bool))
    assert np.all(weights[..., upper] == 0.0)
    # relu outputs: every dot product h(j+1)ᵀ h_s is >= 0, and some are not 0.
    lower = weights[..., ~upper]
    assert np.all(lower >= 0.0)
    assert np.count_nonzero(lower) > lower.size // 2


def inspected_layer(update_rule, implementation="auto"):
    """A FastWeightsRNN of `update_rule` with random weights, run by
    `implementation` (chunks of 4: two and a rest in TIMESTEPS steps)."""
    keras.utils.set_random_seed(8)
    layer = FastWeightsRNN(
        UNITS,
        update_rule=update_rule,
        implementation=implementation,
        chunk_length=4,
        inner_steps=2,
        decay_rate=0.9,
        return_sequences=True,
    )
    layer.build((None, TIMESTEPS, 5))
    randomize(layer.cell, np.random.default_rng(8))
    return layer


def sequences(seed=8):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(2, TIMESTEPS, 5)).astype("float32")


@pytest.mark.parametrize("implementation", ["cell", "attention", "chunked"])
@pytest.mark.parametrize("update_rule", UPDATE_RULES)
def test_weights_match_the_reference_for_both_rules(
    update_rule, implementation
):
    layer = inspected_layer(update_rule, implementation)
    x = sequences()

    weights = fast_weights_attention(layer, x, inner_step=None)

    outputs, _, _, (expected, _) = numpy_fast_weights(
        x,
        form="attention",
        return_attention=True,
        **cell_arguments(layer.cell),
    )
    np.testing.assert_allclose(weights, expected, rtol=1e-4, atol=1e-4)
    assert np.abs(expected).max() > 0.1
    # The layer's own outputs, by its implementation, are those whose
    # memory the weights read.
    np.testing.assert_allclose(
        ops.convert_to_numpy(layer(x)), outputs, rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize("update_rule", UPDATE_RULES)
def test_attention_form_equals_cell_memory(update_rule):
    """Σ_j weights[i, j] v(j+1) = A(i) h_s, with A(i) read from the states
    of the real cell, not from a recomputation, and the values v of the
    reference (the outputs h for the Hebbian rule)."""
    layer = inspected_layer(update_rule)
    cell, x = layer.cell, sequences()

    weights = fast_weights_attention(layer, x, inner_step=None)

    _, _, _, (_, values) = numpy_fast_weights(
        x,
        form="attention",
        return_attention=True,
        **cell_arguments(cell),
    )
    recorded = replay(cell, x)
    np.testing.assert_allclose(
        ops.convert_to_numpy(recorded.values), values, atol=1e-4
    )
    queries = ops.convert_to_numpy(recorded.queries)
    states = cell.get_initial_state(2)
    memories = []
    for i in range(TIMESTEPS):
        _, states = cell(x[:, i], states)
        # The state after step i is the memory A(i) that step i read.
        memories.append(ops.convert_to_numpy(states[1]))
    memories = np.stack(memories, axis=1).reshape(2, TIMESTEPS, UNITS, UNITS)

    matrix_form = np.einsum("bijk,bisk->bsij", memories, queries)
    attention_form = np.einsum("bsij,bjh->bsih", weights, values)
    np.testing.assert_allclose(attention_form, matrix_form, atol=1e-4)
    assert np.abs(matrix_form).max() > 0.1


def test_delta_rule_weights_are_not_the_hebbian_ones():
    # The delta rule's memory reads with its unit keys k(τ): weights
    # η λ^(i-1-j) h(j+1)ᵀ h_s, read off the same outputs and queries as
    # for a Hebbian memory, are not what it reads with (if the inspection
    # ignored the rule, it would return these).
    layer = inspected_layer("delta")
    x = sequences()

    weights = fast_weights_attention(layer, x, inner_step=None)

    recorded = replay(layer.cell, x)
    hebbian = numpy_attention(
        layer.cell,
        ops.convert_to_numpy(recorded.outputs),
        ops.convert_to_numpy(recorded.queries),
    )
    assert np.abs(weights - hebbian).max() > 0.1
    _, _, _, (expected, _) = numpy_fast_weights(
        x,
        form="attention",
        return_attention=True,
        **cell_arguments(layer.cell),
    )
    np.testing.assert_allclose(weights, expected, rtol=1e-4, atol=1e-4)


def test_layer_and_cell_give_the_models_weights():
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    inputs = keras.Input((None, 5))
    hidden = keras.layers.Dense(7, name="projection")(inputs)
    hidden = FastWeightsRNN(UNITS, inner_steps=2, name="fast")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(3)(hidden))
    sequences = rng.normal(size=(2, TIMESTEPS, 5)).astype("float32")
    projected = model.get_layer("projection")(sequences)

    from_model = fast_weights_attention(model, sequences)
    layer = model.get_layer("fast")
    np.testing.assert_allclose(
        fast_weights_attention(layer, projected), from_model, rtol=1e-5
    )
    np.testing.assert_allclose(
        fast_weights_attention(layer.cell, projected), from_model, rtol=1e-5
    )


def test_layer_name_chooses_among_several_layers():
    keras.utils.set_random_seed(6)
    rng = np.random.default_rng(6)
    inputs = keras.Input((None, 5))
    first = FastWeightsRNN(UNITS, return_sequences=True, name="first")(inputs)
    second = FastWeightsRNN(4, name="second")(first)
    model = keras.Model(inputs, second)
    sequences = rng.normal(size=(2, TIMESTEPS, 5)).astype("float32")

    with pytest.raises(ValueError, match="several.*'first', 'second'"):
        fast_weights_attention(model, sequences)
    with pytest.raises(ValueError, match="layer_name='third'"):
        fast_weights_attention(model, sequences, layer_name="third")

    first_sequences = model.get_layer("first")(sequences)
    np.testing.assert_allclose(
        fast_weights_attention(model, sequences, layer_name="second"),
        fast_weights_attention(model.get_layer("second"), first_sequences),
        rtol=1e-5,
    )


def test_mask_is_accepted_only_without_masked_steps():
    keras.utils.set_random_seed(7)
    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(VOCABULARY, 12, mask_zero=True),
            keras.layers.RNN(FastWeightsRNNCell(UNITS)),
        ]
    )
    assert fast_weights_attention(model, np.array([[3, 4, 5]])).shape == (
        1,
        3,
        3,
    )
    with pytest.raises(ValueError, match="masked steps"):
        fast_weights_attention(model, np.array([[3, 4, 0]]))


def test_model_without_fast_weights_layer_is_rejected():
    model = keras.Sequential(
        [
            keras.Input((None, 3)),
            keras.layers.SimpleRNN(4, name="simple"),
            keras.layers.Dense(2, name="head"),
        ]
    )
    with pytest.raises(ValueError, match="no fast-weights.*'simple', 'head'"):
        fast_weights_attention(model, np.zeros((1, 4, 3)))


@pytest.mark.parametrize(
    "inner_step, error, message",
    [
        (2, ValueError, r"\[-2, 1\].*inner_step=2"),
        (-3, ValueError, "inner_step=-3"),
        (1.0, TypeError, "inner_step=1.0"),
        (True, TypeError, "inner_step=True"),
    ],
)
def test_bad_inner_step_is_rejected(inner_step, error, message):
    layer = FastWeightsRNN(4, inner_steps=2)
    sequences = np.zeros((1, 3, 2), dtype="float32")
    layer(sequences)
    with pytest.raises(error, match=message):
        fast_weights_attention(layer, sequences, inner_step=inner_step)


def test_other_unsupported_inputs_are_rejected():
    with pytest.raises(TypeError, match="Dense"):
        fast_weights_attention(keras.layers.Dense(3), np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="not built"):
        fast_weights_attention(FastWeightsRNN(4), np.zeros((1, 3, 2)))
    backwards = FastWeightsRNN(4, go_backwards=True, name="backwards")
    backwards(np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="'backwards'.*go_backwards"):
        fast_weights_attention(backwards, np.zeros((1, 3, 2)))
    forwards = FastWeightsRNN(4)
    forwards(np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        fast_weights_attention(forwards, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"shape \(1, 0, 2\)"):
        fast_weights_attention(forwards, np.zeros((1, 0, 2)))


def test_inspection_is_exported():
    assert "inspection" in keras_fastweights.__all__
    assert keras_fastweights.inspection.fast_weights_attention is (
        fast_weights_attention
    )
