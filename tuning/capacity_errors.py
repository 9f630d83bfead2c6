"""Where the capacity runs' wrong answers come from.

For each (model, K) of the capacity curve (`tuning/capacity_report.py`: the
learning rate chosen on validation, every seed run at it), loads each run's
best-on-validation weights from its trial's checkpoint, answers the test
split of its search and reads the errors with
`fastweights_study.analysis.retrieval_errors` (docs/report.md, §4.4):
by the position of the queried pair (the first is stored longest before the
query), and by whether a wrong answer is another pair's digit. Writes into
`--output`:

- `capacity_errors.csv`: one row per run: its test error from the
  checkpoint's answers beside the one the trial recorded (they differ where
  the checkpoint is not the weights the trial tested: Keras Tuner's own,
  the first epoch of highest validation accuracy, in trials run before the
  search saved the recipe's best epoch over it), the wrong answers, how
  many are another pair's digit and how many would be if they were spread
  over the nine wrong digits, and the sequences, wrong answers and error
  (%) by queried pair, first pair first;
- `capacity_errors.md`: the same, the seeds of each (model, K) pooled
  (`reporting.capacity.capacity_error_summary`), with two tests of whether the
  error depends on the queried pair (`analysis.queried_pair_effects`) and
  their Bonferroni bounds;
- `capacity_errors.png`: error (%) against the queried pair's position, a
  line per K (the seeds pooled), a panel per model.

Needs the trials' checkpoints (`checkpoint.weights.h5`: committed for the
runs since 2026-12-06, kept only by the machine that ran the earlier ones);
with `--keep`, a run whose checkpoint is not here keeps its row of the
existing `capacity_errors.csv`. About a
minute on a CPU for the 30 runs of K = 2 to 8:

    KERAS_BACKEND=jax python tuning/capacity_errors.py --output results
"""

import os
import sys

SCRIPT = "tuning/capacity_errors.py"
COLUMNS = (
    "model",
    "num_pairs",
    "units",
    "learning_rate",
    "seed",
    "trial_id",
    "sequences",
    "test_error_percent",
    "recorded_test_error_percent",
    "wrong",
    "wrong_stored",
    "stored_by_chance",
    "sequences_by_pair",
    "wrong_by_pair",
    "error_by_pair_percent",
)


def parse_args(argv=None):
    from fastweights_study import cli as study_cli

    from keras_fastweights import cli

    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    study_cli.add_capacity_arguments(parser)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="a run whose checkpoint is not on this machine keeps its row "
        "of the capacity_errors.csv already in --output (the same trial of "
        "the same search), instead of failing",
    )
    return parser.parse_args(argv)


def kept_rows(path):
    """The rows of an existing capacity_errors.csv, by (model, K, trial)."""
    from fastweights_study import reporting

    if not os.path.exists(path):
        return {}
    return {
        (row["model"], row["num_pairs"], f"{int(row['trial_id']):04d}"): {
            key: row[key] for key in COLUMNS
        }
        for row in reporting.common.read_csv(path)
    }


def read_run(search, run, data):
    """The `COLUMNS` of one run, from its checkpoint's test answers; its
    `model` is its series of the capacity curve
    (`reporting.common.series`: the delta rule apart)."""
    from fastweights_study import analysis
    from fastweights_study import reporting

    tuner, trial_id = search["tuner"], run["trial_id"]
    checkpoint = tuner.checkpoint_path(trial_id)
    if not os.path.exists(checkpoint):
        raise FileNotFoundError(
            f"No checkpoint for trial {trial_id} in {search['directory']} "
            f"({checkpoint}): the checkpoints of runs before 2026-12-06 are "
            "not committed; run this script where the search ran"
        )
    model = tuner.load_model(tuner.oracle.get_trial(trial_id))
    tokens, targets = data
    predictions = model.predict(tokens, batch_size=1000, verbose=0)
    errors = analysis.retrieval_errors(
        tokens, targets, predictions.argmax(axis=-1)
    )
    by_pair = errors["wrong_by_pair"] / errors["sequences_by_pair"]
    return {
        "model": reporting.common.series(run),
        **{
            key: run[key]
            for key in ("units", "learning_rate", "seed", "trial_id")
        },
        "num_pairs": search["settings"]["num_pairs"],
        "sequences": len(targets),
        "test_error_percent": round(100 * errors["wrong"] / len(targets), 4),
        "recorded_test_error_percent": run["test_error_percent"],
        "wrong": errors["wrong"],
        "wrong_stored": errors["wrong_stored"],
        "stored_by_chance": round(errors["stored_by_chance"], 2),
        "sequences_by_pair": " ".join(map(str, errors["sequences_by_pair"])),
        "wrong_by_pair": " ".join(map(str, errors["wrong_by_pair"])),
        "error_by_pair_percent": " ".join(f"{100 * e:.2f}" for e in by_pair),
    }


def pooled_by_pair(summary):
    """`{model label: {K: error (%) by queried pair}}` of
    `reporting.capacity.capacity_error_summary`, for the figure."""
    from fastweights_study import reporting

    pooled = {}
    for row in summary:
        label = reporting.common.SERIES_NAMES[row["model"]]
        pooled.setdefault(label, {})[row["num_pairs"]] = row[
            "error_by_pair_percent"
        ]
    return pooled


def main(argv=None):
    args = parse_args(argv)
    from fastweights_study import cli as study_cli
    from fastweights_study import plotting
    from fastweights_study import reporting
    from fastweights_study import tuning

    def fail(error):
        sys.exit(f"{os.path.basename(SCRIPT)}: error: {error}")

    searches = {}
    for directory in args.directories:
        if not os.path.exists(directory):
            print(f"{directory}: not found (not run yet), skipped")
            continue
        try:
            searches[str(directory)] = tuning.load_search(directory)
        except ValueError as error:
            fail(error)
    if not searches:
        fail(f"none of the searches exists: {' '.join(args.directories)}")
    try:
        cells = reporting.capacity.capacity_rows(
            list(searches.values()), args.models, args.units
        )
    except ValueError as error:
        fail(error)
    rows, tests = [], {}
    path = os.path.join(args.output, "capacity_errors.csv")
    kept = kept_rows(path) if args.keep else {}
    for cell in cells:
        search = searches[cell["directory"]]
        # One test split per search, shared by its models.
        if cell["directory"] not in tests:
            _, _, tests[cell["directory"]] = study_cli.load_data(
                search["settings"]
            )
        test = tests[cell["directory"]]
        for run in cell["runs"]:
            key = (cell["model"], cell["num_pairs"], run["trial_id"])
            try:
                rows.append(read_run(search, run, test))
            except FileNotFoundError as error:
                if key not in kept:
                    fail(error)
                rows.append({**kept[key], "trial_id": run["trial_id"]})
            row = rows[-1]
            print(
                f"{row['model']} K = {row['num_pairs']} seed {row['seed']}: "
                f"{row['test_error_percent']:g} % (recorded "
                f"{row['recorded_test_error_percent']:g} %); by queried pair "
                f"{row['error_by_pair_percent']}; wrong answers that are "
                f"another pair's digit {row['wrong_stored']} of "
                f"{row['wrong']} (by chance {row['stored_by_chance']:g})"
            )
    if not rows:
        fail("no (model, K) has finished yet")
    reporting.common.write_csv(rows, path, COLUMNS)
    summary = reporting.capacity.capacity_error_summary(rows)
    command = study_cli.capacity_command(SCRIPT, args)
    with open(os.path.join(args.output, "capacity_errors.md"), "w") as file:
        file.write(
            reporting.capacity.capacity_errors_markdown(summary, command)
        )
    plotting.plot_errors_by_queried_pair(
        pooled_by_pair(summary),
        os.path.join(args.output, "capacity_errors.png"),
        title=f"Test error by the queried pair, R = {args.units} "
        "(seeds pooled; (model, K) whose runs recorded errors)",
    )
    print(
        f"{len(rows)} runs; capacity_errors.csv, capacity_errors.md, "
        f"capacity_errors.png written to {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
