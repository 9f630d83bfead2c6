"""The paper's retrieval models and the training recipe around them."""

import csv
import math

import keras
import numpy as np
import pytest

from keras_fastweights import FastWeightsRNN
from keras_fastweights import FastWeightsRNNCell
from keras_fastweights import training
from keras_fastweights.datasets import associative_retrieval
from keras_fastweights.models import MODEL_KINDS
from keras_fastweights.models import build_retrieval_model

UNITS = 6


@pytest.fixture(scope="module")
def data():
    return associative_retrieval.load_data(
        num_train=256, num_val=64, num_test=64, seed=0
    )


@pytest.fixture(scope="module")
def trained(data):
    """One model of each kind and its logs of 8 steps on one batch.

    Built once per kind because compiling a training step is the slow part.
    """
    (x, y), _, _ = data
    keras.utils.set_random_seed(0)
    result = {}
    for kind in MODEL_KINDS:
        model = build_retrieval_model(kind, UNITS, learning_rate=1e-2)
        # train_on_batch reports the loss before its update.
        logs = [
            model.train_on_batch(x[:32], y[:32], return_dict=True)
            for _ in range(8)
        ]
        result[kind] = model, logs
    return result


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_architecture(kind, trained):
    model, _ = trained[kind]
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


def test_fast_weights_layer_has_the_paper_settings(trained):
    recurrent = trained["fast_weights"][0].get_layer("recurrent")
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


def test_lstm_layer(trained):
    recurrent = trained["lstm"][0].get_layer("recurrent")
    assert type(recurrent) is keras.layers.LSTM


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_compiled_with_adam_and_logit_loss(kind, trained):
    model, _ = trained[kind]
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
def test_training_steps_lower_the_loss(kind, trained):
    _, logs = trained[kind]
    assert sorted(logs[0]) == ["accuracy", "loss"]
    losses = [step["loss"] for step in logs]
    assert all(math.isfinite(loss) for loss in losses)
    assert losses[-1] < losses[0] - 0.1, losses


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_save_and_load(kind, trained, data, tmp_path):
    _, (x, _), _ = data
    model, _ = trained[kind]
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.name == model.name
    assert type(loaded.get_layer("recurrent")) is type(
        model.get_layer("recurrent")
    )
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0),
        model.predict(x, verbose=0),
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"kind": "gru"}, ValueError, "kind='gru'"),
        ({"kind": None}, ValueError, "kind=None"),
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
    ],
)
def test_build_bad_arguments(kwargs, error, match):
    arguments = {"kind": "lstm", "units": UNITS, **kwargs}
    with pytest.raises(error, match=match):
        build_retrieval_model(**arguments)


def constant_answer_model(digit, length=11):
    """A model that answers `digit` for every sequence."""
    tokens = keras.Input(shape=(length,), dtype="int32")
    logits = keras.layers.Lambda(
        lambda t: keras.ops.one_hot(
            keras.ops.full(keras.ops.shape(t)[:1], digit, dtype="int32"), 10
        )
    )(tokens)
    return keras.Model(tokens, logits)


@pytest.mark.parametrize("digit", [0, 3])
def test_test_error_percent_counts_wrong_answers(digit, data):
    _, _, (x, y) = data
    error = training.test_error_percent(
        constant_answer_model(digit), x, y, batch_size=16
    )
    assert error == pytest.approx(100.0 * np.mean(y != digit))


def test_test_error_percent_bad_arguments(data):
    _, _, (x, y) = data
    model = constant_answer_model(0)
    with pytest.raises(ValueError, match="64 sequences and 63 targets"):
        training.test_error_percent(model, x, y[:-1])
    with pytest.raises(ValueError, match="batch_size=0"):
        training.test_error_percent(model, x, y, batch_size=0)


def test_retrieval_callbacks():
    callbacks = training.retrieval_callbacks(patience=4)
    assert [type(c) for c in callbacks] == [
        keras.callbacks.EarlyStopping,
        training.StopAtAccuracy,
    ]
    early_stopping = callbacks[0]
    assert early_stopping.monitor == "val_accuracy"
    assert early_stopping.patience == 4
    assert early_stopping.restore_best_weights
    with pytest.raises(ValueError, match="patience=0"):
        training.retrieval_callbacks(patience=0)
    with pytest.raises(ValueError, match="target=1.5"):
        training.retrieval_callbacks(target_accuracy=1.5)


def test_train_writes_history_and_best_model(data, tmp_path):
    train, val, _ = data
    keras.utils.set_random_seed(0)
    model = build_retrieval_model("lstm", UNITS)
    callbacks = training.retrieval_callbacks(tmp_path / "run", patience=5)
    history = training.train_retrieval_model(
        model, train, val, epochs=2, callbacks=callbacks, verbose=0
    )
    assert history.epoch == [0, 1]
    with open(tmp_path / "run" / "history.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(row["epoch"]) for row in rows] == [0, 1]
    np.testing.assert_allclose(
        [float(row["val_accuracy"]) for row in rows],
        history.history["val_accuracy"],
        rtol=1e-6,
    )
    saved = keras.saving.load_model(tmp_path / "run" / "model.keras")
    # EarlyStopping restored the best epoch, the one ModelCheckpoint saved.
    np.testing.assert_allclose(
        saved.predict(val[0], verbose=0),
        model.predict(val[0], verbose=0),
        rtol=1e-5,
        atol=1e-5,
    )


def test_training_stops_at_target_accuracy(data):
    train, val, _ = data
    model = build_retrieval_model("lstm", UNITS)
    # Any accuracy reaches a target of 1e-9: training ends after one epoch.
    callbacks = training.retrieval_callbacks(target_accuracy=1e-9)
    history = training.train_retrieval_model(
        model, train, val, epochs=5, callbacks=callbacks, verbose=0
    )
    assert history.epoch == [0]
    assert callbacks[1].stopped_epoch == 0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"epochs": 0}, ValueError, "epochs=0"),
        ({"batch_size": 2.0}, TypeError, "batch_size=2.0"),
        ({"train_data": "x"}, TypeError, "train_data of type str"),
        ({"val_data": ([], [])}, ValueError, "val_data"),
    ],
)
def test_train_bad_arguments(kwargs, error, match, data):
    train, val, _ = data
    arguments = {
        "model": build_retrieval_model("lstm", UNITS),
        "train_data": train,
        "val_data": val,
        "epochs": 1,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        training.train_retrieval_model(**arguments, verbose=0)


def test_plot_history(tmp_path):
    history = {
        "accuracy": [0.2, 0.7, 0.99],
        "val_accuracy": [0.25, 0.8, 1.0],
        "loss": [2.0, 1.0, 0.1],
    }
    csv_path = tmp_path / "history.csv"
    with open(csv_path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["epoch", *history])
        writer.writerows(zip(range(3), *history.values()))
    for source, name in ((history, "dict.png"), (csv_path, "csv.png")):
        figure = training.plot_history(source, tmp_path / name)
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        (axes,) = figure.axes
        lines = {line.get_label(): line for line in axes.get_lines()}
        assert sorted(lines) == ["training", "validation"]
        for label, key in (
            ("training", "accuracy"),
            ("validation", "val_accuracy"),
        ):
            np.testing.assert_array_equal(lines[label].get_xdata(), [1, 2, 3])
            np.testing.assert_allclose(
                lines[label].get_ydata(),
                [100 * (1 - a) for a in history[key]],
            )
    with pytest.raises(TypeError, match="list"):
        training.plot_history([0.1, 0.2], tmp_path / "bad.png")
    with pytest.raises(ValueError, match="loss"):
        training.plot_history({"loss": [1.0]}, tmp_path / "bad.png")
