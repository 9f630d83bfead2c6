"""Writes the reproduction's results from finished grid searches.

Reads the search directories that `tuning/grid_search.py` wrote and writes:

- `table1.csv` and `table1.md`: the test error of the learning rate best on
  validation for each (model, R), beside the paper's Table 1;
- `figure2.png`: validation log-likelihood and error against updates for
  the chosen trial of each model at R = 50, like the paper's Figure 2;
- `attention.png`: what the fast memory of the chosen fast-weights R = 50
  model (or of the saved model `--attention-model`) attends to on the
  paper's example `c9k8j3f1??c`;
- with `--harder DIR ...`, `harder.csv` and `harder.md`: the same table for
  searches with more key-value pairs.

    python tuning/report.py --directory results/grid_search --output results
"""

import argparse
import math
import os
import shutil
import sys


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--directory",
        default=os.path.join("results", "grid_search"),
        help="the --directory of the K = 4 grid search",
    )
    parser.add_argument(
        "--harder",
        nargs="*",
        default=[],
        help="--directory of searches with more pairs (--num-pairs 8, 12)",
    )
    parser.add_argument("--output", default="results", help="where to write")
    parser.add_argument(
        "--example", default="c9k8j3f1??c", help="sequence for attention.png"
    )
    parser.add_argument(
        "--attention-model",
        help="a saved `.keras` fast-weights model for attention.png, such as "
        "examples/associative_retrieval.py's model.keras (default: the "
        "checkpoint of the chosen R = 50 trial, which only the machine that "
        "ran the search has)",
    )
    args = parser.parse_args(argv)
    if args.attention_model and not os.path.isfile(args.attention_model):
        parser.error(f"no such file: --attention-model {args.attention_model}")
    for directory in [args.directory, *args.harder]:
        if not os.path.exists(os.path.join(directory, "table1.csv")):
            parser.error(
                f"no finished search in {directory!r} (no table1.csv): run "
                "tuning/grid_search.py with --directory there first"
            )
    return args


def write_details(file, rows, **columns):
    """The chosen learning rates, those tried and the epochs, as tables
    laid out like the results table above them."""
    from keras_fastweights import reporting

    rows = [
        {**row, "epochs_text": f"{row['epochs']} ({row['best_epoch']})"}
        for row in rows
    ]
    for title, value, number_format in [
        ("Learning rate chosen on validation", "learning_rate", "{:g}"),
        ("Learning rates tried", "learning_rates_tried", "{}"),
        ("Epochs trained (best epoch)", "epochs_text", "{}"),
    ]:
        file.write(f"\n{title}\n\n")
        file.write(
            reporting.table1_markdown(
                rows, value=value, number_format=number_format, **columns
            )
        )


def main(argv=None):
    args = parse_args(argv)
    import keras

    from keras_fastweights import inspection
    from keras_fastweights import reporting
    from keras_fastweights import tuning
    from keras_fastweights.datasets import associative_retrieval

    os.makedirs(args.output, exist_ok=True)
    rows = reporting.read_csv(os.path.join(args.directory, "table1.csv"))
    shutil.copy(
        os.path.join(args.directory, "table1.csv"),
        os.path.join(args.output, "table1.csv"),
    )
    with open(os.path.join(args.output, "table1.md"), "w") as file:
        file.write(
            "Test error (%) on associative retrieval, K = 4 pairs: ours "
            "(the paper's Table 1)\n\n"
        )
        file.write(
            reporting.table1_markdown(rows, paper=reporting.PAPER_TABLE1)
        )
        write_details(file, rows)

    saved = tuning.load_settings(args.directory)
    settings = saved["settings"]
    tuner = tuning.make_tuner(saved["grid"], args.directory)
    chosen = {row["model"]: row for row in rows if int(row["units"]) == 50}
    # read_csv gives trial ids as numbers: key the trials by their number.
    trials = {
        int(trial.trial_id): trial for trial in tuning.completed_trials(tuner)
    }
    histories = {
        reporting.MODEL_NAMES[kind]
        + f" (lr {row['learning_rate']:g})": tuning.trial_history(
            tuner, trials[row["trial_id"]]
        )
        for kind, row in chosen.items()
    }
    if histories:
        reporting.plot_learning_curves(
            histories,
            os.path.join(args.output, "figure2.png"),
            updates_per_epoch=math.ceil(
                settings["num_train"] / settings["batch_size"]
            ),
            title="Associative retrieval, K = 4, R = 50",
        )

    model = None
    if args.attention_model:
        model = keras.saving.load_model(args.attention_model)
    elif "fast_weights" in chosen:
        trial = trials[chosen["fast_weights"]["trial_id"]]
        try:
            model = tuning.load_trial_model(tuner, trial)
        except FileNotFoundError:
            sys.exit(
                f"{sys.argv[0]}: error: the checkpoint of trial "
                f"{trial.trial_id} (fast weights, R = 50) is not in "
                f"{args.directory!r} (checkpoints are not committed): pass "
                "--attention-model with a saved model"
            )
    if model is not None:
        tokens = associative_retrieval.encode(args.example)[None]
        weights = inspection.fast_weights_attention(model, tokens)
        answer = int(keras.ops.argmax(model(tokens), axis=-1)[0])
        inspection.plot_attention(
            weights[0],
            list(args.example),
            os.path.join(args.output, "attention.png"),
            title=f"Fast-memory attention: {args.example} -> {answer}",
        )

    if args.harder:
        harder = []
        for directory in args.harder:
            pairs = tuning.load_settings(directory)["settings"]["num_pairs"]
            for row in reporting.read_csv(
                os.path.join(directory, "table1.csv")
            ):
                harder.append({**row, "num_pairs": pairs})
        reporting.write_csv(
            harder,
            os.path.join(args.output, "harder.csv"),
            ["num_pairs", *tuning.TABLE_COLUMNS],
        )
        # Searches of one K with other learning rates: as in Table 1, the
        # learning rate best on validation.
        rows = reporting.choose_on_validation(harder, column="num_pairs")
        with open(os.path.join(args.output, "harder.md"), "w") as file:
            file.write("Test error (%) with K key-value pairs\n\n")
            file.write(
                reporting.table1_markdown(
                    rows, column="num_pairs", column_label="K"
                )
            )
            write_details(file, rows, column="num_pairs", column_label="K")
    return 0


if __name__ == "__main__":
    sys.exit(main())
