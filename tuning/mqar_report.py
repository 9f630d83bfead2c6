"""Writes the MQAR sweep's results from its cells' searches.

Reads `--directory`'s cells (`T<length>_K<pairs>`, each a search of
`tuning/mqar_search.py`; a cell not begun is skipped) and writes into
`--output`: `mqar.csv` (per cell, mixer and width, the run at the learning
rate best on validation), `mqar_runs.csv` (every run), `mqar.md` and
`mqar.png` (test accuracy against the state size, Zoology's Figure 2) and
`mqar_curves.png` (those runs' validation accuracy by epoch).

    python tuning/mqar_report.py --output results
"""

import os
import sys


def parse_args(argv=None):
    from keras_fastweights import cli

    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--directory",
        default=os.path.join("results", "mqar_search"),
        help="the sweep's folder",
    )
    parser.add_argument("--output", default="results", help="where to write")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from fastweights_study.reporting import mqar

    best = mqar.write_mqar(args.directory, args.output)
    print(f"{len(best)} rows written to {args.output}: mqar.*")
    return 0


if __name__ == "__main__":
    sys.exit(main())
