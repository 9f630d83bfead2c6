"""AssociativeLSTMCell and AssociativeLSTM against a NumPy reference."""

import keras
import numpy as np
import pytest
from reference import numpy_associative_lstm

from keras_fastweights import AssociativeLSTM
from keras_fastweights import AssociativeLSTMCell

TOLERANCE = dict(rtol=1e-5, atol=1e-5)
FEATURES, UNITS, STEPS, BATCH = 5, 6, 7, 3


def random_inputs(steps=STEPS, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(BATCH, steps, FEATURES)).astype("float32")


def built_layer(x, scale=0.7, **kwargs):
    """A layer with random weights, large enough that `bound` clips some
    keys and values (|·| > 1) and leaves others."""
    layer = AssociativeLSTM(
        UNITS, return_sequences=True, return_state=True, **kwargs
    )
    layer.build(x.shape)
    rng = np.random.default_rng(1)
    for weight in layer.cell.weights:
        value = rng.normal(scale=scale, size=weight.shape)
        weight.assign(value.astype(weight.dtype))
    return layer


def reference(layer, x, mask=None):
    cell = layer.cell
    bias = None if cell.bias is None else keras.ops.convert_to_numpy(cell.bias)
    return numpy_associative_lstm(
        x,
        keras.ops.convert_to_numpy(cell.kernel).astype(np.float64),
        keras.ops.convert_to_numpy(cell.recurrent_kernel).astype(np.float64),
        bias,
        cell.permutations,
        mask=mask,
    )


def memory_as_complex(memory, copies):
    """The cell's flat memory state as complex (batch, copies, n)."""
    memory = np.asarray(memory).reshape(len(memory), copies, 2, -1)
    return memory[:, :, 0] + 1j * memory[:, :, 1]


@pytest.mark.parametrize("num_copies", [1, 3])
@pytest.mark.parametrize("use_bias", [True, False])
def test_matches_numpy_reference(num_copies, use_bias):
    x = random_inputs()
    layer = built_layer(x, num_copies=num_copies, use_bias=use_bias)
    outputs, h, memory = (keras.ops.convert_to_numpy(t) for t in layer(x))
    expected_outputs, expected_h, expected_c = reference(layer, x)
    np.testing.assert_allclose(outputs, expected_outputs, **TOLERANCE)
    np.testing.assert_allclose(h, expected_h, **TOLERANCE)
    np.testing.assert_allclose(
        memory_as_complex(memory, num_copies), expected_c, **TOLERANCE
    )


def test_bound_is_active_in_the_reference_comparison():
    """The weights of the comparison above make `bound` clip some, not all,
    complex numbers, so that both of its branches are compared."""
    x = random_inputs()
    layer = built_layer(x)
    cell = layer.cell
    z = x[:, 0] @ keras.ops.convert_to_numpy(cell.kernel) + (
        keras.ops.convert_to_numpy(cell.bias)
    )
    n = cell.complex_units
    moduli = np.abs(z[:, 3 * n : 4 * n] + 1j * z[:, 4 * n : 5 * n])
    assert 0 < np.mean(moduli > 1) < 1


def holes_mask(steps=6):
    mask = np.ones((BATCH, steps), bool)
    mask[0, 4:] = False  # padding at the end
    mask[1, :2] = False  # at the start
    mask[2, 3] = False  # a skipped step
    return mask


def test_masked_steps_keep_h_and_memory():
    x = random_inputs(steps=6)
    mask = holes_mask()
    layer = built_layer(x, num_copies=2)
    outputs, h, memory = (
        keras.ops.convert_to_numpy(t) for t in layer(x, mask=mask)
    )
    expected_outputs, expected_h, expected_c = reference(layer, x, mask=mask)
    np.testing.assert_allclose(outputs, expected_outputs, **TOLERANCE)
    np.testing.assert_allclose(h, expected_h, **TOLERANCE)
    np.testing.assert_allclose(
        memory_as_complex(memory, 2), expected_c, **TOLERANCE
    )


def test_cell_in_keras_rnn_equals_the_layer():
    x = random_inputs()
    layer = built_layer(x)
    rnn = keras.layers.RNN(
        AssociativeLSTMCell(UNITS), return_sequences=True, return_state=True
    )
    rnn.build(x.shape)
    rnn.set_weights(layer.get_weights())
    assert_all_close(rnn(x), layer(x))


def assert_all_close(got, expected, tolerance=TOLERANCE):
    for got_tensor, expected_tensor in zip(got, expected, strict=True):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(got_tensor),
            keras.ops.convert_to_numpy(expected_tensor),
            **tolerance,
        )


# The layer against the reference on every option of keras.layers.RNN that
# changes the loop. Keras's unrolled loop (`unroll=True`) is checked with a
# mask only forwards and without zero_output_for_mask: with go_backwards it
# fails on torch, and it ignores zero_output_for_mask on JAX.
OPTIONS = [
    {"masked": masked, **options}
    for masked in (False, True)
    for options in (
        {},
        {"go_backwards": True},
        {"zero_output_for_mask": True},
        {"go_backwards": True, "zero_output_for_mask": True},
        {"unroll": True},
    )
] + [{"masked": False, "unroll": True, "go_backwards": True}]


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_matches_reference_with_options(options):
    options = dict(options)
    masked = options.pop("masked")
    go_backwards = options.get("go_backwards", False)
    zero_output_for_mask = options.get("zero_output_for_mask", False)
    x = random_inputs(steps=6)
    mask = holes_mask() if masked else None
    layer = built_layer(x, num_copies=2, **options)
    x_seen, mask_seen = x, mask
    if go_backwards:  # Keras returns the outputs in the order it ran.
        x_seen = x[:, ::-1]
        mask_seen = None if mask is None else mask[:, ::-1]
    outputs, h, c = reference(layer, x_seen, mask=mask_seen)
    if mask_seen is not None and zero_output_for_mask:
        outputs = np.where(mask_seen[..., None], outputs, 0.0)
    got_outputs, got_h, got_memory = layer(x, mask=mask)
    assert_all_close([got_outputs, got_h], [outputs, h])
    np.testing.assert_allclose(
        memory_as_complex(keras.ops.convert_to_numpy(got_memory), 2),
        c,
        **TOLERANCE,
    )


def test_state_layout_and_initial_bias():
    cell = AssociativeLSTMCell(8, num_copies=3)
    assert cell.state_size == [8, 24]
    cell.build((None, FEATURES))
    n = 4
    assert cell.kernel.shape == (FEATURES, 3 * n + 3 * 8)
    bias = keras.ops.convert_to_numpy(cell.bias)
    # unit_forget_bias: the forget gate starts at σ(1), the rest at 0.
    np.testing.assert_array_equal(bias[:n], 1.0)
    np.testing.assert_array_equal(bias[n:], 0.0)


def test_permutations_are_fixed_by_the_seed():
    a = AssociativeLSTMCell(40, num_copies=4, permutation_seed=3)
    b = AssociativeLSTMCell(40, num_copies=4, permutation_seed=3)
    c = AssociativeLSTMCell(40, num_copies=4, permutation_seed=4)
    np.testing.assert_array_equal(a.permutations, b.permutations)
    assert not np.array_equal(a.permutations, c.permutations)
    assert a.permutations.shape == (4, 20)
    for permutation in a.permutations:
        assert sorted(permutation) == list(range(20))
    # The copies are permuted differently from each other.
    assert len({tuple(p) for p in a.permutations}) == 4
    restored = AssociativeLSTMCell.from_config(a.get_config())
    np.testing.assert_array_equal(restored.permutations, a.permutations)


def test_output_modulus_is_at_most_the_output_gate():
    """bound: every complex unit of h has modulus <= g_o < 1."""
    x = 10.0 * random_inputs(steps=4)
    layer = built_layer(x, scale=2.0, num_copies=2)
    _, h, _ = layer(x)
    h = keras.ops.convert_to_numpy(h)
    modulus = np.abs(h[:, : UNITS // 2] + 1j * h[:, UNITS // 2 :])
    assert np.all(modulus < 1.0)


def test_trains_with_finite_gradients_from_a_zero_state():
    """`bound` has a finite gradient where |·| = 0, e.g. at h(0) = 0."""
    x = random_inputs()
    model = keras.Sequential(
        [keras.Input((STEPS, FEATURES)), AssociativeLSTM(UNITS)]
    )
    model.compile("adam", "mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, np.ones((BATCH, UNITS)), epochs=2, verbose=0)
    after = model.get_weights()
    assert all(np.all(np.isfinite(w)) for w in after)
    assert any(not np.allclose(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("use_layer", [True, False])
def test_keras_file_round_trip(tmp_path, use_layer):
    x = random_inputs()
    if use_layer:
        recurrent = AssociativeLSTM(
            UNITS,
            num_copies=2,
            permutation_seed=7,
            return_sequences=True,
        )
    else:
        recurrent = keras.layers.RNN(
            AssociativeLSTMCell(UNITS, num_copies=2, permutation_seed=7),
            return_sequences=True,
        )
    model = keras.Sequential([keras.Input((STEPS, FEATURES)), recurrent])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)),
        keras.ops.convert_to_numpy(model(x)),
        rtol=1e-6,
        atol=1e-6,
    )
    cell = loaded.layers[0].cell
    assert cell.num_copies == 2 and cell.permutation_seed == 7


def test_layer_config_round_trip():
    layer = AssociativeLSTM(
        UNITS, num_copies=2, unit_forget_bias=False, return_state=True
    )
    restored = AssociativeLSTM.from_config(layer.get_config())
    assert restored.get_config() == layer.get_config()
    assert restored.units == UNITS and restored.num_copies == 2
    assert restored.return_state


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(units=5), ValueError, "units=5"),
        (dict(units=0), ValueError, "units=0"),
        (dict(units=True), TypeError, "units=True"),
        (dict(units=4.0), TypeError, "units=4.0"),
        (dict(units=4, num_copies=0), ValueError, "num_copies=0"),
        (dict(units=4, num_copies="2"), TypeError, "num_copies='2'"),
        (dict(units=4, permutation_seed=-1), ValueError, "permutation_seed"),
    ],
)
def test_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        AssociativeLSTMCell(**kwargs)
    with pytest.raises(error, match=message):
        AssociativeLSTM(**kwargs)


def test_rejects_unknown_feature_dimension():
    with pytest.raises(ValueError, match="feature"):
        AssociativeLSTMCell(4).build((None, None))
