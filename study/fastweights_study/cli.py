"""Command-line pieces of the study's scripts (`tuning/`), beside the
package's own (`keras_fastweights.cli`): the data set a grid search
trained on, read from its settings (`load_data`), and the capacity
scripts' flags."""

import argparse
import shlex
from collections.abc import Mapping

from keras_fastweights import cli
from keras_fastweights import models
from keras_fastweights.cli import positive_int


def load_data(settings: Mapping):
    """The data set a grid search trained on: `keras_fastweights.cli`'s
    `load_data` with the data flags (`add_data_arguments`) that the
    search's `settings.json` keeps under their names
    (`tuning.load_settings`)."""
    return cli.load_data(argparse.Namespace(**settings))


def add_resume_elsewhere_argument(parser: argparse.ArgumentParser) -> None:
    """`--resume-elsewhere`, the searches' flag for
    `tuning.RetrievalGridSearch`'s `resume_elsewhere`."""
    parser.add_argument(
        "--resume-elsewhere",
        action="store_true",
        help="an interrupted trial whose backup was written on another CPU "
        "model or library versions goes on from it (its environment.json "
        "then names each machine and the epoch it went on from) instead of "
        "running again from its start",
    )


def add_capacity_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the scripts that read the capacity curve's searches:
    `--directories` (one grid search per K; by default the study's, in
    `reporting.capacity.CAPACITY_DIRECTORIES`), `--models` and `--units`
    (R), and `--output`."""
    from fastweights_study import reporting

    parser.add_argument(
        "--directories",
        nargs="+",
        default=list(reporting.capacity.CAPACITY_DIRECTORIES),
        help="the --directory of each grid search, one per K (read from "
        "the search's settings); those that do not exist are skipped",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        choices=models.MODEL_KINDS,
        default=["fast_weights", "lstm"],
        help="the models to read",
    )
    parser.add_argument(
        "--units",
        type=positive_int,
        default=50,
        help="the number R of hidden units to read",
    )
    parser.add_argument("--output", default="results", help="where to write")


def capacity_command(script: str, args: argparse.Namespace) -> str:
    """The command line that reruns `script` with the flags of
    `add_capacity_arguments` in `args`, to write beside its results."""
    return shlex.join(
        ["python", script, "--directories", *args.directories]
        + ["--models", *args.models, "--units", str(args.units)]
        + ["--output", args.output]
    )
