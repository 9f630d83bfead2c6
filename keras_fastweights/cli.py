"""Command-line pieces of the example scripts (`examples/`), for scripts
built on the package too.

The flag types turn a bad value into argparse's one-line error;
`add_data_arguments` gives every script the same data-set flags and
`add_epochs_argument` the training recipe's budget.
"""

import argparse
import math
import sys

from keras_fastweights.datasets import associative_retrieval


def _number_type(convert, name, minimum, inclusive):
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if (
            value is None
            or not math.isfinite(value)
            or not (value >= minimum if inclusive else value > minimum)
        ):
            bound = f">= {minimum}" if inclusive else f"> {minimum}"
            raise argparse.ArgumentTypeError(
                f"must be {name} {bound}, got {text!r}"
            )
        return value

    parse.__name__ = name
    return parse


positive_int = _number_type(int, "an integer", 1, inclusive=True)
non_negative_int = _number_type(int, "an integer", 0, inclusive=True)
positive_float = _number_type(float, "a number", 0.0, inclusive=False)
non_negative_float = _number_type(float, "a number", 0.0, inclusive=True)


def model_units(text: str) -> tuple[str, int]:
    """`MODEL:UNITS` (e.g. `fast_weights:50`) as `(model, units)`."""
    model, _, units = text.partition(":")
    try:
        return model, positive_int(units)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"must be MODEL:UNITS such as fast_weights:50, got {text!r}"
        ) from None


class ArgumentParser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors are one line, without the usage,
    and whose `--help` shows every default."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "formatter_class", argparse.ArgumentDefaultsHelpFormatter
        )
        super().__init__(**kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def add_verbose_argument(
    parser: argparse.ArgumentParser, default: str = "auto"
) -> None:
    """`--verbose`: Keras's progress during `fit`, read with `verbosity`."""
    parser.add_argument(
        "--verbose",
        choices=["auto", "0", "1", "2"],
        default=default,
        help="Keras's progress: 1 a bar updated every batch, 2 one line an "
        "epoch, 0 none; auto is 1 in a terminal and 2 when the output goes "
        "to a file or pipe",
    )


def verbosity(verbose: str) -> int:
    """`model.fit`'s `verbose` for a parsed `--verbose`: Keras's own
    "auto" draws a bar per batch even into a file, so "auto" here is 1 in
    a terminal and 2 elsewhere."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(verbose)


def add_epochs_argument(parser: argparse.ArgumentParser) -> None:
    """`--epochs` and `--schedule`: the training recipe's budget, a fixed
    number of epochs at a constant rate (`training.DEFAULT_EPOCHS`) or the
    convergence protocol (`training.schedule_callbacks`, at most
    `training.MAX_EPOCHS`); the best epoch on validation counts. Call
    `resolve_epochs` on the parsed arguments."""
    from keras_fastweights import training

    parser.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help=f"epochs to train (default {training.DEFAULT_EPOCHS}, or at "
        f"most {training.MAX_EPOCHS} with --schedule plateau); the best "
        "epoch on validation is kept",
    )
    parser.add_argument(
        "--schedule",
        choices=training.SCHEDULES,
        default="constant",
        help="constant: the learning rate held for every epoch; plateau: "
        "until convergence, the rate cut by "
        f"{training.PLATEAU['factor']} after "
        f"{training.PLATEAU['patience']} epochs without a better validation "
        f"accuracy, training stopped after {training.STOP_PATIENCE}",
    )


def resolve_epochs(args: argparse.Namespace) -> argparse.Namespace:
    """Fills in the default `--epochs` of the parsed `--schedule` (see
    `add_epochs_argument`); returns `args`."""
    from keras_fastweights import training

    if args.epochs is None:
        args.epochs = (
            training.MAX_EPOCHS
            if args.schedule == "plateau"
            else training.DEFAULT_EPOCHS
        )
    return args


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `associative_retrieval.load_data`: `--num-pairs`,
    `--num-train`, `--num-val`, `--num-test` and `--data-seed`, with the
    paper's sizes as defaults."""
    parser.add_argument(
        "--num-pairs",
        type=positive_int,
        default=4,
        help="key-value pairs per sequence (at most "
        f"{len(associative_retrieval.LETTERS)})",
    )
    parser.add_argument(
        "--num-train",
        type=positive_int,
        default=100_000,
        help="training sequences",
    )
    parser.add_argument(
        "--num-val",
        type=positive_int,
        default=10_000,
        help="validation sequences",
    )
    parser.add_argument(
        "--num-test",
        type=positive_int,
        default=20_000,
        help="test sequences",
    )
    parser.add_argument(
        "--data-seed",
        type=non_negative_int,
        default=0,
        help="seed of the data set, the same for every model of a table",
    )


def load_data(args: argparse.Namespace):
    """`associative_retrieval.load_data` with the parsed flags of
    `add_data_arguments`."""
    return associative_retrieval.load_data(
        num_pairs=args.num_pairs,
        num_train=args.num_train,
        num_val=args.num_val,
        num_test=args.num_test,
        seed=args.data_seed,
    )
