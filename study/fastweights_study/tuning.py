"""Grid search over learning rate and seeds with Keras Tuner.

The paper (Ba et al., 2016, §4.1, https://arxiv.org/abs/1610.06258) chose
each model's hyper-parameters on the validation split and reported the
test error of the choice. This module runs that choice as a protocol on
Keras Tuner: `RetrievalHyperModel` builds the paper's models with
`keras_fastweights.models.build_retrieval_model` (seeded) and trains them
with the package's one training recipe (`keras_fastweights.training`);
`GridOracle` runs every learning rate of a cell with the first seed, then
the other seeds at the rate best on validation (`protocol_points`), and
resumes after an interruption; `run_rows` and `table_rows` read the
results back from the trials' records.

Installed with the study: `pip install -e . -e study` from a clone.
The command-line tool is `tuning/grid_search.py`.
"""

import csv
import itertools
import json
import os
import time
from collections.abc import Mapping
from collections.abc import Sequence

import keras
import keras_tuner
import numpy as np

from keras_fastweights import models
from keras_fastweights import training
from keras_fastweights._validation import check_float
from keras_fastweights._validation import check_int
from keras_fastweights._validation import check_positive

PROJECT_NAME = "associative_retrieval"
OBJECTIVE = keras_tuner.Objective("val_accuracy", direction="max")
TrialStatus = keras_tuner.engine.trial.TrialStatus
# The grid and the settings (data, epochs) a search was started with, to
# refuse resuming it with others.
GRID_FILENAME = "grid.json"
SETTINGS_FILENAME = "settings.json"
# The metric under which a trial records its best epoch's test error.
TEST_ERROR = "test_error_percent"
# A running trial's backup (`TrialBackup`), in its directory; deleted when
# the trial has ended.
BACKUP_FILENAME = "backup.npz"


# The learning rates a widened grid may add, in order: the next one beyond
# the end of the grid that did best, until the best has a tried rate on each
# side (`cell_learning_rates`).
LEARNING_RATE_LADDER = (3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
# Optional axes of a grid, beside the model and units, that make cells of
# their own: the ablation's variants of the fast-weights layer, its memory
# update rule and the global gradient-norm clipping (0: none).
OPTIONAL_AXES = ("variant", "update_rule", "clipnorm")
# Keys of a grid that are options of the protocol rather than axes.
PROTOCOL_OPTIONS = ("learning_rate_ladder", "sensitivity")


def check_grid(
    kinds: Sequence[str],
    units: Sequence[int],
    learning_rates: Sequence[float],
    seeds: Sequence[int] = (0,),
    variants: Sequence[str] | None = None,
    *,
    update_rules: Sequence[str] | None = None,
    clipnorms: Sequence[float] | None = None,
    widen: bool = False,
    sensitivity: Sequence[tuple[str, int]] | None = None,
) -> dict:
    """Validates a grid; returns `{"learning_rate", "model", "units",
    "seed"}` lists, each axis in the order given, and the optional axes
    given: `"variant"` (of the fast-weights layer,
    `models.FAST_WEIGHTS_VARIANTS`), `"update_rule"` (of its memory,
    `"hebbian"` or `"delta"`) and `"clipnorm"` (Adam's `global_clipnorm`,
    0 for none).

    With `widen=True` the grid also holds `"learning_rate_ladder"`
    (`LEARNING_RATE_LADDER`): a cell whose best rate is the smallest or the
    largest tried goes on to the next rate of the ladder beyond it
    (`cell_learning_rates`). `sensitivity`, a list of `(model, units)`
    cells, runs every seed at every learning rate tried in those cells, after
    the protocol's runs (`"sensitivity"` in the grid).

    Raises:
        ValueError: an empty axis, an unknown model kind, variant or update
            rule, a repeated value, non-positive units or learning rates,
            negative seeds or clipnorms, a rate of a widened grid that is not
            on the ladder, a sensitivity cell outside the grid; the message
            names it.
    """
    grid = {
        "learning_rate": list(learning_rates),
        "model": list(kinds),
        "units": list(units),
        "seed": list(seeds),
    }
    optional = {
        "variant": variants,
        "update_rule": update_rules,
        "clipnorm": clipnorms,
    }
    for name, values in optional.items():
        if values is not None:
            grid[name] = list(values)
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
    for name in models.FAST_WEIGHTS_OPTIONS:
        for value in grid.get(name, []):
            models.check_fast_weights_option(name, value, grid["model"])
    grid["units"] = [check_int("units", value, 1) for value in grid["units"]]
    grid["seed"] = [check_int("seed", value, 0) for value in grid["seed"]]
    grid["learning_rate"] = [
        check_positive("learning_rate", value)
        for value in grid["learning_rate"]
    ]
    if "clipnorm" in grid:
        grid["clipnorm"] = [
            check_float("clipnorm", value, 0.0) for value in grid["clipnorm"]
        ]
    if widen:
        off = [
            r for r in grid["learning_rate"] if r not in LEARNING_RATE_LADDER
        ]
        if off:
            raise ValueError(
                "A widened grid starts from rates on the ladder "
                f"{LEARNING_RATE_LADDER}. Received: learning_rate={off}"
            )
        grid["learning_rate_ladder"] = list(LEARNING_RATE_LADDER)
    if sensitivity:
        cells = [[str(kind), int(units)] for kind, units in sensitivity]
        for kind, units in cells:
            if kind not in grid["model"] or units not in grid["units"]:
                raise ValueError(
                    "A sensitivity cell must be a (model, units) of the "
                    f"grid. Received: {kind}:{units}"
                )
        grid["sensitivity"] = cells
    return grid


def axes(grid: Mapping) -> list[str]:
    """The grid's axes: its keys less the protocol's options."""
    return [key for key in grid if key not in PROTOCOL_OPTIONS]


def cell_axes(grid: dict) -> list[str]:
    """The axes that make a cell of the results: units, model (and the
    optional axes the grid has, `OPTIONAL_AXES`), in the order the protocol
    runs them (units outermost)."""
    return [axis for axis in ("units", "model", *OPTIONAL_AXES) if axis in grid]


def _in_cell(trial: Mapping, cell: Mapping) -> bool:
    return all(trial.get(axis) == value for axis, value in cell.items())


def solved(trial: Mapping) -> bool:
    """Whether a run answered every validation sequence right."""
    return trial["val_accuracy"] >= 1.0


def _first_seed_trials(grid, trials, cell, rates) -> dict:
    """The cell's trials with the grid's first seed at `rates`, by rate."""
    return {
        trial["learning_rate"]: trial
        for trial in trials
        if _in_cell(trial, cell)
        and trial["seed"] == grid["seed"][0]
        and trial["learning_rate"] in rates
    }


def _best_rate(found: dict) -> float:
    """The learning rate of the best of `found` on validation."""
    return min(
        found.values(),
        key=lambda t: training.validation_rank(
            t["val_accuracy"], t["val_loss"]
        ),
    )["learning_rate"]


def cell_learning_rates(
    grid: dict, trials: Sequence[dict], cell: dict
) -> tuple[list[float], float | None]:
    """The learning rates a cell tries with the grid's first seed, and the
    one chosen among them, or `None` while one of their trials is missing.

    The rates are the grid's; a widened grid (`"learning_rate_ladder"`)
    adds, while the best on validation (`training.validation_rank`) is the
    smallest or the largest tried, the next rate of the ladder beyond it,
    until the best has a tried rate on each side, the ladder ends, or every
    rate tried solved the task (`solved`: no rate is better to find).
    """
    ladder = grid.get("learning_rate_ladder")
    rates = list(grid["learning_rate"])
    while True:
        found = _first_seed_trials(grid, trials, cell, rates)
        if len(found) < len(rates):
            return rates, None
        best = _best_rate(found)
        if not ladder or all(solved(t) for t in found.values()):
            return rates, best
        if best == min(rates):
            beyond = [rate for rate in ladder if rate < best]
            following = max(beyond, default=None)
        elif best == max(rates):
            beyond = [rate for rate in ladder if rate > best]
            following = min(beyond, default=None)
        else:
            following = None
        if following is None:
            return rates, best
        rates.append(following)


def widening_learning_rate(
    grid: dict, trials: Sequence[dict], cell: dict
) -> float | None:
    """While a widened grid tries further rates in `cell`, the best on
    validation among the grid's own rates and those tried so far (all the
    grid's own rates having run with the first seed), else `None`."""
    if "learning_rate_ladder" not in grid:
        return None
    rates, chosen = cell_learning_rates(grid, trials, cell)
    found = _first_seed_trials(grid, trials, cell, rates)
    if chosen is not None or not set(grid["learning_rate"]) <= set(found):
        return None
    return _best_rate(found)


def protocol_points(grid: dict, trials: Sequence[dict]) -> list[dict]:
    """The grid points that the protocol runs, given the trials so far.

    For each cell of the grid (`cell_axes`), in the order of its axes:
    every learning rate with the first seed (a widened grid adds rates as
    `cell_learning_rates` says); then, once those trials are all
    completed, the other seeds at the learning rate that did best on
    validation (`training.validation_rank`). With one learning rate and no
    ladder, every seed of a cell is a point from the start. Last, for the
    grid's `"sensitivity"` cells, every other seed at every other rate
    tried.

    Args:
        grid: As returned by `check_grid`.
        trials: Dicts of the completed trials: their hyper-parameter values
            and `val_accuracy`, `val_loss`.

    Returns:
        Dicts of hyper-parameter values, in the order to run them; those
        whose learning rate is not chosen yet are left out.
    """
    first, others = grid["seed"][0], grid["seed"][1:]
    names = cell_axes(grid)
    points, sensitivity = [], []
    for values in itertools.product(*(grid[axis] for axis in names)):
        cell = dict(zip(names, values))
        rates, chosen = cell_learning_rates(grid, trials, cell)
        chosen = _chosen_before_runs(grid, rates, chosen)
        points += [
            dict(learning_rate=rate, **cell, seed=first) for rate in rates
        ]
        if chosen is None:
            continue
        points += [
            dict(learning_rate=chosen, **cell, seed=seed) for seed in others
        ]
        if [cell["model"], cell["units"]] in grid.get("sensitivity", []):
            sensitivity += [
                dict(learning_rate=rate, **cell, seed=seed)
                for rate in sorted(rates)
                if rate != chosen
                for seed in others
            ]
    return points + sensitivity


def choose_learning_rate(grid: dict, trials: Sequence[dict], cell: dict):
    """The learning rate of `cell` (`{"units": ..., "model": ...}`) best on
    validation at the grid's first seed (`cell_learning_rates`), or `None`
    while one of its trials is missing."""
    return _chosen_before_runs(grid, *cell_learning_rates(grid, trials, cell))


def _chosen_before_runs(grid, rates, chosen):
    """`chosen`, or a grid's one learning rate (without a ladder), which is
    chosen before any trial has run."""
    if len(rates) == 1 and "learning_rate_ladder" not in grid:
        return rates[0]
    return chosen


class TrialBackup(keras.callbacks.Callback):
    """Lets an interrupted trial go on from its last finished epoch, as it
    would have gone on had it not stopped.

    `keras.callbacks.BackupAndRestore` keeps the weights, the optimizer's
    state and the epoch. A trial that resumes must also draw the same
    shuffles (`fit` draws each epoch's order from NumPy's global generator
    on JAX, from torch's on torch), keep the same best epoch on validation
    (`training.RestoreBestOnValidation`, whose weights it restores at the
    end) and report every epoch, not only those after the resume. After
    each epoch this callback writes all of that to one file, replaced
    atomically, so that a kill at any moment leaves the last finished
    epoch's backup whole; `on_train_begin` reads it back and `fit` goes on
    from the next epoch (`BackupAndRestore`'s way of setting it).

    The counters and best values of Keras's schedule callbacks
    (`ReduceLROnPlateau`, `EarlyStopping`: `SCHEDULE_STATE`), which their
    `on_train_begin` resets, are kept too (the rate itself is one of the
    optimizer's variables); a run the schedule had stopped stays stopped.

    Place it after the callbacks that log an epoch (`CSVLogger`): an epoch
    is backed up once it is logged. On TensorFlow, `fit` shuffles with
    `tf.data`, whose generator is not restored: there the epochs after a
    resume are another draw of the order.

    Args:
        filepath: The backup file (`.npz`); read when it exists.
        best: The recipe's `training.RestoreBestOnValidation`.
        schedule: The recipe's schedule callbacks
            (`training.schedule_callbacks`), whose state is kept.

    Attributes:
        logs: Every finished epoch's logs, those before a resume included.
        seconds_before: Seconds the epochs before a resume took.
    """

    def __init__(
        self,
        filepath,
        best: training.RestoreBestOnValidation,
        schedule: Sequence[keras.callbacks.Callback] = (),
    ):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.best = best
        self.schedule = list(schedule)
        for callback in self.schedule:
            if type(callback) not in SCHEDULE_STATE:
                raise TypeError(
                    "TrialBackup keeps the state of "
                    f"{[c.__name__ for c in SCHEDULE_STATE]} only. Received: "
                    f"{type(callback).__name__}"
                )
        self.logs = []
        self.seconds_before = 0.0
        self._start = None

    @staticmethod
    def read_logs(filepath) -> list:
        """The logs of the epochs the backup at `filepath` holds (none
        without one)."""
        if not os.path.exists(filepath):
            return []
        with np.load(filepath) as saved:
            return json.loads(str(saved["logs"]))

    @staticmethod
    def write_history(filepath, logs) -> None:
        """Writes the epochs' `logs` as `keras.callbacks.CSVLogger` writes
        them, so that a resumed trial's CSVLogger appends to its own
        history: the rows of the backup's epochs, no row written after it
        (a kill between the two) and none missing (a copy of the trial's
        files taken between them)."""
        names = sorted(logs[0])
        with open(filepath, "w", newline="") as file:
            writer = csv.DictWriter(file, ["epoch", *names], dialect="excel")
            writer.writeheader()
            for epoch, values in enumerate(logs):
                writer.writerow({"epoch": epoch, **values})

    def history(self) -> dict:
        """`{metric: [value per epoch]}` of every finished epoch, like
        `keras.callbacks.History.history`."""
        return {
            name: [logs[name] for logs in self.logs] for name in self.logs[0]
        }

    def _variables(self):
        return [*self.model.variables, *self.model.optimizer.variables]

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self.logs, self.seconds_before = [], 0.0
        if not os.path.exists(self.filepath):
            return
        optimizer = self.model.optimizer
        if not optimizer.built:  # TensorFlow builds it at the first step.
            optimizer.build(self.model.trainable_variables)
        variables = self._variables()
        with np.load(self.filepath) as saved:
            saved_count = int(saved["num_variables"])
            values = [saved[f"variable_{i}"] for i in range(saved_count)]
            if saved_count != len(variables) or any(
                tuple(v.shape) != value.shape
                for v, value in zip(variables, values)
            ):
                raise ValueError(
                    f"The backup {self.filepath} holds another model's "
                    f"variables ({saved_count}, not "
                    f"{len(variables)} of these shapes); delete it to run "
                    "the trial from its start."
                )
            self.logs = json.loads(str(saved["logs"]))
            self.seconds_before = float(saved["seconds"])
            np.random.set_state(
                (
                    "MT19937",
                    saved["rng_keys"],
                    int(saved["rng_pos"]),
                    int(saved["rng_has_gauss"]),
                    float(saved["rng_cached_gaussian"]),
                )
            )
            if "torch_rng" in saved:
                import torch

                torch.random.set_rng_state(torch.from_numpy(saved["torch_rng"]))
            best = int(saved["best_epoch"])
            best_weights = [
                saved[f"best_weight_{i}"]
                for i in range(int(saved["num_best_weights"]))
            ]
            schedule = json.loads(str(saved.get("schedule", "[]")))
        if len(schedule) != len(self.schedule):
            raise ValueError(
                f"The backup {self.filepath} holds the state of "
                f"{len(schedule)} schedule callbacks, not "
                f"{len(self.schedule)}: it was written by a run with another "
                "schedule; delete it to run the trial from its start."
            )
        for variable, value in zip(variables, values):
            variable.assign(value)
        self.best.resume(best, self.logs[best], best_weights)
        for callback, state in zip(self.schedule, schedule):
            for name, value in state.items():
                setattr(callback, name, value)
        # How BackupAndRestore tells `fit` where to start; a run that
        # early stopping had ended trains no further epoch.
        stopped = any(getattr(c, "stopped_epoch", 0) for c in self.schedule)
        self.model._initial_epoch = (
            self.params["epochs"] if stopped else len(self.logs)
        )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.logs.append({name: float(value) for name, value in logs.items()})
        _, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
        variables = self._variables()
        arrays = {
            "logs": np.array(json.dumps(self.logs)),
            "seconds": np.array(
                self.seconds_before + time.perf_counter() - self._start
            ),
            "rng_keys": keys,
            "rng_pos": np.array(pos),
            "rng_has_gauss": np.array(has_gauss),
            "rng_cached_gaussian": np.array(cached_gaussian),
            "best_epoch": np.array(self.best.best_epoch),
            "num_best_weights": np.array(len(self.best.best_weights)),
            "num_variables": np.array(len(variables)),
            "schedule": np.array(
                json.dumps(
                    [
                        {
                            name: _json_number(getattr(callback, name))
                            for name in SCHEDULE_STATE[type(callback)]
                        }
                        for callback in self.schedule
                    ]
                )
            ),
        }
        if keras.backend.backend() == "torch":
            import torch

            arrays["torch_rng"] = torch.random.get_rng_state().numpy()
        for i, value in enumerate(self.best.best_weights):
            arrays[f"best_weight_{i}"] = value
        for i, variable in enumerate(variables):
            arrays[f"variable_{i}"] = keras.ops.convert_to_numpy(variable)
        partial = self.filepath + ".partial.npz"
        np.savez(partial, **arrays)
        os.replace(partial, self.filepath)

    def on_train_end(self, logs=None):
        if os.path.exists(self.filepath):
            os.remove(self.filepath)


# What `TrialBackup` keeps of each of Keras's schedule callbacks: the
# attributes their `on_train_begin` resets.
SCHEDULE_STATE = {
    keras.callbacks.ReduceLROnPlateau: ("best", "wait", "cooldown_counter"),
    keras.callbacks.EarlyStopping: (
        "best",
        "best_epoch",
        "wait",
        "stopped_epoch",
    ),
}


def _json_number(value):
    """A callback's counter or best value (a NumPy scalar, a number or
    `None` before the first epoch) as JSON keeps it."""
    return value.item() if isinstance(value, np.generic) else value


class RetrievalHyperModel(keras_tuner.HyperModel):
    """The paper's models on the associative retrieval task, as a grid.

    `build` chooses `hp.Choice` of `"model"`, `"units"`, `"learning_rate"`
    and `"seed"` (the seed of the weights and of the training's shuffling;
    the data are the same for every trial); `fit` trains with the
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
        return models.build_retrieval_model(
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
        # RetrievalGridSearch.run_trial) records the test metrics too; the
        # backup last, once the epoch is logged.
        recipe = training.retrieval_callbacks(
            test_data=test_data, schedule=self.schedule
        )
        callbacks = recipe + list(callbacks)
        backup = None
        if backup_path is not None:
            (best,) = [
                callback
                for callback in recipe
                if isinstance(callback, training.RestoreBestOnValidation)
            ]
            schedule = [c for c in recipe if type(c) in SCHEDULE_STATE]
            backup = TrialBackup(backup_path, best, schedule)
            callbacks.append(backup)
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
        if backup is not None:
            # Every epoch's, those before a resume included.
            history = backup.history()
            seconds += backup.seconds_before
        else:
            history = history.history
        best = training.best_epoch(history)
        results = {
            name: float(values[best])
            for name, values in history.items()
            if name.startswith(("val_", "test_"))
        }
        if test_data is not None:
            # The restored model's answers, as the example script reports.
            results[TEST_ERROR] = round(
                training.error_percent(model, *test_data), 4
            )
        return {
            **results,
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


def grid_size(grid: dict, trials: Sequence[dict] = ()) -> int:
    """The number of trials the protocol runs on `grid`, as far as the
    completed `trials` tell: a widened grid may add rates to a cell, and a
    sensitivity cell's runs count once its rate is chosen."""
    total = 0
    others = len(grid["seed"]) - 1
    names = cell_axes(grid)
    for values in itertools.product(*(grid[axis] for axis in names)):
        cell = dict(zip(names, values))
        rates, chosen = cell_learning_rates(grid, trials, cell)
        total += len(rates) + others
        if chosen is not None and [cell["model"], cell["units"]] in grid.get(
            "sensitivity", []
        ):
            total += (len(rates) - 1) * others
    return total


def protocol_progress(grid: dict, trials: Sequence[dict]) -> tuple[int, int]:
    """How many of the protocol's trials (`protocol_points`) the completed
    `trials` hold, and how many it runs as far as they tell (`grid_size`).
    A run kept from before the grid was widened (another seed at a rate
    no longer chosen) is not counted."""
    keys = list(axes(grid))
    points = {
        tuple(point[key] for key in keys)
        for point in protocol_points(grid, trials)
    }
    done = sum(tuple(t.get(key) for key in keys) in points for t in trials)
    return done, grid_size(grid, trials)


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
    """

    def __init__(self, hypermodel: RetrievalHyperModel, **kwargs):
        oracle = GridOracle(hypermodel.grid)
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)

    def progress(self) -> tuple[int, int]:
        """`protocol_progress` of the completed trials."""
        completed = [trial_values(t) for t in completed_trials(self)]
        return protocol_progress(self.hypermodel.grid, completed)

    def run_trial(self, trial, *args, **kwargs):
        trial_dir = self.get_trial_dir(trial.trial_id)
        path = os.path.join(trial_dir, training.HISTORY_FILENAME)
        # A trial that was interrupted goes on from its backup's epoch, its
        # history that of the epochs the backup holds; unless it began on
        # another machine or versions, which would draw another run.
        backup = os.path.join(trial_dir, BACKUP_FILENAME)
        done = TrialBackup.read_logs(backup)
        began_on, here = read_environment(trial_dir), environment()
        if done and began_on != here:
            print(
                f"{backup} was written on {began_on}, not on this machine "
                f"({here}): the trial runs again from its start.",
                flush=True,
            )
            os.remove(backup)
            done = []
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
        write_environment(trial_dir)
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


def extends(grid: Mapping, before: Mapping) -> bool:
    """Whether `grid` holds every point of the grid `before` and its runs:
    the same axes, each with the values it had (more may follow), the same
    protocol options or more (a ladder, sensitivity cells). A search of
    `before` resumes as a search of `grid`, its finished trials kept."""
    if axes(grid) != axes(before):
        return False
    for key, values in before.items():
        if key not in grid or not set(map(_hashable, values)) <= set(
            map(_hashable, grid[key])
        ):
            return False
    return True


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


# Beside each trial's record: the machine and the library versions it ran
# on (a seeded run repeats exactly on the same CPU model and versions only).
ENVIRONMENT_FILENAME = "environment.json"


def cpu_description(cpuinfo: str = "/proc/cpuinfo") -> dict:
    """The first CPU's `model name`, and its `cpu_id` (family, model and
    stepping, and the widest vector instructions it offers) from
    `cpuinfo` (Linux's /proc/cpuinfo) where there is one.

    The name alone does not tell machines apart that give different draws:
    virtual machines may call CPUs of two generations "AMD EPYC", and XLA
    picks its CPU kernels by the instructions it finds (AVX-512 or not),
    which changes the rounding of a seeded run."""
    import platform

    fields = {}
    try:
        with open(cpuinfo) as file:
            for line in file:
                if not line.strip():
                    break  # the first processor's block only
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    cpu = fields.get("model name") or platform.processor() or platform.machine()
    described = {"cpu": cpu}
    if "cpu family" in fields and "model" in fields:
        flags = fields.get("flags", "").split()
        vector = next(
            (name for flag, name in VECTOR_EXTENSIONS if flag in flags), None
        )
        described["cpu_id"] = ", ".join(
            [
                f"family {fields['cpu family']}",
                f"model {fields['model']}",
                f"stepping {fields.get('stepping', '?')}",
                *([vector] if vector else []),
            ]
        )
    return described


# The widest vector instructions a CPU offers, as /proc/cpuinfo's flags name
# them, widest first.
VECTOR_EXTENSIONS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"))


def environment() -> dict:
    """The CPU model (`cpu_description`), Python, Keras backend and library
    versions of this process, as recorded beside each trial
    (`write_environment`)."""
    import platform

    backend = keras.backend.backend()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
    versions = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "numpy": np.__version__,
        "keras_tuner": keras_tuner.__version__,
    }
    if backend in module:
        versions[backend] = __import__(module[backend]).__version__
    return {
        **cpu_description(),
        "cpu_count": os.cpu_count(),
        "backend": backend,
        "versions": versions,
    }


def write_environment(trial_dir: str | os.PathLike) -> None:
    """Writes `environment()` to `trial_dir/environment.json`."""
    os.makedirs(trial_dir, exist_ok=True)
    with open(os.path.join(trial_dir, ENVIRONMENT_FILENAME), "w") as file:
        json.dump(environment(), file, indent=1)


def read_environment(trial_dir: str | os.PathLike) -> dict | None:
    """A trial's `environment.json`, or `None` for a trial run before it
    was recorded."""
    path = os.path.join(trial_dir, ENVIRONMENT_FILENAME)
    if not os.path.exists(path):
        return None
    with open(path) as file:
        return json.load(file)


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


def load_search(directory: str | os.PathLike) -> dict:
    """A search's records, read back to report on it.

    Returns:
        A dict with the `directory`, the `grid` and `settings` it was
        started with (`load_settings`), the `tuner` that resumes it
        (`make_tuner`; its `load_model` builds a trial's model for the
        search's sequences, `settings["num_pairs"]`), its finished `runs`
        (`run_rows`) and their `histories` by `trial_id`
        (`trial_histories`).

    Raises:
        ValueError: If `directory` holds no search.
    """
    saved = load_settings(directory)
    tuner = make_tuner(
        saved["grid"],
        directory,
        num_pairs=saved["settings"]["num_pairs"],
        epochs=saved["settings"]["epochs"],
        schedule=saved["settings"].get("schedule", "constant"),
    )
    return {
        "directory": directory,
        **saved,
        "tuner": tuner,
        "runs": run_rows(tuner),
        "histories": trial_histories(tuner),
    }


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


def trial_histories(tuner: keras_tuner.Tuner) -> dict:
    """Every completed trial's `trial_history`, by `trial_id` (the
    `trial_id` of `run_rows`)."""
    return {
        trial.trial_id: trial_history(tuner, trial)
        for trial in completed_trials(tuner)
    }


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


# One row per run of a search (`run_rows`), as in `results/table1_runs.csv`.
RUN_COLUMNS = (
    "model",
    "units",
    "learning_rate",
    "seed",
    "epochs",
    "best_epoch",
    "val_error_percent",
    "val_loss",
    "test_error_percent",
    "test_loss",
    "seconds",
    "trial_id",
)
# One row per (model, units) (`table_rows`), as in `results/table1.csv`.
TABLE_COLUMNS = (
    "model",
    "units",
    "learning_rate",
    "choice",
    "seeds",
    "test_error_mean",
    "test_error_std",
    "test_error_min",
    "test_error_max",
)


# Where each run ran (`environment`), in the runs' CSV after RUN_COLUMNS;
# empty for the runs recorded before it was.
ENVIRONMENT_COLUMNS = ("cpu", "versions")


def columns(base: Sequence[str], grid: dict) -> list[str]:
    """`RUN_COLUMNS` or `TABLE_COLUMNS`, with the grid's optional axes
    (`OPTIONAL_AXES`: `"variant"`, ...) after `"units"`."""
    base = list(base)
    at = base.index("units") + 1
    base[at:at] = [axis for axis in OPTIONAL_AXES if axis in grid]
    return base


def environment_columns(trial_dir) -> dict:
    """A run's `cpu` and `versions` columns, from its `environment.json`
    (empty for a run recorded before there was one)."""
    recorded = read_environment(trial_dir)
    if recorded is None:
        return dict.fromkeys(ENVIRONMENT_COLUMNS, "")
    versions = recorded["versions"]
    # Records before `cpu_id` was kept name the model and cores only.
    detail = [recorded["cpu_id"]] if "cpu_id" in recorded else []
    return {
        "cpu": "{} ({})".format(
            recorded["cpu"],
            "; ".join([*detail, f"{recorded['cpu_count']} cores"]),
        ),
        "versions": ", ".join(
            f"{name} {versions[name]}"
            for name in ("keras", recorded["backend"], "numpy", "python")
            if name in versions
        ),
    }


def run_rows(tuner: keras_tuner.Tuner) -> list[dict]:
    """One row per completed trial, with the keys of
    `columns(RUN_COLUMNS, grid)`, in the order of the trials."""
    rows = []
    for trial in sorted(completed_trials(tuner), key=lambda t: t.trial_id):
        values = trial_values(trial)
        rows.append(
            {
                **{
                    name: values[name]
                    for name in ("model", "units", *OPTIONAL_AXES, "seed")
                    if name in values
                },
                "learning_rate": values["learning_rate"],
                "epochs": int(values["epochs"]),
                "best_epoch": int(values["best_epoch"]),
                "val_error_percent": round(
                    100 * (1 - values["val_accuracy"]), 4
                ),
                "val_loss": round(values["val_loss"], 6),
                "test_error_percent": values.get(TEST_ERROR),
                "test_loss": round(values["test_loss"], 6)
                if "test_loss" in values
                else None,
                "seconds": round(values["seconds"], 1),
                "trial_id": trial.trial_id,
                **environment_columns(tuner.get_trial_dir(trial.trial_id)),
                # Not a column: the validation metrics unrounded, as the
                # search chose by them (`trials_from_runs`).
                "validation": (values["val_accuracy"], values["val_loss"]),
            }
        )
    return rows


def trials_from_runs(runs: Sequence[Mapping]) -> list[dict]:
    """Rows of `run_rows` as the protocol reads trials: with the
    `val_accuracy` and `val_loss` the search recorded (`validation`, kept
    unrounded by `run_rows`: runs that solve the task tie on accuracy and
    may differ in loss below the CSV's six decimals, and a report must
    choose as the search did), else those of the CSV's columns."""
    trials = []
    for run in runs:
        accuracy, loss = run.get("validation") or (
            1 - run["val_error_percent"] / 100,
            run["val_loss"],
        )
        trials.append({**run, "val_accuracy": accuracy, "val_loss": loss})
    return trials


def rates_around(
    grid: dict, runs: Sequence[Mapping], cell: Mapping
) -> list[float]:
    """The learning rate a cell of a search chose and the ladder's rate on
    each side of it (`LEARNING_RATE_LADDER`), ascending: the grid of an
    ablation around that choice.

    Raises:
        ValueError: if the cell has not chosen yet, or its rate is not on
            the ladder; the message names the cell.
    """
    chosen = choose_learning_rate(grid, trials_from_runs(runs), dict(cell))
    ladder = list(LEARNING_RATE_LADDER)
    if chosen is None or chosen not in ladder:
        raise ValueError(
            f"The cell {dict(cell)} has no chosen learning rate on the ladder "
            f"yet. Received: chosen={chosen}"
        )
    at = ladder.index(chosen)
    return ladder[max(at - 1, 0) : at + 2]


def runs_finished(grid: dict, runs: Sequence[Mapping]) -> str:
    """`"N of M runs finished"` for a search's `run_rows`, counted as
    `protocol_progress` counts."""
    done, planned = protocol_progress(grid, trials_from_runs(runs))
    return f"{done} of {planned} runs finished"


def table_rows(grid: dict, runs: Sequence[dict]) -> list[dict]:
    """One row per cell (model, units, and variant if the grid has one),
    with the keys of `columns(TABLE_COLUMNS, grid)`: the test error over
    the seeds of the learning rate chosen on validation.

    Args:
        grid: The search's grid (`check_grid`).
        runs: As returned by `run_rows`.

    Returns:
        Rows in the order of the grid's models, then units (ascending),
        then variants; `choice` is `"final"`, or `"widening"` while a
        widened grid still tries further rates in the cell (the row then
        holds the best rate so far, `widening_learning_rate`). A cell
        whose learning rate is not chosen yet, or which has no finished
        run at that rate, is left out. `seeds` lists the
        seeds of the runs counted; the standard deviation is the sample
        one (`ddof=1`), empty for a single run.
    """
    trials = trials_from_runs(runs)
    names = ["model", "units", *cell_axes(grid)[2:]]
    values = [
        grid["model"],
        sorted(grid["units"]),
        *(grid[a] for a in names[2:]),
    ]
    rows = []
    for cell in itertools.product(*values):
        cell = dict(zip(names, cell))
        rate = choose_learning_rate(grid, trials, cell)
        choice = "final"
        if rate is None:
            rate, choice = (
                widening_learning_rate(grid, trials, cell),
                "widening",
            )
        if rate is None:
            continue
        chosen = sorted(
            (
                run
                for run in runs
                if _in_cell(run, cell)
                and run["learning_rate"] == rate
                and run["seed"] in grid["seed"]
            ),
            key=lambda run: run["seed"],
        )
        if not chosen:
            # A grid of one learning rate chooses it before any run.
            continue
        errors = np.array([run["test_error_percent"] for run in chosen])
        rows.append(
            {
                **cell,
                "learning_rate": rate,
                "choice": choice,
                "seeds": " ".join(str(run["seed"]) for run in chosen),
                "test_error_mean": round(float(errors.mean()), 4),
                "test_error_std": round(float(errors.std(ddof=1)), 4)
                if len(errors) > 1
                else None,
                "test_error_min": float(errors.min()),
                "test_error_max": float(errors.max()),
            }
        )
    return rows
