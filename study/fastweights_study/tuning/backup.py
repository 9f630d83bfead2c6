"""A running trial's backup (`TrialBackup`), from which an interrupted
trial goes on as it would have gone on had it not stopped."""

import csv
import json
import os
import time
from collections.abc import Sequence

import keras
import numpy as np

from keras_fastweights import training

# A running trial's backup (`TrialBackup`), in its directory; deleted when
# the trial has ended.
BACKUP_FILENAME = "backup.npz"


class TrialBackup(keras.callbacks.Callback):
    """Lets an interrupted trial go on from its last finished epoch, as it
    would have gone on had it not stopped.

    `keras.callbacks.BackupAndRestore` keeps the weights, the optimizer's
    state and the epoch. A trial that resumes must also draw the same
    shuffles (`fit` draws each epoch's order from NumPy's global generator
    on JAX, from torch's on torch), keep the same best epoch on validation
    (the `best_epoch`, `best_rank` and `best_weights` of the recipe's
    `training.RestoreBestOnValidation`, which restores those weights at
    the end) and report every epoch, not only those after the resume. After
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
        # The recipe's best epoch so far, as its `on_epoch_end` left it
        # (its `on_train_begin`, which comes first, reset it).
        self.best.best_epoch = best
        self.best.best_rank = training.validation_rank(
            self.logs[best]["val_accuracy"], self.logs[best]["val_loss"]
        )
        self.best.best_weights = best_weights
        for callback, state in zip(self.schedule, schedule):
            for name, value in state.items():
                setattr(callback, name, value)
        # How BackupAndRestore tells `fit` where to start; a run that
        # early stopping had ended trains no further epoch.
        stopped = any(
            getattr(c, "stopped_epoch", 0) or getattr(c, "stopped", False)
            for c in self.schedule
        )
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
    training.StopAtAccuracy: ("stopped",),
}


def _json_number(value):
    """A callback's counter or best value (a NumPy scalar, a number or
    `None` before the first epoch) as JSON keeps it."""
    return value.item() if isinstance(value, np.generic) else value
