"""Writes Table 1 at convergence beside the 100-epoch table.

Reads the searches of `tuning/reproduce.sh convergence` (one per cell of
Table 1, `--directory` holding `<series>_<units>`; a cell not begun yet is
left out) and the LSTM at R = 100 at its constant rate for as many epochs
(`--contrast`), and writes into `--output`:

- `table1_convergence.csv`: one row per cell: the rate it started from,
  the seeds' test errors (mean, standard deviation, range), the runs at
  0.00 %, the best seed, how many stopped at the most epochs, the
  100-epoch table's mean and the paper's value;
- `table1_convergence_runs.csv`: every run, with the epoch it stopped at,
  why (`patience` or `max_epochs`) and the epochs after which its rate
  fell;
- `table1_convergence.md`: both as Markdown, with Welch's p of fast
  weights against each model and the constant-rate contrast.

    python tuning/convergence_report.py --output results
"""

import sys


def parse_args(argv=None):
    from keras_fastweights import cli

    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--directory",
        default="results/convergence_search",
        help="the folder of the cells' searches",
    )
    parser.add_argument(
        "--contrast",
        default="results/longer_budget/lstm_r100_search",
        help="the LSTM at R = 100 at a constant rate (skipped if absent)",
    )
    parser.add_argument(
        "--fixed-budget",
        nargs="+",
        default=[
            "results/table1.csv",
            "results/delta_search/table1/table1.csv",
        ],
        help="the 100-epoch tables whose means stand beside",
    )
    parser.add_argument("--output", default="results", help="where to write")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from fastweights_study.reporting import convergence

    cells = convergence.write_convergence(
        args.directory,
        args.output,
        fixed_budget_tables=args.fixed_budget,
        contrast_directory=args.contrast,
    )
    print(
        f"{len(cells)} cells written to {args.output}: "
        + ", ".join(convergence.CONVERGENCE_FILENAMES)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
