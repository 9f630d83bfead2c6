"""The causal reading of every fast-weights run a search counts, from its
records: for each fast-weights cell of the search, the runs of its chosen
learning rate (the seeds of `tuning.table_rows`), each read by
`tuning/memory_causal.py` into `OUTPUT/PREFIXtrial_ID`.

    KERAS_BACKEND=torch python tuning/causal_readings.py \\
        --directory results/capacity_search/k6 --prefix k6_

A reading already written is kept (`--overwrite` reads it again); a run
without its checkpoint (those of runs before 2026-12-06 are not committed)
is reported and skipped, so the script reads what this machine ran.
"""

import os
import sys

SCRIPT = "tuning/causal_readings.py"


def parse_args(argv=None):
    from keras_fastweights import cli

    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--directory", required=True, help="the search")
    parser.add_argument(
        "--prefix",
        default="",
        help="prefix of each reading's directory, before trial_ID",
    )
    parser.add_argument(
        "--output",
        default=os.path.join("results", "memory_causal_seeds"),
        help="where the readings' directories go",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="read again what exists"
    )
    return parser.parse_args(argv)


def counted_runs(search):
    """The fast-weights runs that the search's table counts, by trial id."""
    from fastweights_study import reporting
    from fastweights_study import tuning

    rows = tuning.table_rows(search["grid"], search["runs"])
    return [
        run
        for row in rows
        if row["model"] == "fast_weights"
        for run in reporting.common.cell_runs(row, search["runs"])
    ]


def main(argv=None):
    args = parse_args(argv)
    # tuning/memory_causal.py, beside this script (the scripts are not a
    # package).
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import memory_causal
    from fastweights_study import tuning

    try:
        search = tuning.load_search(args.directory)
    except ValueError as error:
        sys.exit(f"{os.path.basename(SCRIPT)}: error: {error}")
    tuner = search["tuner"]
    for run in counted_runs(search):
        trial = tuner.get_trial_dir(run["trial_id"])
        output = os.path.join(
            args.output, f"{args.prefix}trial_{run['trial_id']}"
        )
        if os.path.exists(output) and not args.overwrite:
            print(f"{output}: read before, kept")
            continue
        if not os.path.exists(tuner.checkpoint_path(run["trial_id"])):
            print(f"{trial}: no checkpoint on this machine, skipped")
            continue
        print(f"{trial} -> {output}")
        memory_causal.main(["--trial", trial, "--output", output])
    return 0


if __name__ == "__main__":
    sys.exit(main())
