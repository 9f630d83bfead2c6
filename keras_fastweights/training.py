"""The one training recipe for the associative retrieval task.

The example script (`examples/associative_retrieval.py`) and the tuner both
train with these functions, so a result of one is comparable to the other:
mini-batches of `BATCH_SIZE`, a fixed budget of epochs with the weights
of the best epoch on validation restored, and the test error in percent,
as in section 4.1 of Ba et al. (2016), https://arxiv.org/abs/1610.06258

Example:

>>> from keras_fastweights import datasets, models, training
>>> train, val, (x_test, y_test) = datasets.associative_retrieval.load_data(
...     num_train=256, num_val=64, num_test=64, seed=0)
>>> model = models.build_retrieval_model("fast_weights", 8)
>>> history = training.train_retrieval_model(
...     model, train, val, epochs=1, verbose=0)
>>> error = training.error_percent(model, x_test, y_test)
>>> 0.0 <= error <= 100.0
True
"""

import csv
import os

import keras
import numpy as np

from keras_fastweights.validation import check_int

BATCH_SIZE = 128
# The stopping rule of the protocol: every run trains for this many epochs
# (at 100,000 sequences and `BATCH_SIZE`, 782 updates each: 78,200 in all),
# whatever its model, and keeps the weights of its best epoch on
# validation. No run can end on the initial plateau, where a model answers
# from the digits of the sequence without the key (see docs/method.md): on
# that plateau, patience on validation accuracy ended runs that would have
# left it later.
DEFAULT_EPOCHS = 100
# The convergence protocol, the other budget: Keras's own schedule callbacks
# on validation accuracy. The rate falls by `factor` after `patience` epochs
# without a better one (down to `min_lr`), and training stops after
# `STOP_PATIENCE` epochs without one, or at `MAX_EPOCHS`; the best epoch on
# validation is kept as in the fixed budget. Patience at a constant rate
# alone (30 epochs) stopped an LSTM at R = 100 whose validation error went
# on falling for 200 epochs; the loss bottoms out long before the error, so
# both watch the accuracy.
SCHEDULES = ("constant", "plateau")
MAX_EPOCHS = 300
PLATEAU = {"factor": 0.3, "patience": 10, "min_lr": 1e-6}
STOP_PATIENCE = 30
HISTORY_FILENAME = "history.csv"
MODEL_FILENAME = "model.keras"
PLOT_FILENAME = "history.png"


def validation_rank(val_accuracy: float, val_loss: float) -> tuple:
    """The one rule for "best on validation", lowest rank first.

    Higher validation accuracy wins; equal accuracies go to the lower
    validation loss. It chooses a run's best epoch (`best_epoch`,
    `RestoreBestOnValidation`), and can choose between runs alike (a
    learning rate, say).

    Example:

    >>> validation_rank(0.99, 0.05) < validation_rank(0.98, 0.01)
    True
    >>> validation_rank(0.99, 0.04) < validation_rank(0.99, 0.05)
    True
    """
    return (-float(val_accuracy), float(val_loss))


def best_epoch(history) -> int:
    """The index of the best epoch on validation of a training history
    (`keras.callbacks.History`, its dict, or a CSVLogger file), by
    `validation_rank`.

    Example:

    >>> best_epoch({"val_accuracy": [0.4, 0.9, 0.9], "val_loss": [2, 1, 0.5]})
    2
    """
    history = read_history(history)
    ranks = [
        validation_rank(accuracy, loss)
        for accuracy, loss in zip(history["val_accuracy"], history["val_loss"])
    ]
    return min(range(len(ranks)), key=ranks.__getitem__)


class RestoreBestOnValidation(keras.callbacks.Callback):
    """Keeps the weights of the best epoch by `validation_rank` and puts
    them back in the model when training ends.

    `keras.callbacks.EarlyStopping(restore_best_weights=True)` does this
    for one monitored quantity; the rule here breaks ties in validation
    accuracy by validation loss, as the choice between runs does.

    Attributes:
        best_epoch: The index of the best epoch so far, or `None` before
            the first epoch.
        best_rank: Its `validation_rank`.
        best_weights: Its weights (`model.get_weights()`).

    Like `EarlyStopping`'s, they are reset by `on_train_begin`.

    Example:

    >>> callback = RestoreBestOnValidation()
    >>> callback.best_epoch is None
    True
    """

    def __init__(self):
        super().__init__()
        self.best_epoch = None
        self.best_rank = None
        self.best_weights = None

    def on_train_begin(self, logs=None):
        self.best_epoch = self.best_rank = self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        rank = validation_rank(logs["val_accuracy"], logs["val_loss"])
        if self.best_rank is None or rank < self.best_rank:
            self.best_epoch, self.best_rank = epoch, rank
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class StopAtAccuracy(keras.callbacks.Callback):
    """Stops training at the end of the first epoch whose validation
    accuracy reaches `accuracy`: Zoology's rule for MQAR (Arora et al.,
    2023), a goal reached, where `keras.callbacks.EarlyStopping` stops on a
    lack of progress.

    Args:
        accuracy: The goal, a float in (0, 1].

    Attributes:
        stopped: Whether it has stopped the training.

    Example:

    >>> StopAtAccuracy(0.99).accuracy
    0.99
    """

    def __init__(self, accuracy: float):
        super().__init__()
        accuracy = float(accuracy)
        if not 0.0 < accuracy <= 1.0:
            raise ValueError(
                f"`accuracy` must be in (0, 1]. Received: accuracy={accuracy}"
            )
        self.accuracy = accuracy
        self.stopped = False

    def on_train_begin(self, logs=None):
        self.stopped = False

    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("val_accuracy", 0.0) >= self.accuracy:
            self.stopped = True
            self.model.stop_training = True


class TestMetrics(keras.callbacks.Callback):
    """Evaluates the model on a test split after every epoch and adds the
    results to the epoch's logs as `test_loss`, `test_accuracy`, ...

    Placed before `keras.callbacks.CSVLogger`, it puts them in the history
    file, so that learning curves on the test split (the paper's Figure 2)
    come from the records of a run, without its checkpoints. Nothing is
    chosen on them.

    Args:
        x, y: The test split.
        batch_size: Positive integer, the evaluation batch size.

    Example:

    >>> import numpy as np
    >>> callback = TestMetrics(np.zeros((4, 11)), np.zeros(4))
    >>> callback.batch_size
    1024
    """

    __test__ = False  # A callback, not a pytest test class.

    def __init__(self, x, y, batch_size: int = 1024):
        super().__init__()
        self.x, self.y = _check_split("test data", (x, y))
        self.batch_size = check_int("batch_size", batch_size, 1)

    def on_epoch_end(self, epoch, logs=None):
        results = self.model.evaluate(
            self.x,
            self.y,
            batch_size=self.batch_size,
            verbose=0,
            return_dict=True,
        )
        if logs is not None:
            logs.update(
                {f"test_{name}": value for name, value in results.items()}
            )


def schedule_callbacks(schedule: str = "plateau") -> list:
    """The callbacks of a learning-rate schedule (`SCHEDULES`): none for
    `"constant"`; for `"plateau"`, the convergence protocol, Keras's
    `ReduceLROnPlateau` and `EarlyStopping` on validation accuracy with
    `PLATEAU` and `STOP_PATIENCE` (train with `epochs=MAX_EPOCHS`).

    `ReduceLROnPlateau` adds the epoch's `learning_rate` to its logs, so a
    `CSVLogger` after it records the rate each epoch trained at
    (`stopping`).

    Example:

    >>> [type(c).__name__ for c in schedule_callbacks("plateau")]
    ['ReduceLROnPlateau', 'EarlyStopping']
    >>> schedule_callbacks("constant")
    []
    """
    if schedule not in SCHEDULES:
        raise ValueError(
            f"`schedule` must be one of {SCHEDULES}. "
            f"Received: schedule={schedule!r}"
        )
    if schedule == "constant":
        return []
    return [
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_accuracy", mode="max", **PLATEAU
        ),
        keras.callbacks.EarlyStopping(
            monitor="val_accuracy", mode="max", patience=STOP_PATIENCE
        ),
    ]


def stopping(history, max_epochs: int) -> dict:
    """How a run of the convergence protocol ended, from its history (as
    `read_history` reads it): `"epochs"` trained, `"reason"`
    (`"patience"` if it stopped before `max_epochs`, else
    `"max_epochs"`) and `"rate_reductions"`, the epochs (from 1) after
    which the learning rate fell, read from the `learning_rate` the
    schedule logs (a fall after the last epoch trained nothing and is not
    seen).

    Example:

    >>> stopping({"learning_rate": [1e-3, 1e-3, 3e-4, 9e-5]}, 300)
    {'epochs': 4, 'reason': 'patience', 'rate_reductions': [2, 3]}
    """
    max_epochs = check_int("max_epochs", max_epochs, 1)
    history = read_history(history)
    if "learning_rate" not in history:
        raise ValueError(
            "The history has no `learning_rate`: it was not trained with "
            "`schedule_callbacks('plateau')`. Received: metrics "
            f"{sorted(history)}"
        )
    rates = history["learning_rate"]
    return {
        "epochs": len(rates),
        "reason": "patience" if len(rates) < max_epochs else "max_epochs",
        "rate_reductions": [
            epoch
            for epoch in range(1, len(rates))
            if rates[epoch] < rates[epoch - 1]
        ],
    }


def retrieval_callbacks(
    output_dir: str | os.PathLike | None = None,
    test_data: tuple[np.ndarray, np.ndarray] | None = None,
    schedule: str = "constant",
) -> list[keras.callbacks.Callback]:
    """Returns the callbacks of the training recipe.

    - with `test_data`, `TestMetrics`, which logs the test loss and
      accuracy of every epoch (recorded only, never used to choose);
    - `RestoreBestOnValidation`, which gives the model the weights of its
      best epoch on validation when training ends;
    - the `schedule`'s callbacks (`schedule_callbacks`);
    - when `output_dir` is given, `keras.callbacks.CSVLogger` writing the
      per-epoch history to `output_dir/history.csv`.

    With the default `schedule="constant"`, training runs for the given
    number of epochs at a constant rate: the recipe does not stop early
    (see `DEFAULT_EPOCHS`). With `"plateau"` it is the convergence
    protocol: give `fit` `epochs=MAX_EPOCHS`.

    Args:
        output_dir: Directory for the history, created if missing; `None`
            writes nothing.
        test_data: Optional tuple `(x_test, y_test)`.
        schedule: One of `SCHEDULES`.

    Returns:
        A list of `keras.callbacks.Callback` to pass to `model.fit`.

    Example:

    >>> [type(c).__name__ for c in retrieval_callbacks()]
    ['RestoreBestOnValidation']
    """
    callbacks = []
    if test_data is not None:
        callbacks.append(TestMetrics(*test_data))
    callbacks.append(RestoreBestOnValidation())
    callbacks += schedule_callbacks(schedule)
    if output_dir is not None:
        os.makedirs(output_dir, exist_ok=True)
        callbacks.append(
            keras.callbacks.CSVLogger(
                os.path.join(output_dir, HISTORY_FILENAME)
            )
        )
    return callbacks


def _check_split(name, data):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(
            f"`{name}` must be a tuple `(x, y)`, as returned by "
            "`associative_retrieval.load_data`. "
            f"Received: {name} of type {type(data).__name__}"
        )
    x, y = data
    if len(x) != len(y):
        raise ValueError(
            f"`{name}` must hold as many targets as sequences. "
            f"Received: {len(x)} sequences and {len(y)} targets"
        )
    if len(x) == 0:
        raise ValueError(f"`{name}` must not be empty. Received: 0 examples")
    return x, y


def train_retrieval_model(
    model: keras.Model,
    train_data: tuple[np.ndarray, np.ndarray],
    val_data: tuple[np.ndarray, np.ndarray],
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int = BATCH_SIZE,
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: str | int = "auto",
) -> keras.callbacks.History:
    """Trains a compiled model with `model.fit`, validating every epoch.

    Args:
        model: A compiled model, e.g. from
            `keras_fastweights.models.build_retrieval_model`.
        train_data: Tuple `(x_train, y_train)`.
        val_data: Tuple `(x_val, y_val)`, used by the callbacks.
        epochs: Positive integer, the most epochs to train.
        batch_size: Positive integer. Default: `BATCH_SIZE` (128, the
            paper's).
        callbacks: List of callbacks; `None` means `retrieval_callbacks()`
            (the best epoch's weights restored, nothing written). Pass `[]`
            for none.
        verbose: As in `model.fit`: `"auto"` shows Keras's progress bar.

    Returns:
        The `keras.callbacks.History` of `model.fit`.
    """
    epochs = check_int("epochs", epochs, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    x_train, y_train = _check_split("train_data", train_data)
    x_val, y_val = _check_split("val_data", val_data)
    if callbacks is None:
        callbacks = retrieval_callbacks()
    return model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(x_val, y_val),
        callbacks=callbacks,
        verbose=verbose,
    )


def predict_digits(
    model: keras.Model, x: np.ndarray, batch_size: int = 1024
) -> np.ndarray:
    """Returns the model's answers, the most likely digit of each sequence.

    Args:
        model: A model mapping token ids to 10 logits.
        x: int token ids of shape `(n, length)`.
        batch_size: Positive integer, the prediction batch size.

    Returns:
        An int array of shape `(n,)` with values in `[0, 10)`.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    logits = model.predict(x, batch_size=batch_size, verbose=0)
    return np.argmax(logits, axis=-1)


def error_percent(
    model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = 1024
) -> float:
    """Returns the percentage of sequences whose digit the model gets wrong.

    The paper's measure (Table 1). The model need not be compiled.

    Args:
        model: A model mapping token ids to 10 logits.
        x: int token ids of shape `(n, length)`.
        y: int targets of shape `(n,)`.
        batch_size: Positive integer, the prediction batch size.

    Returns:
        The test error, a float in [0, 100].
    """
    x, y = _check_split("(x, y)", (x, y))
    answers = predict_digits(model, x, batch_size=batch_size)
    return float(100.0 * np.mean(answers != np.asarray(y).reshape(-1)))


def read_history(history_or_csv) -> dict:
    """A training history as `{metric: [value per epoch]}`, from a `History`,
    its `.history` dict, or the CSV file of `keras.callbacks.CSVLogger`."""
    if isinstance(history_or_csv, keras.callbacks.History):
        return history_or_csv.history
    if isinstance(history_or_csv, dict):
        return history_or_csv
    if isinstance(history_or_csv, (str, os.PathLike)):
        with open(history_or_csv, newline="") as file:
            rows = list(csv.DictReader(file))
        return {
            key: [float(row[key]) for row in rows]
            for key in (rows[0] if rows else {})
            if key != "epoch"
        }
    raise TypeError(
        "`history_or_csv` must be a `keras.callbacks.History`, a dict of "
        "per-epoch lists, or the path of a CSVLogger file. "
        f"Received: history_or_csv of type {type(history_or_csv).__name__}"
    )
