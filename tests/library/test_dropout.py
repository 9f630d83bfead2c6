"""Dropout of FastWeightsRNN: one mask per sequence, only in training.

`dropout` drops input features before `C x(t)`, `recurrent_dropout` units
of `h(t)` before `W h(t)`; the fast memory stores the undropped `h(t)`.
The tests recover the masks a training call used by trying every one
against the NumPy reference: a single mask, constant over the steps,
must reproduce each sequence.
"""

import itertools

import keras
import numpy as np
import pytest
from keras import ops
from reference import cell_arguments
from reference import numpy_fast_weights

from keras_fastweights import FastWeightsRNN
from keras_fastweights import FastWeightsRNNCell

TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
BATCH, FEATURES, UNITS, STEPS = 3, 5, 6, 11
# "delta": the delta rule's memory ("auto": its attention form).
PATHS = ["cell", "attention", "chunked", "delta"]


# Chunks of 4 steps in every test: the "chunked" path runs two chunks and
# a rest in 11 steps (with the layer's chunks of 8: one).
CHUNK_LENGTH = 4


def make_inputs(timesteps, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(BATCH, timesteps, FEATURES)).astype("float32")


def make_layer(implementation="auto", **kwargs):
    keras.utils.set_random_seed(0)
    if implementation == "delta":
        implementation, kwargs["update_rule"] = "auto", "delta"
    # tanh rather than relu: no unit of h is zero at every step, so that
    # dropping any unit changes the outputs and one mask matches each one.
    layer = FastWeightsRNN(
        UNITS,
        activation="tanh",
        implementation=implementation,
        chunk_length=CHUNK_LENGTH,
        recurrent_initializer="orthogonal",
        bias_initializer="random_normal",
        return_sequences=True,
        **kwargs,
    )
    layer.build((None, None, FEATURES))
    return layer


def reference_outputs(layer, x, recurrent_kernel=None):
    """The outputs of the layer's recurrence in NumPy (float64), with
    `recurrent_kernel` in place of the layer's if given."""
    arguments = cell_arguments(layer.cell)
    if recurrent_kernel is not None:
        arguments["recurrent_kernel"] = recurrent_kernel
    return numpy_fast_weights(x, **arguments)[0]


def dropout_masks(size, rate):
    """Every mask `keras.random.dropout` can draw over `size` entries."""
    for kept in itertools.product([0.0, 1.0 / (1.0 - rate)], repeat=size):
        yield np.array(kept)


def matching_masks(outputs, candidates, run):
    """For each example, the candidate masks with which `run(example,
    mask)` reproduces its `outputs`."""
    found = []
    for example, expected in enumerate(outputs):
        found.append(
            [
                mask
                for mask in candidates
                if np.allclose(run(example, mask), expected, **TOLERANCE)
            ]
        )
    return found


@pytest.mark.parametrize("implementation", PATHS)
def test_training_changes_outputs_and_inference_does_not(implementation):
    x = make_inputs(STEPS)
    plain = make_layer(implementation)
    layer = make_layer(implementation, dropout=0.3, recurrent_dropout=0.3)
    expected = ops.convert_to_numpy(plain(x))
    for got in (layer(x), layer(x, training=False)):
        np.testing.assert_allclose(ops.convert_to_numpy(got), expected)
    first = ops.convert_to_numpy(layer(x, training=True))
    second = ops.convert_to_numpy(layer(x, training=True))
    assert np.abs(first - expected).max() > 1e-2
    # New masks for each batch.
    assert np.abs(first - second).max() > 1e-2


@pytest.mark.parametrize("implementation", PATHS)
def test_zero_rates_equal_the_plain_layer(implementation):
    x = make_inputs(STEPS)
    plain = make_layer(implementation)
    layer = make_layer(implementation, dropout=0.0, recurrent_dropout=0.0)
    assert layer.seed_generator is None
    assert len(layer.variables) == len(plain.variables)
    np.testing.assert_allclose(
        ops.convert_to_numpy(layer(x, training=True)),
        ops.convert_to_numpy(plain(x)),
    )


@pytest.mark.parametrize("implementation", PATHS)
def test_input_dropout_mask_is_constant_over_time(implementation):
    rate = 0.5
    layer = make_layer(implementation, dropout=rate, seed=3)
    x = make_inputs(STEPS)
    outputs = ops.convert_to_numpy(layer(x, training=True))

    def run(example, mask):
        return reference_outputs(layer, x[example : example + 1] * mask)[0]

    found = matching_masks(outputs, list(dropout_masks(FEATURES, rate)), run)
    assert [len(masks) for masks in found] == [1] * BATCH
    # The draw dropped some features, not the same in every example.
    masks = np.array([masks[0] for masks in found])
    assert (masks == 0).any() and (masks != 0).any()
    assert len({tuple(mask) for mask in masks}) > 1


@pytest.mark.parametrize("implementation", PATHS)
def test_recurrent_dropout_drops_h_only_in_w_h(implementation):
    # With h(t) ⊙ r in W h(t), the step is that of a layer whose W has
    # rows scaled by r, and whose memory stores the undropped h(t): the
    # reference with that W must reproduce each sequence with one r.
    rate = 0.5
    layer = make_layer(implementation, recurrent_dropout=rate, seed=3)
    x = make_inputs(STEPS)
    outputs = ops.convert_to_numpy(layer(x, training=True))
    kernel = ops.convert_to_numpy(layer.cell.recurrent_kernel)

    def run(example, mask):
        recurrent_kernel = mask[:, None] * kernel.astype("float64")
        return reference_outputs(
            layer, x[example : example + 1], recurrent_kernel
        )[0]

    found = matching_masks(outputs, list(dropout_masks(UNITS, rate)), run)
    assert [len(masks) for masks in found] == [1] * BATCH
    masks = np.array([masks[0] for masks in found])
    assert (masks == 0).any() and (masks != 0).any()


@pytest.mark.parametrize("implementation", PATHS)
def test_fit_draws_masks_and_trains(implementation):
    # Under JAX's fit, a mask drawn inside the loop's step would fail.
    x = make_inputs(STEPS)
    rule = {}
    if implementation == "delta":
        implementation, rule = "auto", {"update_rule": "delta"}
    layer = FastWeightsRNN(
        UNITS,
        implementation=implementation,
        chunk_length=CHUNK_LENGTH,
        **rule,
        dropout=0.2,
        recurrent_dropout=0.2,
        seed=1,
    )
    model = keras.Sequential(
        [keras.Input((STEPS, FEATURES)), layer, keras.layers.Dense(1)]
    )
    model.compile("adam", "mse")
    weights = [w.copy() for w in model.get_weights()]
    seed_state = ops.convert_to_numpy(layer.seed_generator.state)
    history = model.fit(x, np.ones((BATCH, 1)), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert any(
        not np.array_equal(a, b) for a, b in zip(weights, model.get_weights())
    )
    assert not np.array_equal(
        ops.convert_to_numpy(layer.seed_generator.state), seed_state
    )
    # Inference after training is deterministic.
    np.testing.assert_array_equal(
        model.predict(x, verbose=0), model.predict(x, verbose=0)
    )


def test_bidirectional_with_dropout_and_a_mask():
    x = make_inputs(11)
    mask = np.ones((BATCH, 11), bool)
    mask[0, 7:] = False
    layer = keras.layers.Bidirectional(
        FastWeightsRNN(UNITS, dropout=0.3, recurrent_dropout=0.3)
    )
    assert layer.backward_layer.dropout == 0.3
    inference = ops.convert_to_numpy(layer(x, mask=mask))
    training = ops.convert_to_numpy(layer(x, mask=mask, training=True))
    assert np.isfinite(training).all()
    assert np.abs(training - inference).max() > 1e-2
    np.testing.assert_array_equal(
        ops.convert_to_numpy(layer(x, mask=mask)), inference
    )


def test_config_round_trip_keeps_the_rates():
    layer = FastWeightsRNN(UNITS, dropout=0.25, recurrent_dropout=0.5, seed=7)
    config = layer.get_config()
    assert (config["dropout"], config["recurrent_dropout"]) == (0.25, 0.5)
    assert config["seed"] == 7
    clone = FastWeightsRNN.from_config(config)
    assert clone.get_config() == config
    assert (clone.dropout, clone.recurrent_dropout, clone.seed) == (
        0.25,
        0.5,
        7,
    )


def test_saved_model_keeps_the_rates(tmp_path):
    layer = FastWeightsRNN(UNITS, dropout=0.25, recurrent_dropout=0.5)
    model = keras.Sequential(
        [keras.Input((11, FEATURES)), layer, keras.layers.Dense(2)]
    )
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path).layers[0]
    assert isinstance(loaded, FastWeightsRNN)
    assert (loaded.dropout, loaded.recurrent_dropout) == (0.25, 0.5)
    x = make_inputs(11)
    np.testing.assert_allclose(
        keras.models.load_model(path).predict(x, verbose=0),
        model.predict(x, verbose=0),
        **TOLERANCE,
    )


@pytest.mark.parametrize("name", ["dropout", "recurrent_dropout"])
@pytest.mark.parametrize(
    "value, error, message",
    [
        (1.0, ValueError, "=1.0"),
        (1.5, ValueError, "=1.5"),
        (-0.1, ValueError, "=-0.1"),
        (float("nan"), ValueError, "=nan"),
        ("0.5", TypeError, "='0.5'"),
        (True, TypeError, "=True"),
        (None, TypeError, "=None"),
    ],
)
def test_bad_rates_name_the_value(name, value, error, message):
    with pytest.raises(
        error, match=rf"in \[0, 1\)\. Received: {name}{message}"
    ):
        FastWeightsRNN(UNITS, **{name: value})


def test_the_cell_reads_a_recurrent_dropout_mask_as_its_third_state():
    # `FastWeightsRNN` hands the cell its mask r as a third state: the step
    # is that of the cell whose W has its rows scaled by r (W (h ⊙ r)),
    # with the memory of the undropped h, and r comes back unchanged.
    rng = np.random.default_rng(1)
    cell = FastWeightsRNNCell(UNITS, recurrent_initializer="orthogonal")
    x = rng.normal(size=(BATCH, FEATURES)).astype("float32")
    h = rng.normal(size=(BATCH, UNITS)).astype("float32")
    memory = rng.normal(size=(BATCH, UNITS * UNITS)).astype("float32")
    r = rng.choice([0.0, 2.0], size=(BATCH, UNITS)).astype("float32")
    cell.build((None, FEATURES))
    output, (new_h, new_memory, same_r) = cell(x, [h, memory, r])
    np.testing.assert_array_equal(ops.convert_to_numpy(same_r), r)

    kernel = ops.convert_to_numpy(cell.recurrent_kernel)
    expected = []
    for example in range(BATCH):
        cell.recurrent_kernel.assign(r[example][:, None] * kernel)
        expected.append(cell(x, [h, memory]))
    cell.recurrent_kernel.assign(kernel)
    for got, want in (
        (output, [o[example] for example, (o, _) in enumerate(expected)]),
        (new_memory, [s[1][e] for e, (_, s) in enumerate(expected)]),
    ):
        np.testing.assert_allclose(
            ops.convert_to_numpy(got),
            np.stack([ops.convert_to_numpy(w) for w in want]),
            **TOLERANCE,
        )
    np.testing.assert_array_equal(
        ops.convert_to_numpy(new_h), ops.convert_to_numpy(output)
    )


@pytest.mark.parametrize("implementation", PATHS)
def test_returned_and_stateful_states_are_h_and_a_only(implementation):
    # The mask travels through the loop as a third state; the layer
    # returns, and a stateful layer keeps, [h, A] alone.
    x = make_inputs(STEPS)
    layer = make_layer(implementation, recurrent_dropout=0.5, seed=3)
    layer.return_state = True
    outputs, h, memory = layer(x, training=True)
    assert tuple(h.shape) == (BATCH, UNITS)
    assert tuple(memory.shape) == (BATCH, UNITS * UNITS)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(outputs)[:, -1], ops.convert_to_numpy(h)
    )
    if implementation == "delta":
        implementation, rule = "auto", {"update_rule": "delta"}
    else:
        rule = {}
    stateful = FastWeightsRNN(
        UNITS,
        implementation=implementation,
        chunk_length=CHUNK_LENGTH,
        **rule,
        recurrent_dropout=0.5,
        stateful=True,
        seed=3,
    )
    first = ops.convert_to_numpy(stateful(x, training=True))
    assert [tuple(s.shape) for s in stateful.states] == [
        (BATCH, UNITS),
        (BATCH, UNITS * UNITS),
    ]
    np.testing.assert_array_equal(
        ops.convert_to_numpy(stateful.states[0]), first
    )
    carried = ops.convert_to_numpy(stateful.states[1])
    assert np.abs(carried).max() > 0
    stateful(x, training=True)
    assert np.abs(ops.convert_to_numpy(stateful.states[1]) - carried).max()
