"""Grid search over learning rate and hidden size with Keras Tuner.

The paper (Ba et al., 2016, §4.1, https://arxiv.org/abs/1610.06258) chose
each model's hyper-parameters by grid search on the validation split and
reported the test error of the choice. This module is that protocol on
`keras_tuner.GridSearch`: `RetrievalHyperModel` builds the paper's models
with `keras_fastweights.models.build_retrieval_model` and trains them with
the package's one training recipe (`keras_fastweights.training`);
`results_table` picks the best learning rate per (model, units) on
validation and evaluates it on the test split.

Needs the `tuning` extra: `pip install "keras-fastweights[tuning]"`.
The command-line tool is `tuning/grid_search.py`.
"""

import itertools
import json
import os
import time
import warnings
from collections.abc import Sequence

import keras
import keras_tuner
import numpy as np

from keras_fastweights import models
from keras_fastweights import training

PROJECT_NAME = "associative_retrieval"
OBJECTIVE = keras_tuner.Objective("val_accuracy", direction="max")
TrialStatus = keras_tuner.engine.trial.TrialStatus
# The grid and the settings (data, epochs) a search was started with, to
# refuse resuming it with others.
GRID_FILENAME = "grid.json"
SETTINGS_FILENAME = "settings.json"
# The metric under which a trial records its best epoch's test error.
TEST_ERROR = "test_error_percent"


def check_grid(
    kinds: Sequence[str],
    units: Sequence[int],
    learning_rates: Sequence[float],
) -> dict:
    """Validates a grid; returns `{"learning_rate", "model", "units"}` lists.

    The search tries the grid in this key order, the learning rate
    outermost, each axis in the order given.

    Raises:
        ValueError: an empty axis, an unknown model kind, a repeated value,
            non-positive units or learning rates; the message names it.
    """
    # The order of the keys is the order of enumeration, outermost first:
    # one learning rate for every (model, units) before the next, so that a
    # search stopped early already covers every cell of the table.
    grid = {
        "learning_rate": list(learning_rates),
        "model": list(kinds),
        "units": list(units),
    }
    for name, values in grid.items():
        if not values:
            raise ValueError(
                f"The grid needs at least one {name}. Received: []"
            )
        if len(set(values)) != len(values):
            raise ValueError(
                f"The grid repeats a {name}. Received: {name}={values}"
            )
    for kind in grid["model"]:
        if kind not in models.MODEL_KINDS:
            raise ValueError(
                f"Unknown model {kind!r}; expected one of {models.MODEL_KINDS}"
            )
    for value in grid["units"]:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"units must be positive integers. Received: units={value!r}"
            )
    for value in grid["learning_rate"]:
        if not isinstance(value, (int, float)) or not 0 < value < float("inf"):
            raise ValueError(
                "learning rates must be positive numbers. "
                f"Received: learning_rate={value!r}"
            )
    grid["learning_rate"] = [float(v) for v in grid["learning_rate"]]
    return grid


class RetrievalHyperModel(keras_tuner.HyperModel):
    """The paper's models on the associative retrieval task, as a grid.

    `build` chooses `hp.Choice("model", ...)`, `hp.Choice("units", ...)` and
    `hp.Choice("learning_rate", ...)`; `fit` trains with the package's
    recipe (`keras_fastweights.training`) and returns the best validation
    accuracy with the number of epochs trained and the seconds it took, so
    that these are kept in each trial's record.

    Args:
        grid: As returned by `check_grid`.
        num_pairs: Key-value pairs per sequence, as in `load_data`.
        epochs: The most epochs a trial trains (early stopping may end it
            sooner).
        patience: Early-stopping patience in epochs.
        batch_size: Mini-batch size; default `training.BATCH_SIZE`.
    """

    def __init__(
        self,
        grid: dict,
        num_pairs: int = 4,
        epochs: int = training.DEFAULT_EPOCHS,
        patience: int = training.DEFAULT_PATIENCE,
        batch_size: int = training.BATCH_SIZE,
    ):
        super().__init__(name=PROJECT_NAME)
        self.grid = grid
        self.num_pairs = num_pairs
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        return models.build_retrieval_model(
            hp.Choice("model", self.grid["model"]),
            hp.Choice("units", self.grid["units"]),
            learning_rate=hp.Choice(
                "learning_rate", self.grid["learning_rate"]
            ),
            num_pairs=self.num_pairs,
        )

    def fit(self, hp, model, x, y, validation_data, callbacks=(), **kwargs):
        # The tuner's callbacks (its progress and best-epoch checkpoint) run
        # beside the recipe's early stopping.
        callbacks = list(callbacks) + training.retrieval_callbacks(
            patience=self.patience
        )
        start = time.perf_counter()
        history = training.train_retrieval_model(
            model,
            (x, y),
            validation_data,
            epochs=self.epochs,
            batch_size=self.batch_size,
            callbacks=callbacks,
            verbose=kwargs.get("verbose", "auto"),
        )
        seconds = time.perf_counter() - start
        val_accuracy = history.history["val_accuracy"]
        best = int(np.argmax(val_accuracy))
        return {
            "val_accuracy": float(val_accuracy[best]),
            "val_loss": float(history.history["val_loss"][best]),
            "best_epoch": best + 1,
            "epochs": len(val_accuracy),
            "seconds": seconds,
        }


class GridOracle(keras_tuner.Oracle):
    """A grid-search oracle that resumes from its saved trials.

    Tries every combination of `grid` (a dict of name → values), in
    `itertools.product` order (the first key outermost), each once. What is
    left is derived from the trials the oracle saves, so a search resumed
    after an interruption runs only what did not finish (the trial that was
    running runs again).
    keras-tuner 1.4.8's `GridSearchOracle` keeps its order in memory only and
    fails on resume (keras-team/keras-tuner#1055).

    Args:
        grid: Dict of hyper-parameter name → list of values, as returned by
            `check_grid`.
        objective: The objective, e.g. `OBJECTIVE`.
        **kwargs: Other `keras_tuner.Oracle` arguments.
    """

    def __init__(self, grid: dict, objective=OBJECTIVE, **kwargs):
        super().__init__(objective=objective, **kwargs)
        self.grid = grid

    def _key(self, values):
        return tuple(values.get(name) for name in self.grid)

    def populate_space(self, trial_id):
        tried = {
            self._key(trial.hyperparameters.values)
            for trial in self.trials.values()
            if trial.trial_id != trial_id
        }
        for combination in itertools.product(*self.grid.values()):
            if combination not in tried:
                return {
                    "status": TrialStatus.RUNNING,
                    "values": dict(zip(self.grid, combination)),
                }
        # Nothing left to start; wait while other workers finish theirs.
        if self.ongoing_trials:
            return {"status": TrialStatus.IDLE, "values": None}
        return {"status": TrialStatus.STOPPED, "values": None}

    def end_trial(self, trial):
        super().end_trial(trial)
        # keras-tuner 1.4 saves its state before it stops counting the trial
        # as ongoing; resumed from that state, it would run the finished
        # trial again.
        self.save()


class RetrievalGridSearch(keras_tuner.Tuner):
    """Grid search over `RetrievalHyperModel`'s grid with a `GridOracle`.

    Besides Keras Tuner's own display, it prints which grid point a trial
    runs and how many of the grid are done.
    """

    def __init__(self, hypermodel: RetrievalHyperModel, **kwargs):
        oracle = GridOracle(hypermodel.grid)
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)
        grid = hypermodel.grid
        self.grid_size = (
            len(grid["model"]) * len(grid["units"]) * len(grid["learning_rate"])
        )

    def run_trial(self, trial, *args, test_data=None, **kwargs):
        # Each trial's per-epoch history, beside its record: the tuner keeps
        # only the best values (e.g. for learning curves like the paper's
        # Figure 2, read them back with `trial_history`).
        path = os.path.join(
            self.get_trial_dir(trial.trial_id), training.HISTORY_FILENAME
        )
        callbacks = list(kwargs.pop("callbacks", []))
        callbacks.append(keras.callbacks.CSVLogger(path))
        results = super().run_trial(trial, *args, callbacks=callbacks, **kwargs)
        if test_data is None:
            return results
        # The best epoch's test error goes into the trial's record, so that
        # `results_table` needs no checkpoint (they are large and are not
        # committed). Recorded, never used to choose.
        error = checkpoint_test_error(self, trial, *test_data)
        return [{**result, TEST_ERROR: error} for result in results]

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        values = trial.hyperparameters.values
        done = len(completed_trials(self))
        print(
            f"[{done}/{self.grid_size} trials done] next: "
            f"model={values['model']} units={values['units']} "
            f"learning_rate={values['learning_rate']:g}",
            flush=True,
        )


def make_tuner(
    grid: dict,
    directory: str | os.PathLike,
    overwrite: bool = False,
    settings: dict | None = None,
    **hypermodel_kwargs,
) -> RetrievalGridSearch:
    """Creates (or, without `overwrite`, resumes) the grid search.

    The tuner keeps its state in `directory/associative_retrieval`: a rerun
    of the same grid runs only the trials that did not finish. Resuming with
    another grid, or other `settings` (a JSON-able dict such as the data
    sizes and epochs), would mix two searches, so it raises a `ValueError`
    unless `overwrite=True`, which starts over.
    """
    project = os.path.join(directory, PROJECT_NAME)
    saved = {GRID_FILENAME: grid, SETTINGS_FILENAME: settings}
    for filename, value in saved.items():
        path = os.path.join(project, filename)
        if value is None or overwrite or not os.path.exists(path):
            continue
        with open(path) as file:
            before = json.load(file)
        if before != json.loads(json.dumps(value)):
            raise ValueError(
                f"{project} holds a search with another {filename[:-5]} "
                f"({before}); received {value}. Pass --overwrite to start "
                "over, or another --directory."
            )
    tuner = RetrievalGridSearch(
        RetrievalHyperModel(grid, **hypermodel_kwargs),
        directory=directory,
        project_name=PROJECT_NAME,
        overwrite=overwrite,
    )
    if not is_worker():
        os.makedirs(project, exist_ok=True)
        for filename, value in saved.items():
            if value is not None:
                with open(os.path.join(project, filename), "w") as file:
                    json.dump(value, file, indent=1)
    return tuner


def load_settings(directory: str | os.PathLike) -> dict:
    """The grid and settings a search in `directory` was started with."""
    project = os.path.join(directory, PROJECT_NAME)
    loaded = {}
    for filename in (GRID_FILENAME, SETTINGS_FILENAME):
        path = os.path.join(project, filename)
        if not os.path.exists(path):
            raise ValueError(
                f"No {filename} in {project}: run tuning/grid_search.py with "
                f"--directory {directory} (a finished search only resumes)."
            )
        with open(path) as file:
            loaded[filename[:-5]] = json.load(file)
    return loaded


def is_worker() -> bool:
    """Whether this process is a worker of a distributed search."""
    return os.environ.get("KERASTUNER_TUNER_ID", "chief") != "chief"


def completed_trials(tuner: keras_tuner.Tuner) -> list:
    """The tuner's completed trials, best validation accuracy first."""
    return [
        trial
        for trial in tuner.oracle.get_best_trials(num_trials=10**6)
        if trial.status == TrialStatus.COMPLETED
    ]


def trial_history(tuner: keras_tuner.Tuner, trial) -> dict:
    """A trial's per-epoch history, `{metric: [value per epoch]}`."""
    path = os.path.join(
        tuner.get_trial_dir(trial.trial_id), training.HISTORY_FILENAME
    )
    return training.read_history(path)


TABLE_COLUMNS = (
    "model",
    "units",
    "learning_rate",
    "val_error_percent",
    "test_error_percent",
    "epochs",
    "best_epoch",
    "seconds",
    "trial_id",
    "learning_rates_tried",
)


def load_trial_model(tuner: keras_tuner.Tuner, trial) -> keras.Model:
    """`trial`'s model with its best epoch's weights, from its checkpoint.

    Raises:
        FileNotFoundError: The checkpoint is not there (checkpoints are only
            on the machine that ran the trial).
    """
    with warnings.catch_warnings():
        # The checkpoints hold the optimizer too; evaluating needs none.
        warnings.filterwarnings("ignore", "Skipping variable loading")
        return tuner.load_model(trial)


def checkpoint_test_error(
    tuner: keras_tuner.Tuner, trial, x_test: np.ndarray, y_test: np.ndarray
) -> float | None:
    """Test error (%) of `trial`'s best-epoch checkpoint, or `None` (with a
    warning) if the checkpoint is not there."""
    try:
        model = load_trial_model(tuner, trial)
    except FileNotFoundError:
        warnings.warn(
            f"Trial {trial.trial_id} has neither a recorded test error nor "
            "its checkpoint: its test error is left empty.",
            stacklevel=2,
        )
        return None
    error = round(training.test_error_percent(model, x_test, y_test), 4)
    keras.backend.clear_session()
    return error


def results_table(
    tuner: keras_tuner.Tuner, x_test: np.ndarray, y_test: np.ndarray
) -> list[dict]:
    """One row per (model, units): the learning rate best on validation.

    Ties in validation accuracy go to the lower validation loss. The test
    error is the one the search recorded with the chosen trial (on the test
    split it was given); for trials of older searches, which did not record
    it, the trial's best-epoch checkpoint is evaluated on
    `(x_test, y_test)`, and without a checkpoint the test error is `None`.

    Returns:
        Rows with the keys of `TABLE_COLUMNS`, ordered by model then units;
        `learning_rates_tried` lists the learning rates of the cell's
        completed trials (fewer than the grid's if the search is partial).
    """
    best = {}
    tried = {}
    for trial in completed_trials(tuner):
        values = trial.hyperparameters.values
        key = (values["model"], values["units"])
        tried.setdefault(key, []).append(values["learning_rate"])
        metrics = trial.metrics
        rank = (
            -metrics.get_best_value("val_accuracy"),
            metrics.get_best_value("val_loss"),
        )
        if key not in best or rank < best[key][0]:
            best[key] = (rank, trial)

    kinds = tuner.hypermodel.grid["model"]
    rows = []
    for (kind, units), (_, trial) in sorted(
        best.items(), key=lambda item: (kinds.index(item[0][0]), item[0][1])
    ):
        metrics = trial.metrics
        if metrics.exists(TEST_ERROR):
            test_error = metrics.get_last_value(TEST_ERROR)
        else:
            test_error = checkpoint_test_error(tuner, trial, x_test, y_test)
        rows.append(
            {
                "model": kind,
                "units": units,
                "learning_rate": trial.hyperparameters.values["learning_rate"],
                "val_error_percent": round(
                    100 * (1 - metrics.get_best_value("val_accuracy")), 4
                ),
                "test_error_percent": test_error,
                "epochs": int(metrics.get_last_value("epochs")),
                "best_epoch": int(metrics.get_last_value("best_epoch")),
                "seconds": round(metrics.get_last_value("seconds"), 1),
                "trial_id": trial.trial_id,
                "learning_rates_tried": " ".join(
                    f"{rate:g}" for rate in sorted(tried[(kind, units)])
                ),
            }
        )
    return rows
