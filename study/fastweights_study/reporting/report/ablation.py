"""The values of the report's ablation and gradient clipping (§4.5,
§4.7): their tables, Welch's tests and the plateau's exits."""

from fastweights_study.reporting.common import cell_runs
from fastweights_study.reporting.common import mean_and_std
from fastweights_study.reporting.common import read_csv
from fastweights_study.reporting.report.formatting import cell_numbers
from fastweights_study.reporting.report.formatting import compact
from fastweights_study.reporting.report.formatting import exit_epochs
from fastweights_study.reporting.report.formatting import markdown_table
from fastweights_study.reporting.report.formatting import results_path
from fastweights_study.reporting.report.formatting import welch_p
from fastweights_study.reporting.report.formatting import welch_text
from fastweights_study.reporting.report.formatting import words


def _label(description: str) -> str:
    """A variant of the ablation in a few words: the first clause of its
    description (ablation.csv's `description`)."""
    return description.split(";")[0].split(":")[0]


def ablation_values(root, values) -> dict:
    rows = read_csv(results_path(root, "ablation.csv"))
    runs = read_csv(results_path(root, "ablation_runs.csv"))
    (paper,) = [row for row in rows if row["variant"] == "paper"]
    errors = {
        row["variant"]: [r["test_error_percent"] for r in cell_runs(row, runs)]
        for row in rows
    }
    p = {
        row["variant"]: welch_p(errors[row["variant"]], errors["paper"])
        for row in rows
        if row is not paper
    }
    table = markdown_table(
        [
            "variant",
            "learning rate",
            f"test error (%), seeds {values['seeds']}",
            "mean ± sd",
            "left the plateau at epoch",
            "Welch p",
        ],
        "lrlrlr",
        (
            [
                _label(row["description"]),
                compact(row["learning_rate"]),
                ", ".join(map(compact, errors[row["variant"]])),
                mean_and_std(row["test_error_mean"], row["test_error_std"]),
                exit_epochs(row["plateau_exit_epochs"]),
                f"{p[row['variant']]:.2g}" if row is not paper else "–",
            ]
            for row in rows
        ),
    )
    # Every run: the epoch it left the plateau (after the last: never) and
    # its error.
    never = values["epochs"] + 1
    outcomes = sorted(
        (never if epoch == "–" else int(epoch), error)
        for row in rows
        for epoch, error in zip(
            str(row["plateau_exit_epochs"]).split(), errors[row["variant"]]
        )
    )
    # The split of the runs by exit epoch that separates the errors, with
    # the widest gap of epochs between the two groups.
    splits = [
        (outcomes[i][0], outcomes[i + 1][0], i + 1)
        for i in range(len(outcomes) - 1)
        if outcomes[i][0] < outcomes[i + 1][0]
        and max(e for _, e in outcomes[: i + 1])
        < min(e for _, e in outcomes[i + 1 :])
    ]
    early, late, at = max(splits, key=lambda s: s[1] - s[0])
    seed_count = values["seed_count"]
    worse = [
        _label(row["description"])
        for row in rows
        if row is not paper and row["seeds_worse_than_paper"] == seed_count
    ]
    (no_layer_norm,) = [r for r in rows if r["variant"] == "no_layer_norm"]
    return {
        "ablation.table": table,
        "ablation.units": paper["units"],
        "ablation.rates": words(
            map(compact, sorted({run["learning_rate"] for run in runs}))
        ),
        "ablation.early_exit": early,
        "ablation.early_max": compact(max(e for _, e in outcomes[:at])),
        "ablation.late_exit": late,
        "ablation.late_min": compact(min(e for _, e in outcomes[at:])),
        "ablation.always_worse": words(worse),
        "ablation.chance": f"1/{2**seed_count}",
        "ablation.significant": words(
            _label(row["description"])
            for row in rows
            if row is not paper and p[row["variant"]] < 0.05
        )
        or "none",
        "ablation.no_ln_diverged": no_layer_norm["runs_diverged"],
    }


def clipping_values(root) -> dict:
    rows = read_csv(results_path(root, "clipping.csv"))
    described = {
        row["variant"]: row["description"]
        for row in read_csv(results_path(root, "ablation.csv"))
    }
    errors = {
        (r["variant"], r["units"], r["clipnorm"]): cell_numbers(
            r["test_errors"]
        )
        for r in rows
    }

    def p(row):
        unclipped = (row["variant"], row["units"], 0.0)
        if not row["clipnorm"] or unclipped not in errors:
            return "–"
        return welch_text(
            errors[row["variant"], row["units"], row["clipnorm"]],
            errors[unclipped],
        )

    table = markdown_table(
        [
            "variant",
            "R",
            "clipnorm",
            "learning rate",
            "test error (%), by seed",
            "mean ± sd",
            "left the plateau at epoch",
            "diverged, every run of the cell",
            "Welch p",
        ],
        "lrrrlrlrr",
        (
            [
                _label(described[row["variant"]]),
                row["units"],
                compact(row["clipnorm"]) if row["clipnorm"] else "none",
                compact(row["learning_rate"]),
                ", ".join(map(compact, cell_numbers(row["test_errors"]))),
                mean_and_std(row["test_error_mean"], row["test_error_std"]),
                exit_epochs(row["plateau_exit_epochs"]),
                f"{row['cell_runs_diverged']} of {row['cell_runs']}",
                p(row),
            ]
            for row in sorted(
                rows,
                key=lambda r: (
                    r["variant"] != "paper",
                    r["units"],
                    r["clipnorm"],
                ),
            )
        ),
    )
    paper20 = {
        r["clipnorm"]: r
        for r in rows
        if (r["variant"], r["units"]) == ("paper", 20)
    }
    norm = max(r["clipnorm"] for r in rows)
    return {
        "clipping.table": table,
        "clipping.norm": compact(norm),
        "clipping.r20_unclipped_rate": compact(paper20[0.0]["learning_rate"]),
        "clipping.r20_clipped_rate": compact(paper20[norm]["learning_rate"]),
    }
