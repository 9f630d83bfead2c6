"""Multi-query associative recall (Zoology): the data set
(`datasets.mqar`) and its models (`models.build_mqar_model`)."""

import keras
import numpy as np
import pytest

from keras_fastweights import models
from keras_fastweights.datasets import mqar
from keras_fastweights.layers import FastWeightsRNN

IGNORE = mqar.IGNORE_CLASS
# Zoology's cells of Figure 2, and small ones with few places to spare.
SHAPES = [(64, 4), (128, 8), (256, 16), (8, 2), (16, 4)]

data_test = pytest.mark.backend_independent


def bindings(inputs, num_pairs):
    """Each row's pairs, as `{key: value}`, read off the first tokens."""
    context = inputs[:, : 2 * num_pairs]
    return [dict(zip(row[0::2], row[1::2])) for row in context.tolist()]


def queries(inputs, targets):
    """Each row's `[(position, key, target)]` where a target is set."""
    return [
        [(p, row[p], target[p]) for p in np.flatnonzero(target != IGNORE)]
        for row, target in zip(inputs.tolist(), targets)
    ]


@data_test
@pytest.mark.parametrize("sequence_length, num_pairs", SHAPES)
def test_shapes_and_dtypes(sequence_length, num_pairs):
    inputs, targets = mqar.generate(
        50, sequence_length, num_pairs, vocab_size=1024, seed=3
    )
    shape = (50, sequence_length)
    assert inputs.shape == shape and targets.shape == shape
    assert inputs.dtype == np.int32 and targets.dtype == np.int32


@data_test
@pytest.mark.parametrize("vocab_size", [17, 20, 1024, 8192])
def test_keys_and_values_in_their_halves(vocab_size):
    inputs, _ = mqar.generate(400, 16, 4, vocab_size=vocab_size, seed=1)
    half = vocab_size // 2
    keys, values = inputs[:, 0:8:2], inputs[:, 1:8:2]
    assert keys.min() >= 1 and keys.max() < half
    assert values.min() >= half and values.max() < vocab_size
    # Every key and value can come up: the draws cover their ranges.
    if vocab_size <= 20:
        assert set(keys.ravel()) == set(range(1, half))
        assert set(values.ravel()) == set(range(half, vocab_size))


@data_test
@pytest.mark.parametrize("vocab_size", [17, 1024])
def test_keys_and_values_distinct_within_a_sequence(vocab_size):
    # At 17 tokens there are 7 keys for 4 pairs: repeats would be common.
    inputs, _ = mqar.generate(2000, 16, 4, vocab_size=vocab_size, seed=2)
    for part in (inputs[:, 0:8:2], inputs[:, 1:8:2]):
        assert (
            np.sort(part, axis=1)[:, 1:] != np.sort(part, axis=1)[:, :-1]
        ).all()


@data_test
def test_pair_order_is_uniform():
    """Every key of a small vocabulary is as likely in each pair's place
    (a sorted or biased draw of keys would not be)."""
    inputs, _ = mqar.generate(20_000, 16, 4, vocab_size=18, seed=4)
    for place in range(4):
        counts = np.bincount(inputs[:, 2 * place], minlength=9)[1:]
        # 8 keys: 2,500 each; binomial sd about 47.
        assert np.abs(counts - 2500).max() < 250, (place, counts)


@data_test
@pytest.mark.parametrize("random_non_queries", [True, False])
@pytest.mark.parametrize("sequence_length, num_pairs", SHAPES)
def test_pairs_first_then_one_query_per_key(
    sequence_length, num_pairs, random_non_queries
):
    inputs, targets = mqar.generate(
        200,
        sequence_length,
        num_pairs,
        vocab_size=4 * sequence_length,
        seed=5,
        random_non_queries=random_non_queries,
    )
    context = 2 * num_pairs
    assert (targets[:, :context] == IGNORE).all()
    for binding, asked in zip(
        bindings(inputs, num_pairs), queries(inputs, targets)
    ):
        positions = [p for p, _, _ in asked]
        # After the pairs, on even offsets from their end, each key once.
        assert min(positions) >= context
        assert all((p - context) % 2 == 0 for p in positions)
        assert sorted(key for _, key, _ in asked) == sorted(binding)


@data_test
@pytest.mark.parametrize("random_non_queries", [True, False])
@pytest.mark.parametrize("sequence_length, num_pairs", SHAPES)
def test_target_of_a_query_is_the_value_bound_to_its_key(
    sequence_length, num_pairs, random_non_queries
):
    inputs, targets = mqar.generate(
        200,
        sequence_length,
        num_pairs,
        vocab_size=4 * sequence_length,
        seed=6,
        random_non_queries=random_non_queries,
    )
    for binding, asked in zip(
        bindings(inputs, num_pairs), queries(inputs, targets)
    ):
        assert len(asked) == num_pairs
        for _, key, target in asked:
            assert target == binding[key]


@data_test
def test_zero_fillers():
    """`random_non_queries=False` (Zoology's Figure 2): 0 wherever no pair
    is bound and no key asked."""
    inputs, targets = mqar.generate(
        300, 64, 4, vocab_size=256, seed=7, random_non_queries=False
    )
    filler = np.ones(inputs.shape, dtype=bool)
    filler[:, :8] = False
    filler[targets != IGNORE] = False
    assert (inputs[filler] == 0).all()
    assert (inputs[~filler] > 0).all()


@data_test
def test_random_fillers_cover_the_vocabulary():
    """By default (Zoology's generator), the other tokens are uniform over
    every token id, 0 included; the pairs and queries are those of the
    zero-filled data of the same seed."""
    inputs, targets = mqar.generate(2000, 64, 4, vocab_size=256, seed=8)
    filler = np.ones(inputs.shape, dtype=bool)
    filler[:, :8] = False
    filler[targets != IGNORE] = False
    counts = np.bincount(inputs[filler], minlength=256)
    assert len(counts) == 256
    # 104,000 fillers over 256 ids: 406 each, binomial sd about 20.
    assert np.abs(counts - inputs[filler].size / 256).max() < 120
    zeros, same_targets = mqar.generate(
        2000, 64, 4, vocab_size=256, seed=8, random_non_queries=False
    )
    np.testing.assert_array_equal(targets, same_targets)
    np.testing.assert_array_equal(inputs[~filler], zeros[~filler])


@data_test
@pytest.mark.parametrize("power_a", [0.01, 0.5, 1.0])
def test_query_gaps_follow_the_power_law(power_a):
    """The first pair's key is asked `2 * gap` after the pairs, its gap
    drawn first with probability ∝ `(gap + 1) ** (power_a - 1)` over
    `[0, (T - 2K) / 2)`: Zoology's power law, uniform at 1."""
    num_examples, sequence_length, num_pairs = 20_000, 32, 2
    inputs, targets = mqar.generate(
        num_examples,
        sequence_length,
        num_pairs,
        vocab_size=64,
        seed=9,
        power_a=power_a,
    )
    first_key = inputs[:, 0]
    asked = (targets != IGNORE) & (inputs == first_key[:, None])
    assert (asked.sum(axis=1) == 1).all()
    gaps = (np.argmax(asked, axis=1) - 2 * num_pairs) // 2
    space = (sequence_length - 2 * num_pairs) // 2
    expected = np.arange(1, space + 1) ** (power_a - 1.0)
    expected = num_examples * expected / expected.sum()
    observed = np.bincount(gaps, minlength=space)
    assert len(observed) == space
    # Each count within 5 binomial standard deviations (and 10).
    tolerance = 5 * np.sqrt(expected) + 10
    assert (np.abs(observed - expected) < tolerance).all(), (
        observed,
        expected.round(),
    )


@data_test
def test_seeded_and_exact():
    """The same arguments give the same arrays, here pinned, whatever the
    backend; another seed gives others."""
    first = mqar.generate(500, 64, 4, vocab_size=1024, seed=11)
    again = mqar.generate(500, 64, 4, vocab_size=1024, seed=11)
    other = mqar.generate(500, 64, 4, vocab_size=1024, seed=12)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])
    inputs, targets = mqar.generate(
        2, 16, 2, vocab_size=20, seed=0, random_non_queries=False
    )
    assert inputs.tolist() == [
        [5, 14, 7, 19, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 7, 0],
        [6, 17, 3, 15, 3, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0],
    ]
    assert (
        targets[1].tolist()
        == [-100] * 4 + [15, -100, -100, -100, 17] + [-100] * 7
    )


@data_test
def test_the_vocabulary_keeps_zoology_s_answers_per_value():
    """Each value is the answer as often over a training as in Zoology's
    (64, 4) configuration, whose own vocabulary comes back."""
    assert mqar.scaled_vocab_size(100_000, 64, 4, 64) == 8192
    for num_train, epochs, pairs in [(10_000, 16, 4), (20_000, 8, 8)]:
        vocab = mqar.scaled_vocab_size(num_train, epochs, pairs, 64)
        ratio = num_train * epochs * pairs / (vocab // 2)
        assert abs(ratio - mqar.ZOOLOGY_ANSWERS_PER_VALUE) < 0.01 * ratio
    # Never at or below the sequence's length, which generate refuses.
    assert mqar.scaled_vocab_size(10, 1, 1, 64) == 66
    with pytest.raises(ValueError, match="epochs"):
        mqar.scaled_vocab_size(10_000, 0, 4, 64)


@data_test
def test_load_data_splits_one_draw():
    (x_train, y_train), (x_test, y_test) = mqar.load_data(
        64, 4, num_train=300, num_test=100, vocab_size=1024, seed=13
    )
    inputs, targets = mqar.generate(400, 64, 4, vocab_size=1024, seed=13)
    np.testing.assert_array_equal(x_train, inputs[:300])
    np.testing.assert_array_equal(y_test, targets[300:])
    assert x_test.shape == (100, 64) and y_train.shape == (300, 64)


@data_test
def test_model_inputs_are_the_queries_and_their_answers():
    inputs, targets = mqar.generate(100, 64, 4, vocab_size=1024, seed=14)
    x, y = mqar.model_inputs(inputs, targets)
    assert set(x) == {"tokens", "positions"}
    np.testing.assert_array_equal(x["tokens"], inputs)
    positions = x["positions"]
    assert positions.shape == y.shape == (100, 4)
    assert positions.dtype == y.dtype == np.int32
    assert (np.diff(positions, axis=1) > 0).all()
    rows = np.arange(100)[:, None]
    np.testing.assert_array_equal(targets[rows, positions], y)
    elsewhere = np.ones(targets.shape, dtype=bool)
    elsewhere[rows, positions] = False
    assert (targets[elsewhere] == IGNORE).all()


@data_test
@pytest.mark.parametrize(
    "kwargs, error, mentioned",
    [
        ({"num_examples": 0}, ValueError, "num_examples=0"),
        ({"num_examples": 2.0}, TypeError, "num_examples=2.0"),
        ({"sequence_length": 0}, ValueError, "sequence_length=0"),
        ({"sequence_length": 63}, ValueError, "sequence_length=63"),
        ({"num_pairs": 0}, ValueError, "num_pairs=0"),
        ({"num_pairs": 17}, ValueError, "num_pairs=17"),
        ({"vocab_size": 64}, ValueError, "vocab_size=64"),
        ({"vocab_size": 0}, ValueError, "vocab_size=0"),
        ({"seed": -1}, ValueError, "seed=-1"),
        ({"power_a": 0.0}, ValueError, "power_a=0.0"),
        ({"power_a": float("inf")}, ValueError, "power_a=inf"),
        ({"random_non_queries": "yes"}, TypeError, "random_non_queries='yes'"),
    ],
)
def test_bad_arguments_raise_naming_them(kwargs, error, mentioned):
    arguments = {
        "num_examples": 10,
        "sequence_length": 64,
        "num_pairs": 4,
        "vocab_size": 1024,
        **kwargs,
    }
    with pytest.raises(error, match=mentioned):
        mqar.generate(**arguments)


@data_test
@pytest.mark.parametrize(
    "kwargs, mentioned",
    [({"num_train": 0}, "num_train=0"), ({"num_test": -1}, "num_test=-1")],
)
def test_load_data_bad_sizes(kwargs, mentioned):
    with pytest.raises(ValueError, match=mentioned):
        mqar.load_data(64, 4, **kwargs)


@data_test
def test_model_inputs_refuses_rows_with_other_numbers_of_answers():
    with pytest.raises(ValueError, match=r"\[1, 2\] answers"):
        mqar.model_inputs(
            [[1, 2, 3], [4, 5, 6]], [[7, 8, -100], [9, -100, -100]]
        )
    with pytest.raises(ValueError, match="targets of shape"):
        mqar.model_inputs([[1, 2, 3]], [[7, -100]])
    with pytest.raises(ValueError, match=r"inputs of shape \(3,\)"):
        mqar.model_inputs([1, 2, 3], [7, -100, -100])


# The models: tiny, called eagerly (no compilation).
TINY = {"sequence_length": 8, "vocab_size": 16}
MIXER_CLASSES = {
    "attention": "MultiHeadAttention",
    "hebbian": "FastWeightsRNN",
    "delta": "FastWeightsRNN",
    "lstm": "LSTM",
}


def tiny_data(num_examples=4, seed=0):
    return mqar.model_inputs(
        *mqar.generate(num_examples, 8, 2, vocab_size=16, seed=seed)
    )


def logits(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def read_out_from(model, layer, x):
    """The model's final norm and read-out applied to the output of its
    layer named `layer` at the queries' positions of `x`."""
    features = keras.Model(model.input["tokens"], model.get_layer(layer).output)
    hidden = keras.ops.convert_to_numpy(features(x["tokens"]))
    rows = np.arange(len(hidden))[:, None]
    at_queries = hidden[rows, x["positions"]]
    read_out = model.get_layer("logits")(
        model.get_layer("final_norm")(at_queries)
    )
    return keras.ops.convert_to_numpy(read_out)


@pytest.mark.parametrize("mixer", models.MQAR_MIXERS)
def test_model_is_zoologys_shape(mixer):
    model = models.build_mqar_model(mixer, 4, **TINY)
    assert model.name == f"mqar_{mixer}_d4"
    for block in (1, 2):
        layer = model.get_layer(f"mixer_{block}")
        assert type(layer).__name__ == MIXER_CLASSES[mixer]
        if mixer in ("hebbian", "delta"):
            assert isinstance(layer, FastWeightsRNN)
            assert layer.update_rule == mixer
        model.get_layer(f"norm_{block}")
        model.get_layer(f"residual_{block}")
    names = [layer.name for layer in model.layers]
    assert ("position_embedding" in names) == (mixer == "attention")
    assert "mixer_3" not in names
    x, y = tiny_data()
    assert logits(model, x).shape == (4, 2, 16) == (*y.shape, 16)


@pytest.mark.parametrize("mixer", models.MQAR_MIXERS)
def test_read_out_at_given_positions_is_the_read_out_there(mixer):
    """The logits at the given positions are the final norm and read-out
    of the last block's output there, as a read-out at every position would
    give them."""
    model = models.build_mqar_model(mixer, 4, seed=1, **TINY)
    x, _ = tiny_data()
    np.testing.assert_allclose(
        logits(model, x),
        read_out_from(model, "residual_2", x),
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.parametrize("mixer", ["attention", "lstm"])
def test_blocks_are_residual(mixer):
    """With its mixers' weights at zero (they then output 0), the model
    reads out its embedding: every block adds to its input."""
    model = models.build_mqar_model(mixer, 4, seed=4, **TINY)
    for block in (1, 2):
        layer = model.get_layer(f"mixer_{block}")
        layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    x, _ = tiny_data()
    embedded = "embedding_and_position" if mixer == "attention" else "embedding"
    np.testing.assert_allclose(
        logits(model, x),
        read_out_from(model, embedded, x),
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.parametrize("mixer", models.MQAR_MIXERS)
def test_model_is_causal(mixer):
    """The logits at a position depend on the tokens up to it, not on the
    later ones."""
    model = models.build_mqar_model(mixer, 4, seed=2, **TINY)
    x, _ = tiny_data()
    x["positions"] = np.tile(np.arange(8, dtype="int32"), (4, 1))
    changed = {**x, "tokens": x["tokens"].copy()}
    changed["tokens"][:, 5] = (changed["tokens"][:, 5] + 1) % 16
    before, after = logits(model, x), logits(model, changed)
    np.testing.assert_allclose(before[:, :5], after[:, :5], atol=1e-6)
    assert np.abs(before[:, 5:] - after[:, 5:]).max() > 1e-4


@pytest.mark.parametrize("mixer", models.MQAR_MIXERS)
def test_model_round_trips_through_keras_file(mixer, tmp_path):
    model = models.build_mqar_model(mixer, 4, seed=3, **TINY)
    x, _ = tiny_data()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.name == model.name
    np.testing.assert_allclose(logits(loaded, x), logits(model, x), atol=1e-6)


def test_model_has_num_layers_blocks():
    model = models.build_mqar_model("lstm", 4, num_layers=3, **TINY)
    names = [layer.name for layer in model.layers]
    assert {"mixer_1", "mixer_2", "mixer_3", "residual_3"} <= set(names)
    assert "mixer_4" not in names


def test_model_is_compiled_with_adamw():
    model = models.build_mqar_model(
        "lstm", 4, learning_rate=3e-3, weight_decay=0.05, **TINY
    )
    assert isinstance(model.optimizer, keras.optimizers.AdamW)
    assert float(model.optimizer.learning_rate) == pytest.approx(3e-3)
    assert model.optimizer.weight_decay == pytest.approx(0.05)
    assert models.build_mqar_model(
        "lstm", 4, **TINY
    ).optimizer.weight_decay == pytest.approx(0.1)


def test_model_seed_fixes_the_weights():
    first, again, other = (
        models.build_mqar_model("attention", 4, seed=seed, **TINY)
        for seed in (5, 5, 6)
    )
    x, _ = tiny_data()
    np.testing.assert_array_equal(logits(first, x), logits(again, x))
    assert not np.allclose(logits(first, x), logits(other, x))


@pytest.mark.parametrize(
    "kwargs, error, mentioned",
    [
        ({"mixer": "gru"}, ValueError, "mixer='gru'"),
        ({"d_model": 0}, ValueError, "d_model=0"),
        ({"d_model": 4.0}, TypeError, "d_model=4.0"),
        ({"sequence_length": 0}, ValueError, "sequence_length=0"),
        ({"vocab_size": 1}, ValueError, "vocab_size=1"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate=0.0"),
        ({"weight_decay": -0.1}, ValueError, "weight_decay=-0.1"),
        ({"num_layers": 0}, ValueError, "num_layers=0"),
        ({"seed": -1}, ValueError, "seed=-1"),
    ],
)
def test_model_bad_arguments_raise_naming_them(kwargs, error, mentioned):
    arguments = {"mixer": "lstm", "d_model": 4, **TINY, **kwargs}
    with pytest.raises(error, match=mentioned):
        models.build_mqar_model(**arguments)
