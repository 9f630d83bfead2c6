"""Runs one cell of the MQAR sweep: a grid search of mixers, widths and
learning rates at one (sequence length, pairs), resumable.

Each run trains `keras_fastweights.models.build_mqar_model` on MQAR
(`keras_fastweights.datasets.mqar`) until its validation accuracy reaches
0.99 or `--epochs`, keeps its best epoch on validation and records its
test accuracy (`fastweights_study.mqar`). A rerun of the same command
resumes: finished runs are kept, the one that was running goes on from
its backup. Write the tables with `tuning/mqar_report.py`.

    python tuning/mqar_search.py --sequence-length 64 --num-pairs 4

The vocabulary defaults to the one that makes each value the answer as
often over the whole training as Zoology's (64, 4) configuration does
(`keras_fastweights.datasets.mqar.scaled_vocab_size`), the other tokens are
random (Zoology's generator's default; `--zero-fillers` for its Figure 2's
zeros).
"""

import os
import sys


def parse_args(argv=None):
    from fastweights_study import cli as study_cli
    from fastweights_study import mqar

    from keras_fastweights import cli
    from keras_fastweights import datasets
    from keras_fastweights import models

    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequence-length", type=cli.positive_int, default=64)
    parser.add_argument("--num-pairs", type=cli.positive_int, default=4)
    parser.add_argument(
        "--mixers",
        nargs="+",
        choices=models.MQAR_MIXERS,
        default=list(models.MQAR_MIXERS),
        help="the sequence mixers",
    )
    parser.add_argument(
        "--d-models",
        nargs="+",
        type=cli.positive_int,
        default=list(mqar.D_MODELS),
        help="model widths d",
    )
    parser.add_argument(
        "--learning-rates",
        nargs="+",
        type=cli.positive_float,
        default=list(mqar.LEARNING_RATES),
        help="AdamW's learning rates (Zoology's logspace(-4, -2, 4))",
    )
    parser.add_argument(
        "--num-train", type=cli.positive_int, default=mqar.NUM_TRAIN
    )
    parser.add_argument("--num-val", type=cli.positive_int, default=1_000)
    parser.add_argument("--num-test", type=cli.positive_int, default=2_000)
    parser.add_argument(
        "--vocab-size",
        type=cli.positive_int,
        default=None,
        help="token ids (default: scaled with --num-train, --epochs and "
        "--num-pairs)",
    )
    parser.add_argument(
        "--zero-fillers",
        action="store_true",
        help="0 at the positions that neither bind nor ask (Zoology's "
        "Figure 2) instead of random tokens",
    )
    parser.add_argument("--epochs", type=cli.positive_int, default=mqar.EPOCHS)
    parser.add_argument("--batch-size", type=cli.positive_int, default=64)
    parser.add_argument("--data-seed", type=cli.non_negative_int, default=0)
    parser.add_argument(
        "--directory",
        default=os.path.join("results", "mqar_search"),
        help="the sweep's folder; the cell's search goes in T<length>_K<pairs>",
    )
    study_cli.add_resume_elsewhere_argument(parser)
    cli.add_verbose_argument(parser, default="2")
    args = parser.parse_args(argv)
    if args.vocab_size is None:
        args.vocab_size = datasets.mqar.scaled_vocab_size(
            args.num_train, args.epochs, args.num_pairs, args.sequence_length
        )
    try:
        args.grid = mqar.check_mqar_grid(
            args.mixers, args.d_models, args.learning_rates
        )
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv=None):
    args = parse_args(argv)
    from fastweights_study import mqar

    from keras_fastweights import cli

    settings = {
        "sequence_length": args.sequence_length,
        "num_pairs": args.num_pairs,
        "vocab_size": args.vocab_size,
        "random_non_queries": not args.zero_fillers,
        "num_train": args.num_train,
        "num_val": args.num_val,
        "num_test": args.num_test,
        "data_seed": args.data_seed,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
    }
    directory = mqar.cell_directory(
        args.directory, args.sequence_length, args.num_pairs
    )
    try:
        train, val, test = mqar.load_data(settings)
        search = mqar.make_search(
            directory,
            args.grid,
            settings,
            resume_elsewhere=args.resume_elsewhere,
        )
    except ValueError as error:
        print(f"mqar_search.py: error: {error}", file=sys.stderr)
        return 2
    search.search(
        *train,
        validation_data=val,
        test_data=test,
        verbose=cli.verbosity(args.verbose),
    )
    done, planned = search.progress()
    print(f"{done} of {planned} runs of {directory} finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
