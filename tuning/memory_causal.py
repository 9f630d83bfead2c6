"""What a trained fast-weights model's answer needs from its memory.

For a finished trial of `tuning/grid_search.py` (a fast-weights model of the
associative retrieval task), removes each stored state in turn from the
memory that the query step reads, and averages the change in the
probability of the right answer over test sequences by the stored state's
role: the queried key, its digit, the other keys and digits, the `?`
(`fastweights_study.analysis.memory_causal_summary`; docs/method.md,
section 11). Writes

- `memory_causal.csv`: one row per role (and per removal of several
  states): the number of sequences, the mean attention weight of a removed
  state at the query step, the mean probability after the removal, the
  mean change and its standard error;
- `memory_causal.png`: the mean changes with two standard errors.

About 30 seconds on a CPU for 2,000 sequences:

    KERAS_BACKEND=torch python tuning/memory_causal.py
"""

import csv
import os

FIELDS = (
    "removed",
    "sequences",
    "attention",
    "probability",
    "change",
    "standard_error",
)


def parse_args(argv=None):
    from keras_fastweights import cli

    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--trial",
        default=os.path.join(
            "results", "table1_search", "associative_retrieval", "trial_0000"
        ),
        help="a finished trial's directory: trial.json (its model, units, "
        "learning rate and seed) and checkpoint.weights.h5; the search's "
        "settings.json, one level up, gives the data",
    )
    parser.add_argument(
        "--model",
        help="the trial's model saved as .keras, e.g. the model.keras that "
        "examples/associative_retrieval.py writes when it reruns the trial "
        "(with its --learning-rate and --seed): the trial's checkpoint is "
        "only on the machine that ran the search",
    )
    parser.add_argument(
        "--sequences",
        type=cli.positive_int,
        default=2000,
        help="how many test sequences (the first of the test split)",
    )
    parser.add_argument("--output", default="results", help="where to write")
    return parser.parse_args(argv)


def load_trial(directory, saved_model=None):
    """The trial's model with its tested weights (from `saved_model` if
    given, else the trial's checkpoint, through Keras Tuner's `load_model`),
    the search's data settings and the trial's hyper-parameters."""
    import keras
    from fastweights_study import tuning

    directory = os.path.normpath(directory)
    search_directory = os.path.dirname(os.path.dirname(directory))
    try:
        search = tuning.load_search(search_directory)
    except ValueError as error:
        raise SystemExit(f"{directory} is not a trial of a search: {error}")
    tuner = search["tuner"]
    trial_id = os.path.basename(directory).removeprefix("trial_")
    trial = tuner.oracle.trials.get(trial_id)
    if trial is None:
        raise SystemExit(f"No trial {trial_id} in {search_directory}.")
    if trial.status != "COMPLETED":
        raise SystemExit(
            f"Trial {directory} has status {trial.status}, not COMPLETED."
        )
    values = trial.hyperparameters.values
    if values["model"] != "fast_weights":
        raise SystemExit(
            f"Trial {directory} is a {values['model']} model, not fast_weights."
        )
    if saved_model is not None:
        return keras.saving.load_model(saved_model), search["settings"], values
    if not os.path.exists(tuner.checkpoint_path(trial_id)):
        raise SystemExit(
            f"No checkpoint in {directory} (those of runs before 2026-12-06 "
            "are not committed): "
            "rerun the trial with examples/associative_retrieval.py and pass "
            "its model.keras with --model."
        )
    return tuner.load_model(trial), search["settings"], values


def main(argv=None):
    args = parse_args(argv)
    from fastweights_study import analysis
    from fastweights_study import cli as study_cli
    from fastweights_study import plotting

    model, settings, values = load_trial(args.trial, args.model)
    _, _, (tokens, targets) = study_cli.load_data(settings)
    tokens, targets = tokens[: args.sequences], targets[: args.sequences]
    rows = analysis.memory_causal_summary(model, tokens, targets)

    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "memory_causal.csv"), "w") as file:
        writer = csv.DictWriter(file, FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    key: f"{value:.4f}" if isinstance(value, float) else value
                    for key, value in row.items()
                }
            )
    title = (
        f"Removing stored states at the query step: fast weights, "
        f"R = {values['units']}, learning rate {values['learning_rate']}, "
        f"seed {values['seed']}\n{len(targets)} test sequences; p(right "
        f"answer) with the whole memory {rows[0]['probability']:.4f}"
    )
    plotting.plot_memory_causal(
        rows, os.path.join(args.output, "memory_causal.png"), title=title
    )
    for row in rows:
        print(
            f"{row['removed']:>36}  {row['change']:+.4f} "
            f"± {row['standard_error']:.4f}  (p = {row['probability']:.4f}, "
            f"attention {row['attention']:.3f})"
        )


if __name__ == "__main__":
    main()
