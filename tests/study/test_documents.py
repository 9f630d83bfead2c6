"""The committed results: every table regenerates from the trial records, and
the documents (README.md, results/README.md, results/findings.md) quote
what the tables say."""

import csv
import glob
import json
import os
import re
import statistics

import numpy as np
import pytest
from fastweights_study import analysis
from fastweights_study import reporting
from fastweights_study import tuning
from scripts import ROOT
from scripts import read_document

from keras_fastweights import models

# Data and tables: .ci/run runs these on one backend (pyproject.toml).
pytestmark = pytest.mark.backend_independent


def table_lines(text, header):
    """The body lines of the Markdown table of `text` that starts with
    `header` (its header and separator lines left out)."""
    return text[text.index(header) :].split("\n\n")[0].splitlines()[2:]


def quoted_exits(row):
    """A CSV row's plateau exit epochs as the findings quote them: "never"
    for a run that did not leave the plateau ("–" in the CSV)."""
    return [
        "never" if epoch == "–" else epoch
        for epoch in str(row["plateau_exit_epochs"]).split()
    ]


def quoted_causal_readings(text, header, runs):
    """Checks each line of the Markdown table under `header` in `text`
    against the memory_causal.csv of its run: `runs[(first column,
    seed)]`, a name of whose directory in results/memory_causal_seeds is
    its `"causal"`. Returns each run's CSV rows by what they removed."""
    readings = {}
    directory = os.path.join(ROOT, "results", "memory_causal_seeds")
    lines = table_lines(text, header)
    assert sorted(
        (int(line.split("|")[1]), int(line.split("|")[2])) for line in lines
    ) == sorted(runs), f"the table under {header!r} lists other runs"
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        run = runs[int(cells[0]), int(cells[1])]
        assert cells[2] == f"{run['test_error_percent']:g}"
        path = os.path.join(directory, run["causal"], "memory_causal.csv")
        with open(path) as file:
            rows = {row["removed"]: row for row in csv.DictReader(file)}
        readings[int(cells[0]), int(cells[1])] = rows
        quoted = [float(cell.replace("−", "-")) for cell in cells[3:]]
        assert quoted == [
            round(float(rows[removed][column]), 3)
            for removed, column in (
                ("nothing", "probability"),
                ("queried value", "change"),
                ("every state but the queried value", "probability"),
                ("every stored state", "probability"),
            )
        ], (cells[0], cells[1])
    return readings


def finished_capacity():
    """results/capacity.csv's rows at R = 50 whose three seeds have all
    finished, by (model, K)."""
    rows = reporting.common.read_csv(
        os.path.join(ROOT, "results", "capacity.csv")
    )
    return {
        (row["model"], row["num_pairs"]): row
        for row in rows
        if row["units"] == 50 and row["seeds"] == "0 1 2"
    }


def load_copy(directory, tmp_path):
    """`tuning.load_search` of a copy of a committed search (reading a
    search writes its grid back), named as the original."""
    import shutil

    copy = tmp_path / directory.replace("/", "_")
    shutil.copytree(
        os.path.join(ROOT, directory),
        copy,
        ignore=shutil.ignore_patterns("*.weights.h5"),
    )
    search = tuning.load_search(str(copy))
    search["directory"] = directory
    return search


def assert_same_file(written, committed):
    with open(written, newline="") as file:
        got = file.read()
    with open(os.path.join(ROOT, committed), newline="") as file:
        assert got == file.read(), f"{committed} is not what its records give"


def test_readmes_quote_the_committed_table1():
    """Both READMEs' Table 1 shows the mean ± standard deviation of
    results/table1.csv for every cell with its three seeds ("–" for the
    others) beside the paper's value, and both count the runs of
    results/table1_runs.csv."""
    results = os.path.join(ROOT, "results")
    rows = {
        (row["model"], row["units"]): row
        for row in reporting.common.read_csv(
            os.path.join(results, "table1.csv")
        )
    }
    readme = read_document("README.md")
    status = read_document("results", "README.md")
    header = "| Model | R = 20 | R = 50 | R = 100 |"
    names = {name: model for model, name in models.PAPER_NAMES.items()}
    for text in (readme, status):
        lines = table_lines(text, header)
        lines = [line.strip().strip("|").split(" | ") for line in lines]
        assert sorted(line[0].strip() for line in lines) == sorted(names)
        for name, *cells in lines:
            model = names[name.strip()]
            for units, cell in zip((20, 50, 100), cells):
                row = rows.get((model, units))
                paper = reporting.table1.PAPER_TABLE1[(model, units)]
                if row is None or row["seeds"] != "0 1 2":
                    expected = f"– ({paper:.2f})"
                else:
                    expected = (
                        f"{row['test_error_mean']:.2f} ± "
                        f"{row['test_error_std']:.2f} ({paper:.2f})"
                    )
                # † marks a cell whose learning rate is still being widened.
                if row is not None and row["choice"] == "widening":
                    expected += " †"
                assert cell.strip() == expected, (model, units)

    finished = len(
        reporting.common.read_csv(os.path.join(results, "table1_runs.csv"))
    )
    # "N runs have finished", at least once in each README and the findings.
    for text in (readme, status, read_document("results", "findings.md")):
        counts = [
            int(count)
            for count in re.findall(
                r"(\d+) runs have finished", " ".join(text.split())
            )
        ]
        assert counts and all(count == finished for count in counts), counts


def test_findings_quote_the_sensitivity_choices():
    """findings §5's sentence on choosing on the mean of three seeds says
    what results/lr_sensitivity.csv says: at R = 50 both choices agree for
    fast weights and the LSTM, at R = 20 they differ for both with a lower
    mean test error, and the two Welch p of fast weights against the LSTM
    at R = 20 (seed 0's choices, the mean's) are the quoted ones."""
    rows = reporting.common.read_csv(
        os.path.join(ROOT, "results", "lr_sensitivity.csv")
    )

    def chosen(model, units, on):
        (row,) = [
            row
            for row in rows
            if (row["model"], row["units"]) == (model, units)
            and row[on] == "True"
        ]
        return row

    for model in ("fast_weights", "lstm"):
        first, mean = (
            chosen(model, 50, on)
            for on in ("chosen_on_seed_0", "chosen_on_mean")
        )
        assert first is mean, model
        first, mean = (
            chosen(model, 20, on)
            for on in ("chosen_on_seed_0", "chosen_on_mean")
        )
        assert first is not mean, model
        assert mean["test_error_mean"] < first["test_error_mean"], model
    p = []
    for on in ("chosen_on_seed_0", "chosen_on_mean"):
        fast, lstm = (
            [
                float(e)
                for e in str(chosen(model, 20, on)["test_errors"]).split()
            ]
            for model in ("fast_weights", "lstm")
        )
        assert np.mean(fast) < np.mean(lstm)
        p.append(f"{analysis.welch_test(fast, lstm)['p']:.2g}")
    text = " ".join(read_document("results", "findings.md").split())
    assert (
        f"Welch p = {p[0]} with seed 0's choices, p = {p[1]} with the mean's"
        in text
    )
    assert (
        "fast weights would take 0.0003 instead of 0.003, the LSTM 0.001"
        in text
    )
    assert chosen("fast_weights", 20, "chosen_on_mean")["learning_rate"] == 3e-4
    assert chosen("lstm", 20, "chosen_on_mean")["learning_rate"] == 1e-3


def test_documents_quote_one_run_on_two_machines():
    """findings §4 and results/README quote the same run (fast weights,
    R = 20, 0.003, seed 0) recorded by Table 1's search and by the
    ablation's on two sessions' machines: the test errors and first-epoch
    training accuracies they quote are the records'."""
    results = os.path.join(ROOT, "results")
    records = {}
    for search, runs_csv, trial in (
        ("table1_search", "table1_runs.csv", "0022"),
        ("ablation_search", "ablation_runs.csv", "0024"),
    ):
        (run,) = [
            run
            for run in reporting.common.read_csv(
                os.path.join(results, runs_csv)
            )
            if f"{int(run['trial_id']):04d}" == trial
        ]
        assert (run["model"], run["units"], run["seed"]) == (
            "fast_weights",
            20,
            0,
        )
        assert run["learning_rate"] == 0.003
        history = reporting.common.read_csv(
            os.path.join(
                results,
                search,
                tuning.PROJECT_NAME,
                f"trial_{trial}",
                "history.csv",
            )
        )
        records[search] = (run["test_error_percent"], history[0]["accuracy"])
    (table1_error, table1_first), (ablation_error, ablation_first) = (
        records["table1_search"],
        records["ablation_search"],
    )
    assert table1_error != ablation_error
    findings = " ".join(read_document("results", "findings.md").split())
    assert f"{table1_error:g} % there, {ablation_error:g} % here" in findings
    assert f"({table1_first:.4f} and {ablation_first:.4f})" in findings
    status = " ".join(read_document("results", "README.md").split())
    assert (
        f"gave {table1_error:g} % in Table 1 and {ablation_error:g} % in the "
        "ablation" in status
    )


def test_findings_quote_the_committed_causal_readings():
    """results/findings.md's tables of the causal reading by seed say what
    results/memory_causal_seeds/*/memory_causal.csv say: for fast weights'
    Table 1 runs at each R's chosen learning rate and seeds 0-2, for the
    capacity curve's runs at each K > 4 with three seeds, and for the
    longer budget at R = 100 beside Table 1's runs there."""
    results = os.path.join(ROOT, "results")
    text = read_document("results", "findings.md")
    chosen = {
        row["units"]: row
        for row in reporting.common.read_csv(
            os.path.join(results, "table1.csv")
        )
        if row["model"] == "fast_weights"
    }
    table1 = {
        (run["units"], run["seed"]): dict(
            run, causal=f"trial_{int(run['trial_id']):04d}"
        )
        for run in reporting.common.read_csv(
            os.path.join(results, "table1_runs.csv")
        )
        if run["model"] == "fast_weights"
        and run["learning_rate"] == chosen[run["units"]]["learning_rate"]
    }
    assert len(table1) == 9
    quoted_causal_readings(
        text,
        "| R | seed | test error (%) | p, whole memory |",
        table1,
    )

    capacity = [
        row
        for row in reporting.common.read_csv(
            os.path.join(results, "capacity.csv")
        )
        if row["model"] == "fast_weights"
        and row["num_pairs"] > 4
        and row["seeds"] == "0 1 2"
    ]
    runs = {}
    for row in capacity:
        search = os.path.join(
            results, "capacity_search", f"k{row['num_pairs']}"
        )
        for path in glob.glob(
            os.path.join(search, "*", "trial_*", "trial.json")
        ):
            with open(path) as file:
                trial = json.load(file)
            values = trial["hyperparameters"]["values"]
            if (
                trial["status"] == "COMPLETED"
                and values["model"] == "fast_weights"
                and values["learning_rate"] == row["learning_rate"]
            ):
                metrics = trial["metrics"]["metrics"][tuning.TEST_ERROR]
                runs[row["num_pairs"], values["seed"]] = {
                    "test_error_percent": metrics["observations"][0]["value"][
                        0
                    ],
                    "causal": f"k{row['num_pairs']}_"
                    + os.path.basename(os.path.dirname(path)),
                }
    assert runs
    readings = quoted_causal_readings(
        text, "| K | seed | test error (%) | p, whole memory |", runs
    )
    # The longer budget at R = 100: Table 1's runs at its learning rate and
    # 100 epochs beside the same seeds' 300-epoch runs.
    longer = os.path.join(results, "longer_budget", "r100_search")
    longer_runs = reporting.common.read_csv(
        os.path.join(longer, "table1_runs.csv")
    )
    budget = {
        (100, run["seed"]): dict(
            run, causal=f"trial_{int(run['trial_id']):04d}"
        )
        for run in reporting.common.read_csv(
            os.path.join(results, "table1_runs.csv")
        )
        if run["model"] == "fast_weights"
        and run["units"] == 100
        and run["learning_rate"] == longer_runs[0]["learning_rate"]
    }
    assert len(budget) == 3
    for run in longer_runs:
        budget[run["epochs"], run["seed"]] = dict(
            run, causal=f"longer_r100_trial_{int(run['trial_id']):04d}"
        )
    assert len(budget) == 6
    quoted_causal_readings(
        text,
        "| epochs | seed | test error (%) | p, whole memory |",
        budget,
    )
    # results/findings.md §2 sums these runs up: which K, and what removing
    # the queried digit's state costs, at least and at most.
    findings = " ".join(read_document("results", "findings.md").split())
    claim = re.search(
        r"At `K = (\d+)`([\d, and]*) every fast-weights run of the table "
        r"still answers by §3's look-up \(removing the queried "
        r"digit's state costs ([\d.]+) to ([\d.]+) in probability",
        findings,
    )
    assert claim, "findings §2 no longer sums up the causal readings by K"
    listed = re.findall(r"\d+", claim.group(1) + claim.group(2))
    assert [int(k) for k in listed] == sorted(
        {num_pairs for num_pairs, _ in runs}
    )
    costs = [
        -float(rows["queried value"]["change"]) for rows in readings.values()
    ]
    assert (claim.group(3), claim.group(4)) == (
        f"{min(costs):.2f}",
        f"{max(costs):.2f}",
    )


def ablation_errors():
    """results/ablation.csv's rows, and each variant's test errors at its
    chosen rate in the order of the seeds (from ablation_runs.csv)."""
    results = os.path.join(ROOT, "results")
    rows = reporting.common.read_csv(os.path.join(results, "ablation.csv"))
    runs = reporting.common.read_csv(os.path.join(results, "ablation_runs.csv"))
    errors = {
        row["variant"]: [
            run["test_error_percent"]
            for run in sorted(runs, key=lambda run: run["seed"])
            if run["variant"] == row["variant"]
            and run["learning_rate"] == row["learning_rate"]
        ]
        for row in rows
    }
    return rows, errors


def test_findings_quote_the_committed_ablation():
    """results/findings.md §4's table says what results/ablation.csv and
    ablation_runs.csv say: each variant's chosen rate, each seed's test
    error at it, the mean ± standard deviation, the epochs of leaving the
    plateau, the paired count and Welch's p against the paper's layer, one
    line per variant in the study's order."""
    text = read_document("results", "findings.md")
    header = "| variant | learning rate | test error (%), seeds 0, 1, 2 |"
    lines = table_lines(text, header)
    rows, errors = ablation_errors()
    assert len(lines) == len(rows) == len(models.FAST_WEIGHTS_VARIANTS)
    for line, row in zip(lines, rows):
        _, rate, quoted, summary, exits, worse, p = line.strip("| ").split(
            " | "
        )
        assert row["seeds"] == "0 1 2"
        assert float(rate) == row["learning_rate"], row["variant"]
        mine = errors[row["variant"]]
        assert quoted.split(", ") == [f"{e:g}" for e in mine], row["variant"]
        assert summary == (
            f"{row['test_error_mean']:.2f} ± {row['test_error_std']:.2f}"
        )
        assert exits.split(", ") == quoted_exits(row)
        if row["variant"] == "paper":
            assert worse == p == "–"
            continue
        assert worse == (
            f"{row['seeds_worse_than_paper']} of {row['seeds_paired']}"
        )
        welch = analysis.welch_test(mine, errors["paper"])["p"]
        assert p == f"{welch:.2g}", row["variant"]


def test_findings_ablation_exits_separate_the_errors():
    """§4: at the chosen rates, every run that left the key-blind plateau
    by epoch 7 ended below 10 % test error, every run that left it at
    epoch 23 or later, or never, above 15 %, and no run left it between."""
    text = read_document("results", "findings.md")
    assert "by epoch 7 ended below 10 % test error" in text
    assert "at epoch 23 or later, or never, ended above 15 %" in text
    rows, errors = ablation_errors()
    early, late = [], []
    for row in rows:
        for exit, error in zip(quoted_exits(row), errors[row["variant"]]):
            if exit != "never" and int(exit) <= 7:
                early.append(error)
            else:
                assert exit == "never" or int(exit) >= 23, row["variant"]
                late.append(error)
    assert early and late
    assert max(early) < 10 < 15 < min(late)


def test_findings_quote_the_committed_clipping():
    """results/findings.md §6's table says what results/clipping.csv says,
    a line per finished cell in its order (one still widening is left
    out), and each Welch p it quotes is the one the CSV's seeds give."""
    text = read_document("results", "findings.md")
    header = "| R | clipnorm | chosen rate | test error (%), seeds 0, 1, 2 |"
    lines = table_lines(text, header)
    rows = reporting.common.read_csv(
        os.path.join(ROOT, "results", "clipping.csv")
    )
    rows = [
        row
        for row in rows
        if row["variant"] == "paper" and row["choice"] == "final"
    ]
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows):
        units, clipnorm, rate, errors, summary, exits, diverged = line.strip(
            "| "
        ).split(" | ")
        assert int(units) == row["units"]
        assert clipnorm == (
            f"{row['clipnorm']:g}" if row["clipnorm"] else "none"
        )
        assert float(rate) == row["learning_rate"]
        assert errors.split(", ") == str(row["test_errors"]).split()
        assert summary == (
            f"{row['test_error_mean']:.2f} ± {row['test_error_std']:.2f}"
        )
        assert exits.split(", ") == quoted_exits(row)
        assert diverged == (
            f"{row['cell_runs_diverged']} of {row['cell_runs']}"
        )
    section = text[text.index("## 6. Gradient clipping") :]
    quoted = re.findall(r"R = (\d+): .*?Welch p = ([0-9.]+)", section, re.S)
    assert quoted
    for units, p in quoted:
        clipped, unclipped = (
            [float(error) for error in str(row["test_errors"]).split()]
            for row in sorted(
                (row for row in rows if row["units"] == int(units)),
                key=lambda row: -row["clipnorm"],
            )
        )
        assert p == f"{analysis.welch_test(clipped, unclipped)['p']:.2g}"


def test_findings_quote_the_committed_capacity():
    """results/findings.md §2's capacity table says what results/capacity.csv
    says: each (model, K)'s mean ± standard deviation over seeds 0, 1, 2,
    how many of them ended on the key-blind plateau where any did, "–"
    where the three runs have not all finished; its key-blind row is
    section 8's formula; and the sentence under it, on the runs that left
    the plateau, holds."""
    text = read_document("results", "findings.md")
    header = "| model | K = 2 | K = 4 | K = 6 | K = 8 | K = 10 | K = 12 |"
    table = text[text.index(header) :].split("\n\n")[0].splitlines()
    pairs = [
        int(cell.split("= ")[1])
        for cell in table[0].strip("| ").split(" | ")[1:]
    ]
    finished = finished_capacity()
    quoted = {line.strip("| ").split(" | ")[0]: line for line in table[2:]}
    assert sorted(quoted) == ["LSTM", "fast weights", "key-blind error"]
    for label, kind in (("fast weights", "fast_weights"), ("LSTM", "lstm")):
        cells = quoted[label].strip("| ").split(" | ")[1:]
        expected = []
        for num_pairs in pairs:
            row = finished.get((kind, num_pairs))
            if row is None:
                expected.append("–")
                continue
            cell = f"{row['test_error_mean']:.2f} ± {row['test_error_std']:.2f}"
            if row["runs_on_plateau"]:
                cell += f" ({row['runs_on_plateau']} on the plateau)"
            expected.append(cell)
        assert cells == expected, label
    assert quoted["key-blind error"].strip("| ").split(" | ")[1:] == [
        f"{100 * analysis.key_blind_bayes(k)[0]:.2f}" for k in pairs
    ]
    below = " ".join(text[text.index(header) :].split("\n\n")[1].split())
    exits = [
        int(epoch)
        for row in finished.values()
        for epoch in str(row["plateau_exit_epochs"]).split()
        if epoch != "–"
    ]
    if "no run in this table has ended on the plateau" in below:
        assert not any(row["runs_on_plateau"] for row in finished.values())
    claim = re.search(
        r"every one left it by epoch (\d+), those at K ≤ (\d+) by epoch (\d+)",
        below,
    )
    assert claim, "findings §2 no longer says when the runs left the plateau"
    assert int(claim.group(1)) == max(exits)
    assert int(claim.group(3)) == max(
        int(epoch)
        for (_, num_pairs), row in finished.items()
        if num_pairs <= int(claim.group(2))
        for epoch in str(row["plateau_exit_epochs"]).split()
        if epoch != "–"
    )


def test_results_readme_compares_the_capacity_curve_with_welch():
    """results/README.md's capacity sentence: every fast-weights seed below
    every LSTM seed at each K from 4 to 12, the Welch p it quotes for each
    K (from the seeds of results/capacity.csv), significant where it says
    there is a difference, and where it says not, fast weights' seeds
    spread more widely than the LSTM's."""
    text = " ".join(read_document("results", "README.md").split())
    rows = reporting.common.read_csv(
        os.path.join(ROOT, "results", "capacity.csv")
    )
    seeds = {
        (row["model"], row["num_pairs"]): [
            float(error) for error in str(row["test_errors"]).split()
        ]
        for row in rows
    }
    assert (
        "every fast-weights seed below every LSTM seed at every K from 4 to "
        "12" in text
    )
    for k in range(4, 13, 2):
        assert max(seeds[("fast_weights", k)]) < min(seeds[("lstm", k)]), k
    match = re.search(
        r"finds the difference at K = (\d+), (\d+) and (\d+), p = "
        r"([0-9.]+), ([0-9.]+) and ([0-9.]+), not at K = (\d+) and (\d+), "
        r"p = ([0-9.]+) and ([0-9.]+), where fast weights' seeds spread more "
        r"widely than the LSTM's",
        text,
    )
    assert match, "the capacity sentence is gone"
    numbers = match.groups()
    pairs = [int(k) for k in numbers[:3] + numbers[6:8]]
    quoted = numbers[3:6] + numbers[8:10]
    for k, p in zip(pairs, quoted):
        fast, lstm = seeds[("fast_weights", k)], seeds[("lstm", k)]
        got = analysis.welch_test(fast, lstm)
        assert p == f"{got['p']:.2g}", k
        assert (got["p"] < 0.05) == (k in pairs[:3]), k
        if k in pairs[3:]:
            assert np.std(fast, ddof=1) > np.std(lstm, ddof=1), k


def test_findings_read_the_capacity_curve():
    """results/findings.md §2's reading of the capacity curve ("What the curve
    says") holds for results/capacity.csv: each mean, each spread of a
    model's seeds, the comparisons between K and between the models."""
    text = read_document("results", "findings.md")
    start = text.index("**What the curve says.**")
    reading = " ".join(text[start:].split("\n\n")[0].split())
    finished = finished_capacity()

    def mean(model, k):
        return f"{finished[model, k]['test_error_mean']:.2f}"

    def seeds(model, k):
        return [
            float(e) for e in str(finished[model, k]["test_errors"]).split()
        ]

    def spread(model, k):
        errors = seeds(model, k)
        return f"from {min(errors):g} to {max(errors):g} %"

    fast, lstm = "fast_weights", "lstm"
    # Fast weights: up to K = 10, then no higher at K = 12.
    rising = [mean(fast, k) for k in (2, 4, 6, 8, 10)]
    assert rising == sorted(rising, key=float)
    assert float(mean(fast, 12)) <= float(mean(fast, 10))
    assert (
        f"no higher at `K = 12` ({mean(fast, 12)} against {mean(fast, 10)} %)"
        in reading
    )
    assert (
        f"{spread(fast, 10)} at `K = 10` and {spread(fast, 12)} at `K = 12`"
    ) in reading
    # "far more widely than before": five times the widest spread below.
    before = max(
        max(seeds(fast, k)) - min(seeds(fast, k)) for k in (2, 4, 6, 8)
    )
    assert f"they were at most {before:.2f} points apart" in reading
    for k in (10, 12):
        assert max(seeds(fast, k)) - min(seeds(fast, k)) > 5 * before
    best = min(seeds(fast, 12))
    assert f"Their best run at `K = 12`, {best:g} %," in reading
    at_six = seeds(fast, 6)
    assert best < min(at_six)
    assert (
        f"is below every run at `K = 6` ({min(at_six):g} to {max(at_six):g} %)"
        in reading
    )
    bits = analysis.retrieval_information_bits(12)
    assert f"twelve bindings, {bits:.1f} bits" in reading
    # The LSTM: rising with one step down, and a budget that binds.
    lstm_means = [float(mean(lstm, k)) for k in (2, 4, 6, 8, 10, 12)]
    down = [
        k
        for k, previous, current in zip(
            (4, 6, 8, 10, 12), lstm_means, lstm_means[1:]
        )
        if current < previous
    ]
    assert down == [10]
    assert (
        f"({mean(lstm, 10)} % at `K = 10`, from {mean(lstm, 8)} % at `K = 8`, "
        "within the seeds' spread)"
    ) in reading
    assert max(seeds(lstm, 10)) >= min(seeds(lstm, 8))  # the spreads overlap
    at_twelve = (
        f"to {mean(lstm, 12)} % at `K = 12`, its seeds {spread(lstm, 12)}"
    )
    assert at_twelve in reading
    best_epochs = [
        int(e) for e in str(finished[lstm, 12]["best_epochs"]).split()
    ]
    assert (
        f"every LSTM run at `K = 12` had its best epoch at {min(best_epochs)} "
        "or later"
    ) in reading
    # The models compared at every K where both have three seeds.
    both = sorted(k for (model, k) in finished if model == lstm and k >= 4)
    assert f"every `K` from 4 to {both[-1]}." in reading
    for k in both:
        assert float(mean(fast, k)) < float(mean(lstm, k)), k


def test_findings_quote_the_committed_capacity_errors():
    """results/capacity_errors.csv reads every run of results/capacity.csv
    (the same test errors: at K >= 4 the checkpoint it read holds the
    weights its trial tested), and results/findings.md §2's sentences on where
    the wrong answers come from say what it says, at K >= 4: the share of
    wrong answers that are another pair's digit, beside the share if they
    were spread over the nine wrong digits, and the largest distance, in
    binomial standard errors, of a queried pair's error (the seeds pooled)
    from its (model, K)'s error, and the Cochran-Armitage test of a trend of
    the error in the pair's position, each against its Bonferroni bound."""
    results = os.path.join(ROOT, "results")
    cells = reporting.common.read_csv(os.path.join(results, "capacity.csv"))
    rows = reporting.common.read_csv(
        os.path.join(results, "capacity_errors.csv")
    )
    read = {(r["model"], r["num_pairs"], r["seed"]): r for r in rows}
    assert len(read) == len(rows)
    expected = set()
    for cell in cells:
        seeds = str(cell["seeds"]).split()
        errors = str(cell["test_errors"]).split()
        for seed, error in zip(seeds, errors):
            key = (cell["model"], cell["num_pairs"], int(seed))
            expected.add(key)
            assert key in read, f"capacity_errors.csv lacks {key}: rerun it"
            assert read[key]["recorded_test_error_percent"] == float(error)
            if cell["num_pairs"] >= 4:
                assert read[key]["test_error_percent"] == float(error)
    assert set(read) == expected

    stored, chance, distances, trends, pairs = [], [], [], {}, 0
    for model, num_pairs in {(r["model"], r["num_pairs"]) for r in rows}:
        # §2's sentences are on the paper's two models; the delta rule's
        # rows wait for their own findings.
        if num_pairs < 4 or model == reporting.common.DELTA_SERIES:
            continue
        runs = [
            r
            for r in rows
            if (r["model"], r["num_pairs"]) == (model, num_pairs)
        ]
        wrong = sum(r["wrong"] for r in runs)
        stored.append(100 * sum(r["wrong_stored"] for r in runs) / wrong)
        chance.append(100 * sum(r["stored_by_chance"] for r in runs) / wrong)
        sequences, wrong_by_pair = (
            sum(np.array(str(r[column]).split(), int) for r in runs)
            for column in ("sequences_by_pair", "wrong_by_pair")
        )
        mean = wrong_by_pair.sum() / sequences.sum()
        distances.append(
            np.max(
                np.abs(wrong_by_pair / sequences - mean)
                / np.sqrt(mean * (1 - mean) / sequences)
            )
        )
        pairs += num_pairs
        # Cochran-Armitage: a linear trend of the error in the queried
        # pair's position 1 .. K (positive: newer pairs err more).
        position = np.arange(1, num_pairs + 1)
        excess = np.sum(position * (wrong_by_pair - mean * sequences))
        spread = np.sum(sequences * position**2) - (
            np.sum(sequences * position) ** 2 / sequences.sum()
        )
        trends[model, num_pairs] = excess / np.sqrt(mean * (1 - mean) * spread)

    text = " ".join(read_document("results", "findings.md").split())
    shares = re.search(
        r"([\d.]+) to ([\d.]+) % of the wrong answers were the digit of "
        r"another pair of the sequence, where answers spread over the nine "
        r"wrong digits would give ([\d.]+) to ([\d.]+) %",
        text,
    )
    assert shares, "findings §2 no longer says what the wrong answers are"
    assert shares.groups() == (
        f"{min(stored):.1f}",
        f"{max(stored):.1f}",
        f"{min(chance):.0f}",
        f"{max(chance):.0f}",
    )

    # Two-sided 5 % over n comparisons (Bonferroni).
    def allowed(n):
        return f"{statistics.NormalDist().inv_cdf(1 - 0.025 / n):.1f}"

    flat = re.search(
        r"no queried pair's error is more than ([\d.]+) binomial standard "
        r"errors from the error of its model and K, inside the ([\d.]+) "
        r"that chance allows among the (\d+) pairs compared",
        text,
    )
    assert flat, "findings §2 no longer says how the error depends on the pair"
    assert flat.groups() == (
        f"{max(distances):.1f}",
        allowed(pairs),
        str(pairs),
    )
    assert max(distances) < float(allowed(pairs))
    trend = re.search(
        r"finds none: \|z\| is at most ([\d.]+) over the (\d+) \(model, "
        r"K\), inside the ([\d.]+) that \d+ tests allow",
        text,
    )
    assert trend, "findings §2 no longer says if the error trends with age"
    largest = max(abs(z) for z in trends.values())
    assert trend.groups() == (
        f"{largest:.1f}",
        str(len(trends)),
        allowed(len(trends)),
    )
    assert largest < float(allowed(len(trends)))
    # "its sign changes": fast weights at K = 8 lean to the old pairs, the
    # LSTM at K = 4 to the new.
    assert trends["fast_weights", 8] < 0 < trends["lstm", 4]
    budget = re.search(
        r"every fast-weights run of the table had its best epoch on "
        r"validation at epoch (\d+) or later",
        text,
    )
    assert budget, "findings §2 no longer says when runs had their best epoch"
    assert int(budget.group(1)) == min(
        int(epoch)
        for cell in cells
        if cell["model"] == "fast_weights" and cell["seeds"] == "0 1 2"
        for epoch in str(cell["best_epochs"]).split()
    )


@pytest.mark.backend_independent
def test_committed_tables_regenerate_from_the_records(tmp_path):
    """results/table1.csv (and table1.md, with the delta rule's row),
    lr_sensitivity.csv, ablation.csv, capacity.csv and clipping.csv are
    what the
    committed trial records give, byte for byte: a hand edit of a table,
    or a record changed without its table, fails here."""
    table1 = load_copy("results/table1_search", tmp_path)
    # With the delta rule's row beside, as tuning/reproduce.sh reports it.
    beside = [load_copy("results/delta_search/table1", tmp_path)]
    reporting.table1.check_beside(table1["settings"], beside)
    reporting.table1.write_table1(
        table1["runs"], tmp_path / "t", table1["grid"], beside
    )
    assert_same_file(tmp_path / "t" / "table1.csv", "results/table1.csv")
    assert_same_file(
        tmp_path / "t" / "table1_runs.csv", "results/table1_runs.csv"
    )
    assert_same_file(tmp_path / "t" / "table1.md", "results/table1.md")
    reporting.sensitivity.write_sensitivity(
        table1["grid"], table1["runs"], tmp_path / "t"
    )
    assert_same_file(
        tmp_path / "t" / "lr_sensitivity.csv", "results/lr_sensitivity.csv"
    )

    ablation = load_copy("results/ablation_search", tmp_path)
    rows = reporting.ablation.ablation_rows(
        ablation["grid"],
        ablation["runs"],
        ablation["settings"]["num_pairs"],
        ablation["histories"],
    )
    reporting.common.write_csv(
        rows, tmp_path / "ablation.csv", reporting.ablation.ABLATION_COLUMNS
    )
    assert_same_file(tmp_path / "ablation.csv", "results/ablation.csv")

    # The capacity report's searches (tuning/capacity_report.py's default
    # --directories), those run so far: the delta rule's too.
    loaded = {search["directory"]: search for search in [table1, *beside]}
    searches = [
        loaded.get(directory) or load_copy(directory, tmp_path)
        for directory in reporting.capacity.CAPACITY_DIRECTORIES
        if os.path.exists(os.path.join(ROOT, directory))
    ]
    rows = reporting.capacity.capacity_rows(
        searches, ["fast_weights", "lstm"], 50
    )
    reporting.common.write_csv(
        rows, tmp_path / "capacity.csv", reporting.capacity.CAPACITY_COLUMNS
    )
    assert_same_file(tmp_path / "capacity.csv", "results/capacity.csv")

    clipping = [
        table1,
        load_copy("results/clipping_search/table1", tmp_path),
        ablation,
    ]
    if os.path.isdir(
        os.path.join(ROOT, "results/clipping_search/no_layer_norm")
    ):
        clipping.append(
            load_copy("results/clipping_search/no_layer_norm", tmp_path)
        )
    rows = reporting.clipping.clipping_rows(clipping)
    reporting.common.write_csv(
        rows, tmp_path / "clipping.csv", reporting.clipping.CLIPPING_COLUMNS
    )
    assert_same_file(tmp_path / "clipping.csv", "results/clipping.csv")


def pooled_wrong_answers(rows, model, num_pairs):
    """The wrong answers of a (model, K)'s runs in capacity_errors.csv, the
    seeds pooled, as findings §7 quotes them: "W of N, S %", S the share
    that is another pair's digit."""
    runs = [
        r for r in rows if (r["model"], r["num_pairs"]) == (model, num_pairs)
    ]
    wrong = sum(r["wrong"] for r in runs)
    sequences = sum(r["sequences"] for r in runs)
    share = (
        "–"
        if not wrong
        else (f"{100 * sum(r['wrong_stored'] for r in runs) / wrong:.1f} %")
    )
    return f"{wrong} of {sequences}, {share}"


def test_findings_quote_the_delta_rule():
    """results/findings.md §7 (the delta rule) says what the committed
    records say: its capacity table has a line for each K >= 4 at which
    the delta rule's three seeds have finished, each rule's mean ± sd
    (capacity.csv), Welch's p on their seeds, the wrong answers pooled
    over the seeds with the share that is another pair's digit
    (capacity_errors.csv) and the epochs each seed left the plateau; its
    Table 1 lines say what table1.md's delta row says (the regeneration
    test checks table1.md against the records)."""
    text = read_document("results", "findings.md")
    section = text[text.index("## 7. The delta rule") :]
    finished = finished_capacity()
    delta = reporting.common.DELTA_SERIES
    errors = reporting.common.read_csv(
        os.path.join(ROOT, "results", "capacity_errors.csv")
    )
    header = "| K | test error (%), Hebbian | delta rule | Welch p |"
    lines = table_lines(section, header)
    expected = sorted(k for model, k in finished if model == delta and k >= 4)
    assert [int(line.strip("| ").split(" | ")[0]) for line in lines] == (
        expected
    )
    for line in lines:
        k, hebbian, ours, p, wrong_h, wrong_d, exits_h, exits_d = line.strip(
            "| "
        ).split(" | ")
        rows = finished["fast_weights", int(k)], finished[delta, int(k)]
        for quoted, row in zip((hebbian, ours), rows):
            assert quoted == (
                f"{row['test_error_mean']:.2f} ± {row['test_error_std']:.2f}"
            ), k
        seeds = [
            [float(e) for e in str(row["test_errors"]).split()] for row in rows
        ]
        assert p == f"{analysis.welch_test(*seeds)['p']:.2g}", k
        assert wrong_h == pooled_wrong_answers(errors, "fast_weights", int(k))
        assert wrong_d == pooled_wrong_answers(errors, delta, int(k))
        assert exits_h.split(", ") == quoted_exits(rows[0]), k
        assert exits_d.split(", ") == quoted_exits(rows[1]), k

    # Table 1's delta row: the means, rates and Welch p of table1.md.
    table1 = read_document("results", "table1.md")
    summary = {
        line.strip("| ").split(" | ")[0]: line.strip("| ").split(" | ")[1:]
        for line in table_lines(table1, "| Model | R = 20 | R = 50 | R = 100 |")
    }
    rates = dict(
        (line.strip("| ").split(" | ")[0], line.strip("| ").split(" | ")[1:])
        for line in table1.split("Chosen learning rates")[1]
        .split("\n\n")[1]
        .splitlines()[2:]
    )
    welch = {
        line.strip("| ").split(" | ")[0]: line.strip("| ").split(" | ")[-1]
        for line in table_lines(table1, "| R | model | Fast weights |")
        if "delta rule" in line
    }
    header = "| R | rate, test error (%), Hebbian | delta rule | Welch p |"
    quoted = table_lines(section, header)
    assert quoted
    for line in quoted:
        units, hebbian, ours, p = line.strip("| ").split(" | ")
        column = ["20", "50", "100"].index(units)
        for quote, name in (
            (hebbian, "Fast weights"),
            (ours, "Fast weights, delta rule"),
        ):
            mean = summary[name][column].split(" (")[0]
            assert quote == f"{rates[name][column]}, {mean}", (units, name)
        assert p == welch[units], units
