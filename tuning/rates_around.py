"""Prints the learning rate a cell of a finished search chose, with the
rate on each side of it on the widening ladder: the grid of a study run
around that choice (the ablation around Table 1's fast weights at R = 20).

    python tuning/rates_around.py --directory results/table1_search \\
        --cell fast_weights:20 --include 0.001

With --chosen, only the chosen rate (the starting rate of the convergence
protocol's runs of that cell):

    python tuning/rates_around.py --directory results/table1_search \
        --cell lstm:100 --chosen

Exits with 1 and a one-line message while the cell has not chosen yet.
"""

import sys


def parse_args(argv=None):
    from keras_fastweights import cli

    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--directory", required=True, help="the search")
    parser.add_argument(
        "--cell",
        type=cli.model_units,
        required=True,
        metavar="MODEL:UNITS",
        help="the cell, e.g. fast_weights:20",
    )
    parser.add_argument(
        "--include",
        nargs="+",
        type=cli.positive_float,
        default=[],
        help="rates to print as well (those a search already ran, whose "
        "grid may only grow)",
    )
    parser.add_argument(
        "--chosen",
        action="store_true",
        help="print the chosen rate only",
    )
    args = parser.parse_args(argv)
    if args.chosen and args.include:
        parser.error("--chosen prints one rate: drop --include")
    return args


def main(argv=None):
    args = parse_args(argv)

    from fastweights_study import tuning

    try:
        search = tuning.load_search(args.directory)
        model, units = args.cell
        cell = {"model": model, "units": units}
        rates = tuning.rates_around(search["grid"], search["runs"], cell)
        if args.chosen:
            rates = [
                tuning.choose_learning_rate(
                    search["grid"],
                    tuning.trials_from_runs(search["runs"]),
                    cell,
                )
            ]
    except ValueError as error:
        print(f"rates_around.py: {error}", file=sys.stderr)
        return 1
    print(" ".join(f"{rate:g}" for rate in sorted({*rates, *args.include})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
