"""Writes the gradient-clipping comparison from its (finished or partial)
searches.

Reads the searches (their trial records and per-epoch histories; no
checkpoints): by default Table 1's and the ablation's, unclipped, and the
two clipped ones that `tuning/reproduce.sh` runs (`--clipnorm 5`), and
writes into `--output`:

- `clipping.csv`: one row per (variant, R, clipnorm) cell of fast weights:
  the learning rate chosen on validation and the rates tried, the test
  error over the seeds, the runs on the key-blind plateau and the epoch
  each seed left it, and the runs whose loss became NaN, among those
  counted and among every run of the cell;
- `clipping.md`: the same as a Markdown table, a cell's clipped and
  unclipped rows side by side, with Welch's p where both have finished,
  and this command.

A search not run yet is skipped with a message.

    python tuning/clipping_report.py --output results
"""

import os
import shlex
import sys

SCRIPT = "tuning/clipping_report.py"
DIRECTORIES = (
    os.path.join("results", "table1_search"),
    os.path.join("results", "clipping_search", "table1"),
    os.path.join("results", "ablation_search"),
    os.path.join("results", "clipping_search", "no_layer_norm"),
)


def parse_args(argv=None):
    from keras_fastweights import cli

    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--directories",
        nargs="+",
        default=list(DIRECTORIES),
        metavar="DIRECTORY",
        help="the searches' --directory, with and without --clipnorm "
        "(default: %(default)s)",
    )
    parser.add_argument("--output", default="results", help="where to write")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from fastweights_study import reporting
    from fastweights_study import tuning

    searches = []
    for directory in args.directories:
        if not os.path.isdir(directory):
            print(f"{directory}: not run yet, skipped")
            continue
        try:
            searches.append(tuning.load_search(directory))
        except ValueError as error:
            sys.exit(f"{os.path.basename(SCRIPT)}: error: {error}")
    if not searches:
        sys.exit(
            f"{os.path.basename(SCRIPT)}: error: none of the searches "
            f"{args.directories} exists"
        )
    command = shlex.join(
        ["python", SCRIPT, "--directories", *args.directories]
        + ["--output", args.output]
    )
    try:
        rows = reporting.clipping.write_clipping(searches, args.output, command)
    except ValueError as error:
        sys.exit(f"{os.path.basename(SCRIPT)}: error: {error}")
    print(
        f"{len(rows)} cells; "
        f"{', '.join(reporting.clipping.CLIPPING_FILENAMES)} written to "
        f"{args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
