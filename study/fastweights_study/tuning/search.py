"""The search on Keras Tuner: `RetrievalHyperModel` builds and trains a
grid point, `GridOracle` hands out the protocol's points
(`protocol.protocol_points`) and resumes from the trials it saved, and
`RetrievalGridSearch` runs them, each trial resumable from its
`TrialBackup`; `make_tuner` creates or resumes one in a directory."""

import json
import os
import time

import keras
import keras_tuner

from fastweights_study.tuning.backup import BACKUP_FILENAME
from fastweights_study.tuning.backup import SCHEDULE_STATE
from fastweights_study.tuning.backup import TrialBackup
from fastweights_study.tuning.machine import continue_environment
from fastweights_study.tuning.machine import environment
from fastweights_study.tuning.machine import last_environment
from fastweights_study.tuning.machine import read_environment
from fastweights_study.tuning.machine import write_environment
from fastweights_study.tuning.protocol import OPTIONAL_AXES
from fastweights_study.tuning.protocol import extends
from fastweights_study.tuning.protocol import protocol_points
from fastweights_study.tuning.protocol import protocol_progress
from fastweights_study.variants import build_variant_model
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


class RetrievalHyperModel(keras_tuner.HyperModel):
    """The paper's models on the associative retrieval task, as a grid.

    `build` chooses `hp.Choice` of `"model"`, `"units"`, `"learning_rate"`
    and `"seed"` (the seed of the weights and of the training's shuffling;
    the data are the same for every trial), and of the grid's optional
    axes (`OPTIONAL_AXES`), and builds the model with
    `variants.build_variant_model`; `fit` trains with the
    package's recipe (`keras_fastweights.training`: a fixed number of
    epochs, the best epoch on validation restored) and returns the best
    epoch's validation and test metrics, with the number of epochs and the
    seconds it took, so that these are kept in each trial's record. Given
    a `backup_path` (as `RetrievalGridSearch` gives it), `fit` keeps a
    `TrialBackup` there and, where one is, goes on from it: the record is
    then that of every epoch, those before the interruption included.

    Args:
        grid: As returned by `check_grid`.
        num_pairs: Key-value pairs per sequence, as in `load_data`.
        epochs: The number of epochs every trial trains (with the
            `"plateau"` schedule, at most).
        batch_size: Mini-batch size; default `training.BATCH_SIZE`.
        schedule: The learning-rate schedule (`training.SCHEDULES`):
            `"constant"`, the protocol's fixed budget, or `"plateau"`, the
            convergence protocol (`training.schedule_callbacks`).
    """

    def __init__(
        self,
        grid: dict,
        num_pairs: int = 4,
        epochs: int = training.DEFAULT_EPOCHS,
        batch_size: int = training.BATCH_SIZE,
        schedule: str = "constant",
    ):
        super().__init__(name=PROJECT_NAME)
        self.grid = grid
        self.num_pairs = num_pairs
        self.epochs = epochs
        self.batch_size = batch_size
        self.schedule = schedule

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        return build_variant_model(
            hp.Choice("model", self.grid["model"]),
            hp.Choice("units", self.grid["units"]),
            learning_rate=hp.Choice(
                "learning_rate", self.grid["learning_rate"]
            ),
            num_pairs=self.num_pairs,
            seed=hp.Choice("seed", self.grid["seed"]),
            **{
                name: hp.Choice(name, self.grid[name])
                for name in OPTIONAL_AXES
                if name in self.grid
            },
        )

    def fit(
        self,
        hp,
        model,
        x,
        y,
        validation_data,
        test_data=None,
        callbacks=(),
        backup_path=None,
        **kwargs,
    ):
        # The recipe's callbacks first, so that the tuner's CSVLogger (see
        # RetrievalGridSearch.run_trial) records the test metrics too.
        recipe = training.retrieval_callbacks(
            test_data=test_data, schedule=self.schedule
        )
        history, seconds = fit_with_backup(
            lambda every: training.train_retrieval_model(
                model,
                (x, y),
                validation_data,
                epochs=self.epochs,
                batch_size=self.batch_size,
                callbacks=every,
                verbose=kwargs.get("verbose", "auto"),
            ),
            recipe,
            callbacks,
            backup_path,
        )
        results = best_epoch_results(history, seconds)
        if test_data is not None:
            # The restored model's answers, as the example script reports.
            results[TEST_ERROR] = round(
                training.error_percent(model, *test_data), 4
            )
        return results


def fit_with_backup(train, recipe, callbacks, backup_path=None):
    """Trains with the `recipe`'s callbacks, then the tuner's `callbacks`,
    then, given a `backup_path`, a `TrialBackup` there (last, once the
    epoch is logged) that keeps the recipe's
    `training.RestoreBestOnValidation` and schedule callbacks
    (`SCHEDULE_STATE`) and goes on from an interrupted run's backup.

    Args:
        train: Trains the model with the list of callbacks it is given,
            e.g. a `model.fit` call; returns its `History`.
        recipe, callbacks: Lists of callbacks.
        backup_path: The backup file, or `None` for none.

    Returns:
        `(history, seconds)`: every epoch's `{metric: [values]}`, those
        before a resume included, and the seconds they took.
    """
    every = [*recipe, *callbacks]
    backup = None
    if backup_path is not None:
        (best,) = [
            callback
            for callback in recipe
            if isinstance(callback, training.RestoreBestOnValidation)
        ]
        schedule = [c for c in recipe if type(c) in SCHEDULE_STATE]
        backup = TrialBackup(backup_path, best, schedule)
        every.append(backup)
    start = time.perf_counter()
    history = train(every)
    seconds = time.perf_counter() - start
    if backup is None:
        return history.history, seconds
    return backup.history(), seconds + backup.seconds_before


def best_epoch_results(history: dict, seconds: float) -> dict:
    """What a trial records (`fit`'s return): the validation and test
    metrics of the best epoch on validation (`training.best_epoch`), that
    epoch (from 1), the epochs trained and the seconds."""
    best = training.best_epoch(history)
    return {
        **{
            name: float(values[best])
            for name, values in history.items()
            if name.startswith(("val_", "test_"))
        },
        "best_epoch": best + 1,
        "epochs": len(history["val_loss"]),
        "seconds": seconds,
    }


class GridOracle(keras_tuner.Oracle):
    """A grid-search oracle that resumes from its saved trials.

    Runs each point of `protocol_points(grid, ...)` once: every learning
    rate with the first seed, then the other seeds at the learning rate
    best on validation. What is left is derived from the trials the oracle
    saves, so a search resumed after an interruption runs only what did not
    finish (the trial that was running runs again, from its `TrialBackup`).
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
        completed = [
            trial_values(trial)
            for trial in self.trials.values()
            if trial.status == TrialStatus.COMPLETED
        ]
        for point in protocol_points(self.grid, completed):
            if self._key(point) not in tried:
                return {"status": TrialStatus.RUNNING, "values": point}
        # Nothing to start now; wait while other workers finish theirs (a
        # cell's other seeds wait for its learning rates).
        if self.ongoing_trials:
            return {"status": TrialStatus.IDLE, "values": None}
        return {"status": TrialStatus.STOPPED, "values": None}

    def end_trial(self, trial):
        super().end_trial(trial)
        # keras-tuner 1.4 saves its state before it stops counting the trial
        # as ongoing; resumed from that state, it would run the finished
        # trial again.
        self.save()

    def set_state(self, state):
        super().set_state(state)
        # A search killed between those two saves left a state in which the
        # trial has ended (`end_order`) and is still ongoing; `reload` would
        # send every ongoing trial to be run again.
        self.ongoing_trials = {
            tuner_id: trial
            for tuner_id, trial in self.ongoing_trials.items()
            if trial.trial_id not in self.end_order
        }


class SaveWeightsAtEnd(keras.callbacks.Callback):
    """Saves the model's weights to `filepath` when training ends (after
    the callbacks before it, such as `training.RestoreBestOnValidation`)."""

    def __init__(self, filepath: str | os.PathLike):
        super().__init__()
        self.filepath = filepath

    def on_train_end(self, logs=None):
        self.model.save_weights(self.filepath)


class RetrievalGridSearch(keras_tuner.Tuner):
    """Grid search over `RetrievalHyperModel`'s grid with a `GridOracle`.

    Besides Keras Tuner's own display, it prints which grid point a trial
    runs and how many of the grid are done. Each trial's per-epoch history
    (with the test metrics of every epoch) is kept beside its record, in
    `history.csv`; read it back with `trial_history`.

    Args:
        hypermodel: The grid's `RetrievalHyperModel` (or another task's
            with its `grid` and `fit` arguments).
        resume_elsewhere: What an interrupted trial does whose backup was
            written on another machine or versions (`environment`): by
            default it runs again from its start, so that every record
            repeats exactly on one machine; with `True` it goes on from
            the backup, and its `environment.json` names each machine
            with the epoch it went on from (`continue_environment`).
        **kwargs: `keras_tuner.Tuner`'s (`directory`, `project_name`,
            `overwrite`).
    """

    def __init__(
        self, hypermodel: RetrievalHyperModel, resume_elsewhere=False, **kwargs
    ):
        oracle = GridOracle(hypermodel.grid)
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)
        self.resume_elsewhere = resume_elsewhere

    def progress(self) -> tuple[int, int]:
        """`protocol_progress` of the completed trials."""
        completed = [trial_values(t) for t in completed_trials(self)]
        return protocol_progress(self.hypermodel.grid, completed)

    def run_trial(self, trial, *args, **kwargs):
        trial_dir = self.get_trial_dir(trial.trial_id)
        path = os.path.join(trial_dir, training.HISTORY_FILENAME)
        # A trial that was interrupted goes on from its backup's epoch, its
        # history that of the epochs the backup holds; unless it began on
        # another machine or versions, which would draw another run (or,
        # with `resume_elsewhere`, make a record that spans two machines).
        backup = os.path.join(trial_dir, BACKUP_FILENAME)
        done = TrialBackup.read_logs(backup)
        last_on, here = (
            last_environment(read_environment(trial_dir)),
            environment(),
        )
        if not done:
            write_environment(trial_dir)
        elif last_on is not None and last_on != here and self.resume_elsewhere:
            print(
                f"{backup} was written on {last_on}: the trial goes on from "
                f"epoch {len(done) + 1} on this machine ({here}), and its "
                "record names both.",
                flush=True,
            )
            continue_environment(trial_dir, len(done) + 1)
        elif last_on != here:
            print(
                f"{backup} was written on {last_on}, not on this machine "
                f"({here}): the trial runs again from its start.",
                flush=True,
            )
            os.remove(backup)
            done = []
            write_environment(trial_dir)
        if done:
            TrialBackup.write_history(path, done)
        callbacks = list(kwargs.pop("callbacks", []))
        callbacks.append(keras.callbacks.CSVLogger(path, append=bool(done)))
        # Keras Tuner's checkpoint (what `load_model` reads) is the first
        # epoch of highest validation accuracy; the recipe's best epoch
        # breaks ties by validation loss. Once the recipe has restored its
        # best epoch, write that over it, so that the checkpoint holds the
        # weights the trial's test error comes from.
        callbacks.append(SaveWeightsAtEnd(self.checkpoint_path(trial.trial_id)))
        return super().run_trial(
            trial, *args, callbacks=callbacks, backup_path=backup, **kwargs
        )

    def checkpoint_path(self, trial_id: str) -> str:
        """The file of a trial's tested weights, which `load_model` reads."""
        return self._get_checkpoint_fname(trial_id)

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        values = trial.hyperparameters.values
        done, planned = self.progress()
        print(
            f"[{done}/{planned} trials done] next: "
            f"model={values['model']} units={values['units']} "
            f"learning_rate={values['learning_rate']:g} "
            f"seed={values['seed']}",
            flush=True,
        )


def make_tuner(
    grid: dict,
    directory: str | os.PathLike,
    overwrite: bool = False,
    settings: dict | None = None,
    hypermodel: keras_tuner.HyperModel | None = None,
    resume_elsewhere: bool = False,
    **hypermodel_kwargs,
) -> RetrievalGridSearch:
    """Creates (or, without `overwrite`, resumes) the grid search of
    `hypermodel`, by default a `RetrievalHyperModel(grid,
    **hypermodel_kwargs)` (another task's, such as the MQAR sweep's, runs on
    the same oracle, backups and records: it has the `grid` and the `fit`
    arguments of `RetrievalHyperModel`).

    The tuner keeps its state in `directory/associative_retrieval`: a rerun
    of the same grid runs only the trials that did not finish. Resuming with
    another grid, or other `settings` (a JSON-able dict such as the data
    sizes and epochs), would mix two searches, so it raises a `ValueError`
    unless `overwrite=True`, which starts over. `resume_elsewhere` is
    `RetrievalGridSearch`'s: whether an interrupted trial goes on from a
    backup written on another machine.
    """
    project = os.path.join(directory, PROJECT_NAME)
    saved = {GRID_FILENAME: grid, SETTINGS_FILENAME: settings}
    for filename, value in saved.items():
        path = os.path.join(project, filename)
        if value is None or overwrite or not os.path.exists(path):
            continue
        with open(path) as file:
            before = json.load(file)
        value = json.loads(json.dumps(value))
        if filename == GRID_FILENAME and extends(value, before):
            continue
        if before != value:
            raise ValueError(
                f"{project} holds a search with another {filename[:-5]} "
                f"({before}); received {value}. A grid may only grow (more "
                "values on its axes, a ladder of learning rates, "
                "sensitivity cells); pass --overwrite to start over, or "
                "another --directory."
            )
    if hypermodel is None:
        hypermodel = RetrievalHyperModel(grid, **hypermodel_kwargs)
    elif hypermodel_kwargs:
        raise TypeError(
            "Pass either a hypermodel or the arguments of a "
            f"RetrievalHyperModel. Received: {sorted(hypermodel_kwargs)}"
        )
    tuner = RetrievalGridSearch(
        hypermodel,
        directory=directory,
        project_name=PROJECT_NAME,
        overwrite=overwrite,
        resume_elsewhere=resume_elsewhere,
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


def trial_values(trial) -> dict:
    """A trial's hyper-parameter values and recorded metrics, flat."""
    metrics = trial.metrics
    return {
        **trial.hyperparameters.values,
        **{
            name: metrics.get_last_value(name)
            for name in metrics.metrics
            if metrics.exists(name)
        },
    }
