"""Writes the ablation study's results from its (finished or partial) search.

Reads the search that `tuning/grid_search.py --variants ...` wrote (the
trial records and each trial's per-epoch history; no checkpoints) and
writes into `--output`:

- `ablation.csv`: one row per variant of the fast-weights layer
  (`fastweights_study.variants.FAST_WEIGHTS_VARIANTS`), in the grid's order:
  the test error's mean, standard deviation, minimum and maximum over the
  seeds, the runs at 0.00 %, the mean best epoch, the runs that stayed on
  the key-blind plateau and the epoch each seed left it, the runs whose
  loss became NaN, the seeds at which the variant did worse than the
  paper's layer at the same seed, and the variant in words;
- `ablation_runs.csv`: one row per run;
- `ablation.md`: the same as a Markdown table, with this command;
- `ablation.png`: each seed's test error per variant with their mean, the
  paper's configuration shaded, beside the validation error against
  updates.

A partial search reports the variants that have finished runs and names
the others.

    python tuning/ablation_report.py --directory results/ablation_search \\
        --output results
"""

import math
import os
import shlex
import sys

SCRIPT = "tuning/ablation_report.py"


def parse_args(argv=None):
    from keras_fastweights import cli

    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--directory",
        default=os.path.join("results", "ablation_search"),
        help="the --directory of the grid search (with --variants)",
    )
    parser.add_argument("--output", default="results", help="where to write")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from fastweights_study import plotting
    from fastweights_study import reporting
    from fastweights_study import tuning

    from keras_fastweights import models

    try:
        search = tuning.load_search(args.directory)
        grid, settings = search["grid"], search["settings"]
        if "variant" not in grid:
            raise ValueError(
                f"{args.directory} holds a search without variants; the "
                "ablation study is a search with --variants"
            )
    except ValueError as error:
        sys.exit(f"{os.path.basename(SCRIPT)}: error: {error}")
    runs, histories = search["runs"], search["histories"]
    rows = reporting.ablation.ablation_rows(
        grid, runs, settings["num_pairs"], histories
    )
    command = shlex.join(
        ["python", SCRIPT, "--directory", args.directory]
        + ["--output", args.output]
    )
    reporting.ablation.write_ablation(
        rows, runs, args.output, grid, settings, command
    )
    written = list(reporting.ablation.ABLATION_FILENAMES)
    if rows:
        counted = {
            row["variant"]: reporting.common.cell_runs(row, runs)
            for row in rows
        }
        plotting.plot_ablation(
            {
                variant: [run["test_error_percent"] for run in cell]
                for variant, cell in counted.items()
            },
            os.path.join(args.output, "ablation.png"),
            highlight="paper",
            curves={
                variant: [histories[run["trial_id"]] for run in cell]
                for variant, cell in counted.items()
            },
            updates_per_epoch=math.ceil(
                settings["num_train"] / settings["batch_size"]
            ),
            reference=reporting.plateau.key_blind_error(settings["num_pairs"]),
            title=f"{models.PAPER_NAMES['fast_weights']} and its variants, "
            f"K = {settings['num_pairs']}, "
            f"R = {', '.join(str(u) for u in grid['units'])}",
        )
        written.append("ablation.png")
    else:
        print(f"No run has finished in {args.directory}: no ablation.png")
    print(
        f"{tuning.runs_finished(grid, runs)}; "
        f"{', '.join(written)} written to {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
