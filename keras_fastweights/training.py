"""The one training recipe for the associative retrieval task.

The example script (`examples/associative_retrieval.py`) and the tuner both
train with these functions, so a result of one is comparable to the other:
mini-batches of `BATCH_SIZE`, early stopping on validation accuracy, and
the test error in percent, as in section 4.1 of Ba et al. (2016),
https://arxiv.org/abs/1610.06258

Example:

>>> from keras_fastweights import datasets, models, training
>>> train, val, (x_test, y_test) = datasets.associative_retrieval.load_data(
...     num_train=256, num_val=64, num_test=64, seed=0)
>>> model = models.build_retrieval_model("fast_weights", 8)
>>> history = training.train_retrieval_model(
...     model, train, val, epochs=1, verbose=0)
>>> error = training.test_error_percent(model, x_test, y_test)
>>> 0.0 <= error <= 100.0
True
"""

import csv
import numbers
import os
from typing import TYPE_CHECKING

import keras
import numpy as np

from keras_fastweights._validation import check_int

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BATCH_SIZE = 128
# Fast weights at R=50 pass 99 % test accuracy within these limits (see
# examples/associative_retrieval.py). Before it learned to retrieve, that
# run sat for seven epochs near 38 % validation accuracy, a plateau that a
# short patience would mistake for convergence.
DEFAULT_EPOCHS = 100
DEFAULT_PATIENCE = 15
HISTORY_FILENAME = "history.csv"
MODEL_FILENAME = "model.keras"
PLOT_FILENAME = "history.png"


class StopAtAccuracy(keras.callbacks.Callback):
    """Stops training once a monitored accuracy reaches a target.

    `keras.callbacks.EarlyStopping` waits `patience` epochs after the last
    improvement; at 100 % validation accuracy nothing can improve, so those
    epochs would be wasted.

    Args:
        target: Float in (0, 1], the accuracy that ends training.
            Default: `1.0`.
        monitor: Name of the logged quantity. Default: `"val_accuracy"`.

    Example:

    >>> callback = StopAtAccuracy(target=0.99)
    >>> callback.target, callback.monitor
    (0.99, 'val_accuracy')
    """

    def __init__(self, target: float = 1.0, monitor: str = "val_accuracy"):
        super().__init__()
        if isinstance(target, bool) or not isinstance(target, numbers.Real):
            raise TypeError(
                "`target` must be a number in (0, 1]. "
                f"Received: target={target!r} (of type {type(target).__name__})"
            )
        if not 0 < target <= 1:
            raise ValueError(
                f"`target` must be in (0, 1]. Received: target={target}"
            )
        self.target = float(target)
        self.monitor = monitor
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value >= self.target:
            self.stopped_epoch = epoch
            self.model.stop_training = True


def retrieval_callbacks(
    output_dir: str | os.PathLike | None = None,
    patience: int = DEFAULT_PATIENCE,
    target_accuracy: float = 1.0,
) -> list[keras.callbacks.Callback]:
    """Returns the callbacks of the training recipe.

    - `keras.callbacks.EarlyStopping` on `val_accuracy` with `patience`,
      restoring the weights of the best epoch when training ends;
    - `StopAtAccuracy`, which stops as soon as `val_accuracy` reaches
      `target_accuracy`;
    - when `output_dir` is given, `keras.callbacks.CSVLogger` writing the
      per-epoch history to `output_dir/history.csv`, and
      `keras.callbacks.ModelCheckpoint` saving the best model (by
      `val_accuracy`) to `output_dir/model.keras`.

    Args:
        output_dir: Directory for the history and the model, created if
            missing; `None` writes nothing.
        patience: Positive integer, the number of epochs without a better
            validation accuracy after which training stops.
        target_accuracy: Float in (0, 1], the validation accuracy at which
            training stops at once. Default: `1.0`.

    Returns:
        A list of `keras.callbacks.Callback` to pass to `model.fit`.

    Example:

    >>> [type(c).__name__ for c in retrieval_callbacks()]
    ['EarlyStopping', 'StopAtAccuracy']
    """
    patience = check_int("patience", patience, 1)
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_accuracy",
            mode="max",
            patience=patience,
            restore_best_weights=True,
        ),
        StopAtAccuracy(target_accuracy, monitor="val_accuracy"),
    ]
    if output_dir is not None:
        os.makedirs(output_dir, exist_ok=True)
        callbacks += [
            keras.callbacks.CSVLogger(
                os.path.join(output_dir, HISTORY_FILENAME)
            ),
            keras.callbacks.ModelCheckpoint(
                os.path.join(output_dir, MODEL_FILENAME),
                monitor="val_accuracy",
                mode="max",
                save_best_only=True,
            ),
        ]
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
            (early stopping, nothing written). Pass `[]` for none.
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


def test_error_percent(
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


# Not a test: keeps pytest from collecting the function above.
test_error_percent.__test__ = False


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


def plot_history(
    history_or_csv: keras.callbacks.History | dict | str | os.PathLike,
    path: str | os.PathLike,
) -> "Figure":
    """Plots training and validation error (%) against epochs to a file.

    Args:
        history_or_csv: The `History` returned by `model.fit` (or its
            `.history` dict), or the path of the CSV that
            `retrieval_callbacks(output_dir)` writes.
        path: The image file to write, e.g. `"history.png"`; the format
            follows the extension.

    Returns:
        The `matplotlib.figure.Figure`, for further changes.
    """
    # The object-oriented API draws without pyplot's global state or an
    # interactive backend; matplotlib is an optional dependency.
    try:
        from matplotlib import ticker
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "plot_history needs matplotlib: "
            "pip install 'keras-fastweights[plots]'"
        ) from error

    history = read_history(history_or_csv)
    curves = {
        "training": history.get("accuracy"),
        "validation": history.get("val_accuracy"),
    }
    curves = {label: acc for label, acc in curves.items() if acc}
    if not curves:
        raise ValueError(
            "The history has no `accuracy` or `val_accuracy` values to plot. "
            f"Received keys: {sorted(history)}"
        )
    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.add_subplot()
    for label, accuracy in curves.items():
        epochs = np.arange(1, len(accuracy) + 1)
        error = 100.0 * (1.0 - np.asarray(accuracy, dtype="float64"))
        axes.plot(epochs, error, marker="o", markersize=3, label=label)
    axes.set_xlabel("epoch")
    axes.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    axes.set_ylabel("error (%)")
    # Logarithmic above 1 % and linear below, so that the last, sub-percent
    # epochs stay readable and an error of 0 can still be drawn.
    axes.set_yscale("symlog", linthresh=1.0)
    axes.set_ylim(0, 100)
    axes.set_yticks([0, 0.5, 1, 2, 5, 10, 20, 50, 100])
    axes.yaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.savefig(path)
    return figure
