"""Every implementation path of FastWeightsRNN against the NumPy reference.

The paths ("cell", "attention", "chunked", and "auto", which picks one)
compute the same function; these tests hold each to the reference's result
to float32 rounding, forwards and backwards, on the current backend.
"""

import keras
import numpy as np
import pytest
from backend_gradients import assert_gradients_close
from backend_gradients import gradients
from keras import ops
from reference import cell_arguments
from reference import numpy_fast_weights

from keras_fastweights import FastWeightsRNN
from keras_fastweights.layers import attention_form
from keras_fastweights.layers.fast_weights_rnn import DEFAULT_CHUNK_LENGTHS
from keras_fastweights.layers.fast_weights_rnn import IMPLEMENTATIONS

# float32 rounding, amplified by layer normalization over a few units and
# by the recurrence; an error in the recurrence is orders larger.
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
BATCH, FEATURES, UNITS = 3, 5, 6
# The paths that some tests compare with the cell path: "auto" runs one of
# them (test_auto_chooses_path), so it would repeat a case at the cost of
# another compilation (JAX compiles the unrolled forms slowly).
OTHER_PATHS = ("attention", "chunked")
# The delta rule's memory (`update_rule="delta"`): "delta" is "auto" (here
# the attention form), "delta:chunked" and "delta:cell" the other paths.
# The tests that compare a path with the reference run the first two; the
# tests that compare a path with the cell loop compare them with
# "delta:cell" (`cell_path`) where the chunks or the gradients differ.
DELTA_PATHS = ("delta", "delta:chunked")
PATHS = ("cell", *OTHER_PATHS, *DELTA_PATHS)

# Chunks of 4 steps unless a test asks for the layer's default: they put
# several chunks and a rest in a dozen steps, which JAX compiles faster
# than longer sequences.
CHUNK_LENGTH = 4


def make_inputs(timesteps, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(BATCH, timesteps, FEATURES)).astype("float32")


def make_layer(implementation, batch_size=None, **kwargs):
    # Fixed weights: the sensitivity of the recurrence to rounding varies
    # with them, and a test should not depend on the tests run before it.
    keras.utils.set_random_seed(0)
    rule, _, path = implementation.partition(":")
    if rule == "delta":
        implementation, kwargs["update_rule"] = path or "auto", "delta"
    kwargs.setdefault("recurrent_initializer", "orthogonal")
    kwargs.setdefault("bias_initializer", "random_normal")
    kwargs.setdefault("return_sequences", True)
    kwargs.setdefault("chunk_length", CHUNK_LENGTH)
    layer = FastWeightsRNN(
        UNITS, implementation=implementation, return_state=True, **kwargs
    )
    layer.build((batch_size, None, FEATURES))
    return layer


def cell_path(implementation):
    """The cell loop of `implementation`'s update rule."""
    return "delta:cell" if implementation.startswith("delta") else "cell"


def copy_weights(source, target):
    for from_variable, to_variable in zip(source.weights, target.weights):
        to_variable.assign(from_variable)


def reference(layer, x, mask=None):
    return numpy_fast_weights(x, mask=mask, **cell_arguments(layer.cell))


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


@pytest.mark.parametrize(
    "implementation, timesteps, inner_steps",
    [
        (path, timesteps, inner_steps)
        for path in PATHS
        for timesteps, inner_steps in [(1, 1), (11, 1), (11, 3), (19, 1)]
    ]
    # The delta rule's cell loop, which the others are compared with:
    # test_delta_rule.py holds the cell to the reference too.
    + [("delta:cell", 11, 3)],
)
def test_matches_reference(implementation, timesteps, inner_steps):
    layer = make_layer(implementation, inner_steps=inner_steps)
    assert_matches_reference(layer, make_inputs(timesteps))


@pytest.mark.parametrize("implementation", ["chunked", "delta:chunked"])
def test_matches_reference_with_default_chunks(implementation):
    # The rule's default chunks: two and a rest of 3 steps.
    layer = make_layer(implementation, chunk_length=None)
    chunk_length = DEFAULT_CHUNK_LENGTHS[layer.update_rule]
    assert layer.chunk_length == chunk_length
    assert_matches_reference(layer, make_inputs(2 * chunk_length + 3))


def test_the_default_chunk_length_follows_the_update_rule():
    """8 steps a chunk for the Hebbian rule, 4 for the delta rule (the
    fastest measured), unless given; a saved layer keeps its own."""
    assert FastWeightsRNN(UNITS).chunk_length == 8
    delta = FastWeightsRNN(UNITS, update_rule="delta")
    assert delta.chunk_length == 4
    assert FastWeightsRNN.from_config(delta.get_config()).chunk_length == 4
    given = FastWeightsRNN(UNITS, update_rule="delta", chunk_length=8)
    assert given.chunk_length == 8


@pytest.fixture
def float64(float64_backend):
    """Computes in float64 (conftest restores floatx afterwards)."""
    keras.config.set_floatx("float64")


@pytest.mark.parametrize("implementation", PATHS)
def test_matches_reference_in_float64(implementation, float64):
    # Long sequences with several inner steps amplify float32 rounding
    # (layer normalization of a nearly constant vector); in float64 every
    # path must agree with the reference almost to the last digit.
    layer = make_layer(implementation, inner_steps=3, dtype="float64")
    x = make_inputs(19).astype("float64")
    outputs = assert_matches_reference(
        layer, x, tolerance={"rtol": 1e-9, "atol": 1e-9}
    )
    assert keras.backend.standardize_dtype(outputs.dtype) == "float64"


@pytest.mark.parametrize("implementation", [*OTHER_PATHS, *DELTA_PATHS])
def test_masked_matches_reference_in_float64(implementation, float64):
    # With a mask, the weights of eq. 3 come from counts of unmasked
    # steps: exact too, not only to float32 rounding.
    layer = make_layer(implementation, inner_steps=3, dtype="float64")
    x = make_inputs(19).astype("float64")
    assert_matches_reference(
        layer,
        x,
        make_mask("holes", 19),
        tolerance={"rtol": 1e-9, "atol": 1e-9},
    )


@pytest.mark.parametrize("implementation", PATHS)
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


@pytest.mark.parametrize("implementation", PATHS)
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


MASK_KINDS = ("padding", "leading", "holes")


def make_mask(kind, timesteps):
    """A boolean `(BATCH, timesteps)` mask, or `None` for `kind=None`.

    "padding": right padding (past the first chunks), a
    hole, an empty row; "leading": padding at the start, at both ends, none;
    "holes": random holes, most steps kept.
    """
    if kind is None:
        return None
    mask = np.ones((BATCH, timesteps), bool)
    if kind == "padding":
        mask[0, timesteps // 3 :] = False
        mask[1, 5:9] = False
        mask[2, :] = False
    elif kind == "leading":
        mask[0, : timesteps // 2] = False
        mask[1, :3] = False
        mask[1, -2:] = False
    elif kind == "holes":
        mask = np.random.default_rng(timesteps).random(mask.shape) < 0.7
    else:
        raise ValueError(kind)
    return mask


def assert_all_close(got, expected, tolerance=TOLERANCE):
    for got_tensor, expected_tensor in zip(got, expected, strict=True):
        np.testing.assert_allclose(
            ops.convert_to_numpy(got_tensor),
            ops.convert_to_numpy(expected_tensor),
            **tolerance,
        )


@pytest.mark.parametrize("implementation", PATHS)
@pytest.mark.parametrize("mask_kind", MASK_KINDS)
@pytest.mark.parametrize("timesteps", [11, 19])
def test_masked_steps_keep_h_and_memory(implementation, mask_kind, timesteps):
    # Chunks of 4 for "chunked": two and a rest of 3, four and a rest of 3.
    layer = make_layer(implementation)
    mask = make_mask(mask_kind, timesteps)
    assert_matches_reference(layer, make_inputs(timesteps), mask)


def test_masked_long_sequence_matches_reference():
    # 75 steps: 18 chunks of "chunked" and a rest, holes in each, and
    # inner steps that read the memory more than once.
    layer = make_layer("chunked", inner_steps=2)
    assert_matches_reference(layer, make_inputs(75), make_mask("holes", 75))


@pytest.mark.parametrize("implementation", PATHS)
@pytest.mark.parametrize("mask_kind", ["padding", "holes"])
def test_masked_backwards_matches_reference_and_cell(implementation, mask_kind):
    cell_layer = make_layer(cell_path(implementation), go_backwards=True)
    layer = make_layer(implementation, go_backwards=True)
    copy_weights(cell_layer, layer)
    x, mask = make_inputs(11), make_mask(mask_kind, 11)
    got = layer(x, mask=mask)
    assert_all_close(got, cell_layer(x, mask=mask))
    expected_outputs, expected_h, expected_memory = reference(
        layer, x[:, ::-1], mask[:, ::-1]
    )
    assert_all_close(
        got,
        [expected_outputs, expected_h, expected_memory.reshape(BATCH, -1)],
    )


def random_initial_state(seed=1):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(size=(BATCH, UNITS)).astype("float32"),
        rng.normal(size=(BATCH, UNITS * UNITS)).astype("float32") * 0.1,
    ]


@pytest.mark.parametrize("implementation", [*OTHER_PATHS, *DELTA_PATHS])
@pytest.mark.parametrize("timesteps", [3, 11])
def test_initial_state_matches_cell(implementation, timesteps):
    # 11 steps carry the initial A through two chunks and a
    # rest; 3 steps, the rest alone.
    cell_layer = make_layer(cell_path(implementation))
    layer = make_layer(implementation)
    copy_weights(cell_layer, layer)
    x = make_inputs(timesteps)
    initial_state = random_initial_state()
    assert_all_close(
        layer(x, initial_state=initial_state),
        cell_layer(x, initial_state=initial_state),
    )


@pytest.mark.parametrize("implementation", OTHER_PATHS)
def test_masked_initial_state_matches_cell(implementation):
    cell_layer = make_layer("cell")
    layer = make_layer(implementation)
    copy_weights(cell_layer, layer)
    x, mask = make_inputs(11), make_mask("holes", 11)
    # The first step unmasked: see test_leading_masked_steps_output_h.
    mask[:, 0] = True
    initial_state = random_initial_state()
    assert_all_close(
        layer(x, initial_state=initial_state, mask=mask),
        cell_layer(x, initial_state=initial_state, mask=mask),
    )


@pytest.mark.parametrize("implementation", OTHER_PATHS)
def test_leading_masked_steps_output_h(implementation):
    # Masked steps before the first unmasked one output the initial h, as
    # Keras's loop does on JAX; on TensorFlow and torch it outputs zeros
    # there. The states and the other outputs are the cell path's.
    cell_layer = make_layer("cell")
    layer = make_layer(implementation)
    copy_weights(cell_layer, layer)
    x, mask = make_inputs(11), make_mask("leading", 11)
    initial_state = random_initial_state()
    got = [
        ops.convert_to_numpy(t)
        for t in layer(x, initial_state=initial_state, mask=mask)
    ]
    expected = cell_layer(x, initial_state=initial_state, mask=mask)
    assert_all_close(got[1:], expected[1:])
    before = np.cumsum(mask, axis=1) == 0
    assert before.any() and not before.all()
    initial_h = np.broadcast_to(initial_state[0][:, None], got[0].shape)
    np.testing.assert_array_equal(got[0][before], initial_h[before])
    np.testing.assert_allclose(
        got[0][~before], ops.convert_to_numpy(expected[0])[~before], **TOLERANCE
    )


def assert_stateful_matches_reference(layer, x, mask=None):
    """Runs `x` in two batches of half its steps."""
    half = x.shape[1] // 2
    masks = (None, None) if mask is None else (mask[:, :half], mask[:, half:])
    first = layer(x[:, :half], mask=masks[0])
    second = layer(x[:, half:], mask=masks[1])
    expected_outputs, expected_h, expected_memory = reference(layer, x, mask)
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


@pytest.mark.parametrize("implementation", PATHS)
@pytest.mark.parametrize("timesteps", [3, 11])
def test_stateful_carries_h_and_memory_to_the_next_batch(
    implementation, timesteps
):
    # Batches of 3 steps (a rest alone) and of 11 (two chunks
    # and a rest).
    layer = make_layer(implementation, batch_size=BATCH, stateful=True)
    assert_stateful_matches_reference(layer, make_inputs(2 * timesteps))


@pytest.mark.parametrize("implementation", PATHS)
def test_masked_stateful_carries_h_and_memory(implementation):
    layer = make_layer(implementation, batch_size=BATCH, stateful=True)
    # Holes in both batches of 11 steps, one row masked at the end of the
    # first; the second starts unmasked (test_leading_masked_steps_output_h).
    mask = make_mask("holes", 22)
    mask[0, 8:11] = False
    mask[:, 11] = True
    assert_stateful_matches_reference(layer, make_inputs(22), mask)


@pytest.mark.parametrize("implementation", OTHER_PATHS)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_with_mask_matches_cell(implementation, return_sequences):
    # With return_sequences, Bidirectional sets zero_output_for_mask: the
    # masked steps output zeros.
    x, mask = make_inputs(11), make_mask("padding", 11)
    results = []
    for path in ("cell", implementation):
        keras.utils.set_random_seed(0)
        layer = keras.layers.Bidirectional(
            FastWeightsRNN(
                UNITS,
                implementation=path,
                chunk_length=CHUNK_LENGTH,
                return_sequences=return_sequences,
            )
        )
        results.append(ops.convert_to_numpy(layer(x, mask=mask)))
    np.testing.assert_allclose(results[1], results[0], **TOLERANCE)


@pytest.mark.parametrize("implementation", OTHER_PATHS)
@pytest.mark.parametrize("return_sequences", [True, False])
def test_zero_output_for_mask_matches_cell(implementation, return_sequences):
    x, mask = make_inputs(11), make_mask("padding", 11)
    layers = [
        make_layer(
            path,
            zero_output_for_mask=True,
            return_sequences=return_sequences,
        )
        for path in ("cell", implementation)
    ]
    got, expected = (layer(x, mask=mask) for layer in layers[::-1])
    assert_all_close(got, expected)
    if return_sequences:
        outputs = ops.convert_to_numpy(got[0])
        assert not outputs[~mask].any() and outputs[mask].any()


@pytest.mark.parametrize("implementation", [*OTHER_PATHS, *DELTA_PATHS])
def test_gradients_equal_the_cell_path(implementation):
    # 11 steps: two chunks of "chunked" (ops.scan) and a rest of 3; the
    # float64 test below runs more.
    assert_gradients_equal_the_cell_path(
        implementation, make_inputs(11), 1e-4, inner_steps=2
    )


@pytest.mark.parametrize("implementation", [*OTHER_PATHS, *DELTA_PATHS])
@pytest.mark.parametrize("mask_kind", ["padding", "holes"])
def test_masked_gradients_equal_the_cell_path(implementation, mask_kind):
    # The gradients flow through masked steps within and
    # across chunks (ops.scan) and through the rest.
    assert_gradients_equal_the_cell_path(
        implementation,
        make_inputs(11),
        1e-4,
        mask=make_mask(mask_kind, 11),
        inner_steps=2,
    )


def test_gradients_equal_the_cell_path_in_float64(float64):
    # 30 steps: seven chunks of "chunked" and a rest. The
    # gradients grow with the number of steps, and float32 rounding with
    # them, so this is checked in float64, where every path agrees to
    # ~10⁻¹⁴. (The attention path has no chunks; its gradients are
    # checked above.)
    assert_gradients_equal_the_cell_path(
        "chunked", make_inputs(30).astype("float64"), 1e-9, dtype="float64"
    )


def assert_gradients_equal_the_cell_path(
    implementation, x, tolerance, mask=None, **kw
):
    cell_layer = make_layer(cell_path(implementation), **kw)
    layer = make_layer(implementation, **kw)
    copy_weights(cell_layer, layer)
    assert_gradients_close(
        gradients(layer, x, mask), gradients(cell_layer, x, mask), tolerance
    )


@pytest.mark.parametrize("implementation", PATHS)
@pytest.mark.parametrize("mask_kind", [None, "holes"])
def test_mixed_precision_is_close_to_float32(implementation, mask_kind):
    x, mask = make_inputs(11), make_mask(mask_kind, 11)
    float32_layer = make_layer(implementation)
    keras.config.set_dtype_policy("mixed_float16")
    layer = make_layer(implementation)
    copy_weights(float32_layer, layer)
    assert all(w.dtype == "float32" for w in layer.weights)
    outputs, _, memory = layer(x, mask=mask)
    assert keras.backend.standardize_dtype(outputs.dtype) == "float16"
    assert keras.backend.standardize_dtype(memory.dtype) == "float16"
    assert np.isfinite(ops.convert_to_numpy(outputs)).all()
    np.testing.assert_allclose(
        ops.convert_to_numpy(outputs).astype("float32"),
        ops.convert_to_numpy(float32_layer(x, mask=mask)[0]),
        rtol=2e-2,
        atol=2e-2,
    )


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_implementation_survives_save_and_load(implementation, tmp_path):
    inputs = keras.Input((11, FEATURES))
    layer = FastWeightsRNN(
        UNITS,
        implementation=implementation,
        chunk_length=CHUNK_LENGTH,
        attention_max_steps=5,
    )
    model = keras.Model(inputs, layer(inputs))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layers[-1].implementation == implementation
    assert loaded.layers[-1].chunk_length == CHUNK_LENGTH
    assert loaded.layers[-1].attention_max_steps == 5
    x = make_inputs(11)
    np.testing.assert_allclose(
        ops.convert_to_numpy(loaded(x)),
        ops.convert_to_numpy(model(x)),
        **TOLERANCE,
    )


@pytest.mark.parametrize("mask_kind", [None, "holes"])
def test_chunked_training_compiles_with_xla(mask_kind):
    """`jit_compile=True` trains the chunked path (two chunks and a rest),
    as the default compilation does: on TensorFlow, Keras's `scan` sets no
    `maximum_iterations`, without which XLA cannot compile the loop's
    gradient, so the layer loops over chunks with a bounded while loop
    there. (torch: `jit_compile=True` is `torch.compile`, not XLA; both
    models run eagerly here.)"""
    x = make_inputs(11)
    x[:, 2::3] = 0.0  # Masking(0.0) masks every third step from the third
    y = np.arange(BATCH) % 2
    losses = []
    for jit_compile in (False, keras.backend.backend() != "torch"):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((11, FEATURES)),
                *([keras.layers.Masking(0.0)] if mask_kind else []),
                FastWeightsRNN(
                    UNITS, implementation="chunked", chunk_length=CHUNK_LENGTH
                ),
                keras.layers.Dense(2),
            ]
        )
        model.compile(
            keras.optimizers.SGD(0.1),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=jit_compile,
        )
        losses.append([float(model.train_on_batch(x, y)) for _ in range(3)])
    # Three steps: the gradients of the first two moved the weights alike.
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-4)
    assert losses[0][2] != losses[0][0]


def test_rejects_unknown_implementation():
    with pytest.raises(ValueError, match="implementation='fast'"):
        FastWeightsRNN(UNITS, implementation="fast")


@pytest.mark.parametrize(
    "timesteps, units, expected",
    [
        (11, 50, "attention"),
        (35, 50, "attention"),
        (40, 8, "attention"),
        (41, 8, "chunked"),
        (1000, 256, "chunked"),
        (None, 256, "cell"),
    ],
)
def test_auto_chooses_path(timesteps, units, expected):
    layer = FastWeightsRNN(units)
    assert layer._resolve_implementation(timesteps) == expected


@pytest.mark.parametrize(
    "attention_max_steps, timesteps, expected",
    [(4, 4, "attention"), (4, 5, "chunked"), (1, 1, "attention")],
)
def test_attention_max_steps_sets_where_auto_chunks(
    attention_max_steps, timesteps, expected
):
    layer = FastWeightsRNN(UNITS, attention_max_steps=attention_max_steps)
    assert layer._resolve_implementation(timesteps) == expected


@pytest.mark.parametrize("timesteps, chunked", [(3, False), (11, True)])
def test_auto_runs_the_attention_forms_with_a_mask(
    timesteps, chunked, monkeypatch
):
    # "auto" takes "attention" up to 4 steps here, then chunks of 4. The
    # spy only records which form ran.
    calls = []
    run = attention_form.run

    def spy(cell, sequences, initial_state, mask, **options):
        calls.append((mask is not None, options["chunk_length"] is not None))
        return run(cell, sequences, initial_state, mask, **options)

    monkeypatch.setattr(attention_form, "run", spy)
    layer = make_layer("auto", attention_max_steps=4)
    x, mask = make_inputs(timesteps), make_mask("holes", timesteps)
    assert_matches_reference(layer, x, mask)
    assert calls == [(True, chunked)]


@pytest.mark.parametrize(
    "name, value, error, message",
    [
        ("chunk_length", 0, ValueError, "Received: chunk_length=0"),
        ("chunk_length", 2.0, TypeError, "Received: chunk_length=2.0"),
        ("chunk_length", True, TypeError, "Received: chunk_length=True"),
        (
            "attention_max_steps",
            -1,
            ValueError,
            "Received: attention_max_steps=-1",
        ),
    ],
)
def test_rejects_bad_path_settings(name, value, error, message):
    with pytest.raises(error, match=message):
        FastWeightsRNN(UNITS, **{name: value})


@pytest.mark.parametrize("implementation", ["attention", "chunked"])
def test_explicit_path_needs_the_number_of_steps(implementation):
    # Where T is unknown when the layer is called, "auto" runs the cell
    # loop; an explicit attention form cannot run and says what can.
    layer = FastWeightsRNN(UNITS, implementation=implementation)
    with pytest.raises(
        ValueError,
        match=rf"implementation='{implementation}' needs the number of "
        r"timesteps.*Use implementation='auto' .*or 'cell', or give the "
        "input a static length",
    ):
        layer._resolve_implementation(None)
    assert FastWeightsRNN(UNITS)._resolve_implementation(None) == "cell"
    cell = FastWeightsRNN(UNITS, implementation="cell")
    assert cell._resolve_implementation(None) == "cell"


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="only TensorFlow calls a layer with an unknown number of steps "
    "(in a graph traced for sequences of any length); JAX and torch call "
    "it with the sequences' own",
)
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_graph_for_sequences_of_any_length(implementation):
    import tensorflow as tf

    layer = make_layer(implementation)
    x = make_inputs(11)
    traced = tf.function(
        layer, input_signature=[tf.TensorSpec((None, None, FEATURES))]
    )
    if implementation in ("attention", "chunked"):
        with pytest.raises(ValueError, match="static length"):
            traced(x)
        return
    outputs, h, memory = traced(x)
    expected_outputs, expected_h, _ = reference(layer, x)
    np.testing.assert_allclose(
        ops.convert_to_numpy(outputs), expected_outputs, **TOLERANCE
    )
