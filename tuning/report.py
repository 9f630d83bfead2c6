"""Writes the reproduction's results from a finished (or partial) search.

Reads the search directory that `tuning/grid_search.py` wrote (the trial
records and each trial's per-epoch history; no checkpoints) and writes:

- `table1.csv`, `table1_runs.csv` and `table1.md`: for each (model, R), the
  test error over the seeds of the learning rate chosen on validation,
  beside the paper's Table 1, and every run; `table1.md` adds the rows of
  the `--beside` searches (the delta rule's, beyond the paper);
- `figure2.png`: test log-likelihood and test error against updates at
  R = 50 for every model, the mean over the seeds with their range, like
  the paper's Figure 2; `learning_curves_r20.png` and so on, the same
  figure at each other R of the search;
- `plateau.md` and `plateau.png`: the runs whose best validation error
  stayed on the key-blind plateau (`fastweights_study.analysis`), with
  their curves;
- for a search with `--sensitivity`, `lr_sensitivity.csv`,
  `lr_sensitivity.md` and `lr_sensitivity.png`: test error against the
  learning rate in those cells, every seed at every rate, and the rate
  that choosing on the seeds' mean would have taken;
- with `--attention-model`, `attention.png`: what the fast memory of a
  saved fast-weights model attends to on the paper's example.

    python tuning/report.py --directory results/table1_search --output results \
        --beside results/delta_search/table1
"""

import math
import os
import sys

SCRIPT = "tuning/report.py"
FIGURE2_UNITS = 50


def learning_curves_filename(units):
    """Figure 2 at R = 50; the same figure at another R."""
    if units == FIGURE2_UNITS:
        return "figure2.png"
    return f"learning_curves_r{units}.png"


def parse_args(argv=None):
    from keras_fastweights import cli

    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--directory",
        default=os.path.join("results", "table1_search"),
        help="the --directory of the grid search",
    )
    parser.add_argument(
        "--beside",
        nargs="+",
        default=[],
        metavar="DIRECTORY",
        help="searches of further rows for table1.md, on the same data and "
        "budget (results/delta_search/table1: the delta rule); one not run "
        "yet is skipped with a message",
    )
    parser.add_argument("--output", default="results", help="where to write")
    parser.add_argument(
        "--example", default="c9k8j3f1??c", help="sequence for attention.png"
    )
    parser.add_argument(
        "--attention-model",
        help="a saved `.keras` fast-weights model for attention.png, such as "
        "examples/associative_retrieval.py's model.keras",
    )
    args = parser.parse_args(argv)
    if args.attention_model and not os.path.isfile(args.attention_model):
        parser.error(f"no such file: --attention-model {args.attention_model}")
    return args


def main(argv=None):
    args = parse_args(argv)
    from fastweights_study import plotting
    from fastweights_study import reporting
    from fastweights_study import tuning

    beside = []
    try:
        search = tuning.load_search(args.directory)
        for directory in args.beside:
            if not os.path.exists(directory):
                print(f"{directory}: not found (not run yet), skipped")
                continue
            beside.append(tuning.load_search(directory))
        reporting.table1.check_beside(search["settings"], beside)
    except ValueError as error:
        sys.exit(f"{sys.argv[0]}: error: {error}")
    grid, settings = search["grid"], search["settings"]
    runs, histories = search["runs"], search["histories"]
    os.makedirs(args.output, exist_ok=True)
    rows = reporting.table1.write_table1(runs, args.output, grid, beside)
    updates_per_epoch = math.ceil(
        settings["num_train"] / settings["batch_size"]
    )

    for units in grid["units"]:
        curves = {
            f"{reporting.common.SERIES_NAMES[reporting.common.series(row)]}, "
            f"lr {row['learning_rate']:g}": [
                histories[run["trial_id"]]
                for run in reporting.common.cell_runs(row, runs)
            ]
            for row in rows
            if row["units"] == units
        }
        if curves:
            plotting.plot_figure2(
                curves,
                os.path.join(args.output, learning_curves_filename(units)),
                updates_per_epoch=updates_per_epoch,
                title=f"Associative retrieval, K = {settings['num_pairs']}, "
                f"R = {units}",
            )

    blind_error = reporting.plateau.key_blind_error(settings["num_pairs"])
    plateau = [
        run
        for run in runs
        if reporting.plateau.on_plateau(run, settings["num_pairs"])
    ]
    rule = reporting.plateau.plateau_rule(settings["num_pairs"])
    with open(os.path.join(args.output, "plateau.md"), "w") as file:
        file.write(f"Runs whose {rule}: {len(plateau)} of {len(runs)}\n\n")
        file.write("| model | units | learning_rate | seed | val_error |\n")
        file.write("|---|---:|---:|---:|---:|\n")
        for run in plateau:
            file.write(
                f"| {run['model']} | {run['units']} | "
                f"{run['learning_rate']:g} | {run['seed']} | "
                f"{run['val_error_percent']:.2f} |\n"
            )
    if plateau:
        plotting.plot_validation_curves(
            {
                f"{r['model']} R={r['units']} lr={r['learning_rate']:g} "
                f"seed={r['seed']}": histories[r["trial_id"]]
                for r in plateau
            },
            os.path.join(args.output, "plateau.png"),
            updates_per_epoch=updates_per_epoch,
            reference=blind_error,
        )

    if grid.get("sensitivity"):
        command = (
            f"python {SCRIPT} --directory {args.directory} "
            f"--output {args.output}"
        )
        sensitivity = reporting.sensitivity.write_sensitivity(
            grid, runs, args.output, command
        )
        if sensitivity:
            plotting.plot_lr_sensitivity(
                sensitivity,
                os.path.join(args.output, "lr_sensitivity.png"),
                title="Test error against the learning rate, K = "
                f"{settings['num_pairs']}: every seed",
            )

    if args.attention_model:
        import keras

        from keras_fastweights import inspection
        from keras_fastweights.datasets import associative_retrieval

        model = keras.saving.load_model(args.attention_model)
        tokens = associative_retrieval.encode(args.example)[None]
        weights = inspection.fast_weights_attention(model, tokens)
        answer = int(keras.ops.argmax(model(tokens), axis=-1)[0])
        plotting.plot_attention(
            weights[0],
            list(args.example),
            os.path.join(args.output, "attention.png"),
            title=f"Fast-memory attention: {args.example} -> {answer}",
        )
    print(f"{len(runs)} runs; results written to {args.output}")
    print(
        reporting.common.table1_markdown(
            reporting.table1.as_series(rows), value="test_error_mean"
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
