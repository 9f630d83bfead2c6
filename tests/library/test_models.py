"""The paper's retrieval models: keras_fastweights.models."""

import math

import keras
import numpy as np
import pytest

from keras_fastweights import AssociativeLSTM
from keras_fastweights import FastWeightsRNN
from keras_fastweights import FastWeightsRNNCell
from keras_fastweights.models import ASSOCIATIVE_LSTM_COPIES
from keras_fastweights.models import MODEL_KINDS
from keras_fastweights.models import build_retrieval_model

UNITS = 6


def build(kind):
    """A model of `kind` as the tests below read it (building compiles no
    step: cheap)."""
    keras.utils.set_random_seed(0)
    return build_retrieval_model(kind, UNITS, learning_rate=1e-2)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_architecture(kind):
    model = build(kind)
    assert model.name == f"{kind}_{UNITS}"
    assert model.input_shape == (None, 11)
    assert model.output_shape == (None, 10)

    embedding = model.get_layer("embedding")
    assert isinstance(embedding, keras.layers.Embedding)
    assert (embedding.input_dim, embedding.output_dim) == (37, 100)
    hidden, logits = model.get_layer("hidden"), model.get_layer("logits")
    assert hidden.units == 100
    assert hidden.activation is keras.activations.relu
    assert logits.units == 10
    assert logits.activation is keras.activations.linear

    recurrent = model.get_layer("recurrent")
    assert recurrent.units == UNITS
    assert not recurrent.return_sequences
    assert [layer.name for layer in model.layers[1:]] == [
        "embedding",
        "recurrent",
        "hidden",
        "logits",
    ]


def test_sequence_length_follows_num_pairs():
    model = build_retrieval_model("lstm", UNITS, num_pairs=7)
    assert model.input_shape == (None, 17)


def test_fast_weights_layer_has_the_paper_settings():
    recurrent = build("fast_weights").get_layer("recurrent")
    assert isinstance(recurrent, keras.layers.RNN)
    assert isinstance(recurrent, FastWeightsRNN)
    cell = recurrent.cell
    assert isinstance(cell, FastWeightsRNNCell)
    assert cell.decay_rate == 0.95
    assert cell.fast_learning_rate == 0.5
    assert cell.inner_steps == 1
    assert cell.use_layer_norm


def test_irnn_layer_is_relu_with_identity_recurrence():
    recurrent = build_retrieval_model("irnn", UNITS).get_layer("recurrent")
    assert type(recurrent) is keras.layers.SimpleRNN
    assert recurrent.cell.activation is keras.activations.relu
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(recurrent.cell.recurrent_kernel),
        np.eye(UNITS),
    )


def test_lstm_layer():
    recurrent = build("lstm").get_layer("recurrent")
    assert type(recurrent) is keras.layers.LSTM


def test_fast_weights_options_reach_the_layer():
    model = build_retrieval_model(
        "fast_weights",
        UNITS,
        update_rule="delta",
        fast_weights_options={"decay_rate": 0.5, "inner_steps": 2},
        name="options",
    )
    cell = model.get_layer("recurrent").cell
    assert (cell.update_rule, cell.decay_rate, cell.inner_steps) == (
        "delta",
        0.5,
        2,
    )
    assert model.name == "options"
    delta = build_retrieval_model("fast_weights", UNITS, update_rule="delta")
    assert delta.name == f"fast_weights_{UNITS}_delta"


def test_associative_lstm_layer_is_seeded():
    def layer(seed):
        model = build_retrieval_model("associative_lstm", UNITS, seed=seed)
        return model.get_layer("recurrent")

    recurrent = layer(5)
    assert type(recurrent) is AssociativeLSTM
    assert recurrent.num_copies == ASSOCIATIVE_LSTM_COPIES
    assert recurrent.cell.permutation_seed == 5
    assert layer(None).cell.permutation_seed == 0


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_compiled_with_adam_and_logit_loss(kind):
    model = build(kind)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert math.isclose(
        float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)),
        1e-2,
        rel_tol=1e-6,
    )
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert model.loss.get_config()["from_logits"]


def test_default_learning_rate():
    model = build_retrieval_model("lstm", UNITS)
    assert math.isclose(
        float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)),
        1e-3,
        rel_tol=1e-6,
    )


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_trains_then_saves_and_loads(kind, data, tmp_path):
    """Eight steps on one batch lower the loss; the trained model saves and
    loads with the same predictions. One test per kind, so that each
    kind's training step compiles once in the suite (on one worker)."""
    (x, y), (x_val, _), _ = data
    model = build(kind)
    # train_on_batch reports the loss before its update.
    logs = [
        model.train_on_batch(x[:32], y[:32], return_dict=True) for _ in range(8)
    ]
    assert sorted(logs[0]) == ["accuracy", "loss"]
    losses = [step["loss"] for step in logs]
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < losses[0] - 0.05, losses

    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.name == model.name
    assert type(loaded.get_layer("recurrent")) is type(
        model.get_layer("recurrent")
    )
    np.testing.assert_allclose(
        loaded.predict(x_val, verbose=0),
        model.predict(x_val, verbose=0),
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"model": "gru"}, ValueError, "model='gru'"),
        ({"model": None}, ValueError, "model=None"),
        ({"units": 0}, ValueError, "units=0"),
        ({"units": -5}, ValueError, "units=-5"),
        ({"units": 2.5}, TypeError, "units=2.5"),
        ({"units": True}, TypeError, "units=True"),
        ({"learning_rate": 0}, ValueError, "learning_rate=0"),
        ({"learning_rate": -1e-3}, ValueError, "learning_rate=-0.001"),
        ({"learning_rate": float("nan")}, ValueError, "learning_rate=nan"),
        ({"learning_rate": "fast"}, TypeError, "learning_rate='fast'"),
        ({"num_pairs": 27}, ValueError, "num_pairs=27"),
        ({"embedding_dim": 0}, ValueError, "embedding_dim=0"),
        ({"hidden_dim": "100"}, TypeError, "hidden_dim='100'"),
        ({"learning_rate": True}, TypeError, "learning_rate=True"),
        ({"seed": -1}, ValueError, "seed=-1"),
        ({"seed": 1.0}, TypeError, "seed=1.0"),
        ({"update_rule": "oja"}, ValueError, "update_rule='oja'"),
        ({"update_rule": "delta"}, ValueError, "model='lstm'"),
        ({"fast_weights_options": {"inner_steps": 2}}, ValueError, "lstm"),
    ],
)
def test_build_bad_arguments(kwargs, error, match):
    arguments = {"model": "lstm", "units": UNITS, **kwargs}
    with pytest.raises(error, match=match):
        build_retrieval_model(**arguments)
