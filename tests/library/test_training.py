"""The training recipe: keras_fastweights.training (the error in percent, the
callbacks, the whole-budget run that restores the best epoch, seeding)."""

import keras
import numpy as np
import pytest

from keras_fastweights import training
from keras_fastweights.models import build_retrieval_model

UNITS = 6


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
def test_error_percent_counts_wrong_answers(digit, data):
    _, _, (x, y) = data
    error = training.error_percent(
        constant_answer_model(digit), x, y, batch_size=16
    )
    assert error == pytest.approx(100.0 * np.mean(y != digit))


def test_error_percent_bad_arguments(data):
    _, _, (x, y) = data
    model = constant_answer_model(0)
    with pytest.raises(ValueError, match="64 sequences and 63 targets"):
        training.error_percent(model, x, y[:-1])
    with pytest.raises(ValueError, match="batch_size=0"):
        training.error_percent(model, x, y, batch_size=0)


def test_retrieval_callbacks():
    assert [type(c) for c in training.retrieval_callbacks()] == [
        training.RestoreBestOnValidation
    ]
    x, y = np.zeros((4, 11), "int32"), np.zeros(4, "int32")
    callbacks = training.retrieval_callbacks("unused", test_data=(x, y))
    assert [type(c) for c in callbacks] == [
        training.TestMetrics,
        training.RestoreBestOnValidation,
        keras.callbacks.CSVLogger,
    ]
    with pytest.raises(ValueError, match="4 sequences and 3 targets"):
        training.TestMetrics(x, y[:3])


def test_validation_rank_prefers_accuracy_then_loss():
    ranks = [
        training.validation_rank(0.98, 0.01),
        training.validation_rank(0.99, 0.05),
        training.validation_rank(0.99, 0.04),
    ]
    assert sorted(range(3), key=ranks.__getitem__) == [2, 1, 0]
    history = {"val_accuracy": [0.5, 0.9, 0.9, 0.8], "val_loss": [1, 2, 1, 0]}
    assert training.best_epoch(history) == 2


def test_training_runs_the_whole_budget_and_restores_the_best_epoch(
    data, tmp_path
):
    """No early stop; the weights at the end are the best epoch's by
    `validation_rank`, and the history records the test metrics."""
    train, val, test = data
    model = build_retrieval_model("lstm", UNITS, learning_rate=0.01, seed=0)
    weights = {}

    class KeepWeights(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights[epoch] = self.model.get_weights()

    callbacks = training.retrieval_callbacks(tmp_path / "run", test_data=test)
    history = training.train_retrieval_model(
        model,
        train,
        val,
        epochs=4,
        callbacks=callbacks + [KeepWeights()],
        verbose=0,
    )
    assert history.epoch == [0, 1, 2, 3]
    best = training.best_epoch(history)
    assert callbacks[1].best_epoch == best
    for got, expected in zip(model.get_weights(), weights[best]):
        np.testing.assert_array_equal(got, expected)
    recorded = training.read_history(tmp_path / "run" / "history.csv")
    np.testing.assert_allclose(
        recorded["val_accuracy"], history.history["val_accuracy"], rtol=1e-6
    )
    # The test metrics of the restored (best) epoch are the model's own.
    error = training.error_percent(model, *test)
    assert error == pytest.approx(
        100 * (1 - recorded["test_accuracy"][best]), abs=1e-4
    )


def test_a_seeded_run_repeats_exactly(data):
    """The same seed gives the same weights and the same training (on a
    CPU, on every backend); another seed does not."""
    train, val, _ = data

    def run(seed):
        model = build_retrieval_model("fast_weights", UNITS, seed=seed)
        history = training.train_retrieval_model(
            model, train, val, epochs=2, callbacks=[], verbose=0
        )
        return history.history["loss"], model.get_weights()

    (loss_a, weights_a), (loss_b, weights_b) = run(3), run(3)
    assert loss_a == loss_b
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_array_equal(a, b)
    loss_c, _ = run(4)
    assert loss_c != loss_a


def test_compiled_training_equals_the_default(data):
    """`jit_compile=True` (XLA on TensorFlow and JAX, `torch.compile` on
    torch) trains the seeded model as the default does, to float rounding;
    the global gradient clipping changes the run."""
    train, val, _ = data

    def losses(**options):
        model = build_retrieval_model("fast_weights", UNITS, seed=5, **options)
        history = training.train_retrieval_model(
            model, train, val, epochs=2, callbacks=[], verbose=0
        )
        return history.history["loss"]

    default = losses()
    assert losses(jit_compile=True) == pytest.approx(default, rel=1e-4)
    clipped = build_retrieval_model("lstm", UNITS, clipnorm=1e-3)
    assert clipped.optimizer.global_clipnorm == 1e-3
    assert losses(clipnorm=1e-3) != pytest.approx(default, rel=1e-4)


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


def test_stop_at_accuracy_stops_once_validation_accuracy_reaches_the_goal():
    """Zoology's rule: training ends after the first epoch at 0.99."""
    stop = training.StopAtAccuracy(0.99)
    model = keras.Sequential()
    model.stop_training = False  # as `fit` sets it
    stop.set_model(model)
    stop.on_epoch_end(0, {"val_accuracy": 0.98})
    assert not stop.model.stop_training and not stop.stopped
    stop.on_epoch_end(1, {"val_accuracy": 0.99})
    assert stop.model.stop_training and stop.stopped
    with pytest.raises(ValueError, match="accuracy=1.5"):
        training.StopAtAccuracy(1.5)
