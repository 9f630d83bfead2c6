"""Writes the capacity curve: test error against the number K of pairs.

Reads grid searches that differ in K (`tuning/grid_search.py --num-pairs
K`; their trial records, no checkpoints) and writes into `--output`:

- `capacity.csv`: one row per (model, K) at R = `--units`: the learning
  rate chosen on validation, the test error of each seed run at it and
  their mean and standard deviation, and the key-blind error for that K
  (`fastweights_study.analysis.key_blind_bayes`), how many of the runs
  stayed on the key-blind plateau and the epoch each left it (from each
  trial's per-epoch history);
- `capacity.md`: the same as Markdown, with the runs at any learning rate
  that stayed on the key-blind plateau, what each search holds and this
  command;
- `capacity.png`: test error against K for each model, the key-blind error
  as a reference line.

A directory that does not exist yet (a search not started) is skipped with
a message; a search in progress reports the (model, K) cells it has
finished. K = 4 comes from the Table 1 search, with all its seeds.

    python tuning/capacity_report.py --output results
"""

import os
import sys

SCRIPT = "tuning/capacity_report.py"


def parse_args(argv=None):
    from fastweights_study import cli as study_cli

    from keras_fastweights import cli

    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    study_cli.add_capacity_arguments(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from fastweights_study import cli as study_cli
    from fastweights_study import plotting
    from fastweights_study import reporting
    from fastweights_study import tuning

    def fail(error):
        sys.exit(f"{os.path.basename(SCRIPT)}: error: {error}")

    searches, notes = [], []
    for directory in args.directories:
        if not os.path.exists(directory):
            notes.append(f"{directory}: not found (not run yet), skipped")
            print(notes[-1])
            continue
        try:
            search = tuning.load_search(directory)
        except ValueError as error:
            fail(error)
        searches.append(search)
        notes.append(
            f"{directory}: K = {search['settings']['num_pairs']}, "
            f"{tuning.runs_finished(search['grid'], search['runs'])}"
        )
    if not searches:
        fail(f"none of the searches exists: {' '.join(args.directories)}")
    try:
        rows = reporting.capacity.capacity_rows(
            searches, args.models, args.units
        )
    except ValueError as error:
        fail(error)
    plateau = reporting.capacity.capacity_plateau_runs(
        searches, args.models, args.units
    )
    command = study_cli.capacity_command(SCRIPT, args)
    reporting.capacity.write_capacity(
        rows, args.output, notes, command, plateau
    )
    written = list(reporting.capacity.CAPACITY_FILENAMES)
    if rows:
        errors = {}
        for row in rows:
            label = reporting.common.SERIES_NAMES[row["model"]]
            errors.setdefault(label, {})[row["num_pairs"]] = [
                float(error) for error in row["test_errors"].split()
            ]
        pairs = [search["settings"]["num_pairs"] for search in searches]
        plotting.plot_capacity(
            errors,
            os.path.join(args.output, "capacity.png"),
            reference={
                k: reporting.plateau.key_blind_error(k)
                for k in range(min(pairs), max(pairs) + 1)
            },
            title=f"Associative retrieval, R = {args.units}",
        )
        written.append("capacity.png")
    else:
        print("No (model, K) has finished yet: no capacity.png")
    print(
        f"{len(rows)} (model, K) cells; {', '.join(written)} written to "
        f"{args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
