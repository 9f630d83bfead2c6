"""The MQAR sweep: Zoology's Figure 2 (Arora et al., 2023,
https://arxiv.org/abs/2312.04927) on this project's layers, run with the
study's grid search.

One search per `(sequence_length, num_pairs)` cell, each a grid of mixers
(`keras_fastweights.models.MQAR_MIXERS`: attention, the Hebbian and the
delta fast memory, the LSTM) × widths `d` × learning rates, one seed: as
Zoology reports, a cell's result is its best learning rate on validation,
and a run stops once its validation accuracy reaches `STOP_ACCURACY`
(Zoology's rule). `MQARHyperModel` builds
`keras_fastweights.models.build_mqar_model` and trains it with `fit`,
keeping the best epoch on validation; the grid search's tuner
(`tuning.RetrievalGridSearch`: its oracle, trial backups, histories and
records) runs it, so a sweep resumes where it stopped.

What is scaled from Zoology's configuration, and why
(`keras_fastweights.datasets.mqar.scaled_vocab_size`):
Zoology trains 100,000 sequences for 64 epochs at a vocabulary of 8,192,
so that each of its 4,096 values is the answer about 6,250 times in a
training at (64, 4). Two CPU cores train 10,000 sequences for at most 16
epochs a run; at 8,192 tokens each value would then be an answer about
160 times, too seldom for the read-out to learn its classes: attention,
the mixer that solves MQAR, stopped at 0.22 in a pilot at 8,192 tokens
(20,000 sequences, 12 epochs). A vocabulary scaled to
keep only the answers an epoch (1,638 tokens at 20,000 sequences) still
left attention on its 0.25 plateau through 8 epochs. The vocabulary is
therefore scaled with the whole training, sequences × epochs, so that each
value is the answer as often as in Zoology's training (204 tokens at
(64, 4), 410 at (128, 8)); at these attention reached 0.99 (the pilot is
in results/README.md).
"""

import os
from collections.abc import Sequence

import keras
import keras_tuner
import numpy as np

from fastweights_study import tuning
from keras_fastweights import models
from keras_fastweights import training
from keras_fastweights.datasets import mqar

# Zoology's (sequence length, pairs) of Figure 2, the sweep's cells.
CELLS = ((64, 4), (128, 8), (256, 16))
D_MODELS = (64, 128)
# The cells and widths that two CPU cores run (tuning/reproduce.sh), within
# about twelve lane-hours (11.6, timed from the sweep's first runs and
# benchmarks/mqar_mixers.py, where d = 128 takes 2.2-3.7x d = 64's time);
# (128, 8) at d = 128 would take about 13 more. It joins (256, 16) where a
# GPU is (results/README.md gives the commands).
CPU_WIDTHS = {(64, 4): D_MODELS, (128, 8): D_MODELS[:1]}
CPU_CELLS = tuple(CPU_WIDTHS)
# Zoology's sweep of learning rates, `np.logspace(-4, -2, 4)`.
LEARNING_RATES = tuple(float(rate) for rate in np.logspace(-4, -2, 4))
STOP_ACCURACY = 0.99
# The CPU budget of a run (the module's docstring says why).
NUM_TRAIN = 10_000
EPOCHS = 16


def check_mqar_grid(
    mixers: Sequence[str],
    d_models: Sequence[int],
    learning_rates: Sequence[float],
    seeds: Sequence[int] = (0,),
) -> dict:
    """A grid of the sweep in the grid search's terms (`tuning.GridOracle`):
    the mixers as `"model"`, the widths as `"units"`.

    Raises:
        ValueError: an empty or repeated axis, an unknown mixer, a
            non-positive width or rate; the message names it.
    """
    grid = {
        "learning_rate": [float(rate) for rate in learning_rates],
        "model": list(mixers),
        "units": [int(d) for d in d_models],
        "seed": [int(seed) for seed in seeds],
    }
    for name, values in grid.items():
        if not values or len(set(values)) != len(values):
            raise ValueError(
                f"The grid needs distinct values of {name}. "
                f"Received: {name}={values}"
            )
    unknown = [m for m in grid["model"] if m not in models.MQAR_MIXERS]
    if unknown:
        raise ValueError(
            f"Unknown mixers {unknown}; expected some of {models.MQAR_MIXERS}"
        )
    for name in ("units", "learning_rate"):
        if min(grid[name]) <= 0:
            raise ValueError(
                f"The grid's {name} must be positive. Received: {grid[name]}"
            )
    return grid


def load_data(settings: dict):
    """The training, validation and test splits of a cell's `settings`
    (the `settings.json` of its search), as the model reads them
    (`mqar.model_inputs`): consecutive parts of one `mqar.generate` call."""
    sizes = [settings[key] for key in ("num_train", "num_val", "num_test")]
    inputs, targets = mqar.generate(
        sum(sizes),
        settings["sequence_length"],
        settings["num_pairs"],
        vocab_size=settings["vocab_size"],
        seed=settings["data_seed"],
        random_non_queries=settings["random_non_queries"],
    )
    bounds = np.cumsum([0, *sizes])
    return [
        mqar.model_inputs(inputs[start:stop], targets[start:stop])
        for start, stop in zip(bounds[:-1], bounds[1:])
    ]


class MQARHyperModel(keras_tuner.HyperModel):
    """`build_mqar_model` over a grid of `check_mqar_grid`, trained with
    `fit` until `STOP_ACCURACY` on validation or `epochs`, the best epoch on
    validation restored and its test accuracy recorded, with the epochs
    and seconds; the `TrialBackup` the tuner asks for goes on from an
    interruption.

    Args:
        grid: As returned by `check_mqar_grid`.
        settings: The cell: `sequence_length`, `vocab_size`, `epochs`,
            `batch_size` (the rest are the data's, `load_data`).
    """

    def __init__(self, grid: dict, settings: dict):
        super().__init__(name=tuning.PROJECT_NAME)
        self.grid = grid
        self.settings = settings

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        return models.build_mqar_model(
            hp.Choice("model", self.grid["model"]),
            hp.Choice("units", self.grid["units"]),
            self.settings["sequence_length"],
            self.settings["vocab_size"],
            learning_rate=hp.Choice(
                "learning_rate", self.grid["learning_rate"]
            ),
            seed=hp.Choice("seed", self.grid["seed"]),
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
        recipe = [
            training.RestoreBestOnValidation(),
            training.StopAtAccuracy(STOP_ACCURACY),
        ]
        history, seconds = tuning.fit_with_backup(
            lambda every: model.fit(
                x,
                y,
                validation_data=validation_data,
                epochs=self.settings["epochs"],
                batch_size=self.settings["batch_size"],
                callbacks=every,
                verbose=kwargs.get("verbose", "auto"),
            ),
            recipe,
            callbacks,
            backup_path,
        )
        results = tuning.best_epoch_results(history, seconds)
        if test_data is not None:
            # The best epoch's weights, which the recipe has restored.
            test = model.evaluate(
                *test_data,
                batch_size=self.settings["batch_size"],
                verbose=0,
                return_dict=True,
            )
            results.update({f"test_{k}": float(v) for k, v in test.items()})
        return results


def make_search(
    directory,
    grid: dict,
    settings: dict,
    overwrite=False,
    resume_elsewhere=False,
):
    """Creates or resumes a cell's search in `directory` (its grid and
    settings kept beside it, as `tuning.make_tuner` keeps them, a resume
    with others refused; `resume_elsewhere` as there)."""
    return tuning.make_tuner(
        grid,
        directory,
        overwrite=overwrite,
        settings=settings,
        resume_elsewhere=resume_elsewhere,
        hypermodel=MQARHyperModel(grid, settings),
    )


# One row per run of a cell (`run_rows`) and per (cell, mixer, d) of the
# sweep (`best_rows`), as in results/mqar_runs.csv and results/mqar.csv.
RUN_COLUMNS = (
    "sequence_length",
    "num_pairs",
    "vocab_size",
    "mixer",
    "d_model",
    "state_size",
    "learning_rate",
    "seed",
    "epochs",
    "best_epoch",
    "val_accuracy",
    "test_accuracy",
    "seconds",
    "trial_id",
    "cpu",
    "versions",
)


def state_size(mixer: str, d_model: int, sequence_length: int) -> int:
    """The numbers a mixer keeps of the past, per layer, at the end of a
    sequence: attention's keys and values (`2 T d`), the fast memory
    (`d²`, beside its `d` hidden units), the LSTM's `h` and `c` (`2d`).
    Zoology's Figure 2 puts accuracy against this.

    Example:

    >>> state_size("hebbian", 64, 64), state_size("lstm", 64, 64)
    (4160, 128)
    """
    if mixer == "attention":
        return 2 * sequence_length * d_model
    if mixer == "lstm":
        return 2 * d_model
    return d_model * d_model + d_model


def run_rows(search, settings: dict) -> list[dict]:
    """One row per finished run of a cell's search (`RUN_COLUMNS`)."""
    rows = []
    for trial in sorted(
        tuning.completed_trials(search), key=lambda t: t.trial_id
    ):
        values = tuning.trial_values(trial)
        mixer, d_model = values["model"], values["units"]
        rows.append(
            {
                "sequence_length": settings["sequence_length"],
                "num_pairs": settings["num_pairs"],
                "vocab_size": settings["vocab_size"],
                "mixer": mixer,
                "d_model": d_model,
                "state_size": state_size(
                    mixer, d_model, settings["sequence_length"]
                ),
                "learning_rate": values["learning_rate"],
                "seed": values["seed"],
                "epochs": int(values["epochs"]),
                "best_epoch": int(values["best_epoch"]),
                "val_accuracy": round(values["val_accuracy"], 4),
                "test_accuracy": round(values["test_accuracy"], 4),
                "seconds": round(values["seconds"], 1),
                "trial_id": trial.trial_id,
                **tuning.environment_columns(
                    search.get_trial_dir(trial.trial_id)
                ),
                "validation": (values["val_accuracy"], values["val_loss"]),
            }
        )
    return rows


def best_rows(runs: Sequence[dict]) -> list[dict]:
    """Per (cell, mixer, d): the run of the learning rate best on
    validation (`training.validation_rank`), with how many rates ran."""
    cells = {}
    for run in runs:
        key = (
            run["sequence_length"],
            run["num_pairs"],
            run["mixer"],
            run["d_model"],
        )
        cells.setdefault(key, []).append(run)
    rows = []
    for key in sorted(
        cells, key=lambda k: (k[0], models.MQAR_MIXERS.index(k[2]), k[3])
    ):
        found = cells[key]
        best = min(
            found, key=lambda r: training.validation_rank(*r["validation"])
        )
        rows.append({**best, "rates_tried": len(found)})
    return rows


def cell_directory(root, sequence_length: int, num_pairs: int) -> str:
    """A cell's search under `root`: `T<length>_K<pairs>`."""
    return os.path.join(root, f"T{sequence_length}_K{num_pairs}")
