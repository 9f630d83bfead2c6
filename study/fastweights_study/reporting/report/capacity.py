"""The values of the report's capacity curve and the delta rule (§4.4):
Table 2, Welch's tests, and what the wrong answers hold."""

import numpy as np

from fastweights_study import analysis
from fastweights_study.reporting import capacity as capacity_report
from fastweights_study.reporting.common import DELTA_SERIES
from fastweights_study.reporting.common import SERIES_NAMES
from fastweights_study.reporting.common import mean_and_std
from fastweights_study.reporting.common import read_csv
from fastweights_study.reporting.plateau import key_blind_error
from fastweights_study.reporting.report.formatting import cell_numbers
from fastweights_study.reporting.report.formatting import compact
from fastweights_study.reporting.report.formatting import markdown_table
from fastweights_study.reporting.report.formatting import results_path
from fastweights_study.reporting.report.formatting import series_name
from fastweights_study.reporting.report.formatting import span
from fastweights_study.reporting.report.formatting import welch_p
from fastweights_study.reporting.report.formatting import welch_text
from fastweights_study.reporting.report.formatting import words

CAPACITY_SERIES = ("fast_weights", DELTA_SERIES, "lstm")


def capacity_values(root) -> dict:
    rows = read_csv(results_path(root, "capacity.csv"))
    finished = {
        (row["model"], row["num_pairs"]): row
        for row in rows
        if row["num_seeds"] == len(str(row["seeds"]).split()) >= 3
    }
    ks = sorted({k for _, k in finished})
    seeds = {
        key: cell_numbers(row["test_errors"]) for key, row in finished.items()
    }

    def cell(series, k):
        row = finished.get((series, k))
        if row is None:
            return "–"
        return mean_and_std(row["test_error_mean"], row["test_error_std"])

    def p(series, other, k):
        if (series, k) not in seeds or (other, k) not in seeds:
            return "–"
        return welch_text(seeds[series, k], seeds[other, k])

    blind = {k: key_blind_error(k) for k in ks}
    table = markdown_table(
        ["", *(f"K = {k}" for k in ks)],
        "l" + "r" * len(ks),
        [
            *(
                [SERIES_NAMES[s], *(cell(s, k) for k in ks)]
                for s in CAPACITY_SERIES
            ),
            ["key-blind error", *(f"{blind[k]:.2f}" for k in ks)],
            [
                "Welch p, fast weights against the LSTM",
                *(p("fast_weights", "lstm", k) for k in ks),
            ],
            [
                "Welch p, fast weights against the delta rule",
                *(p("fast_weights", DELTA_SERIES, k) for k in ks),
            ],
        ],
    )
    hebbian = sorted(k for s, k in finished if s == "fast_weights")
    both = [k for k in hebbian if ("lstm", k) in seeds and k > min(ks)]
    below = [
        k for k in both if max(seeds["fast_weights", k]) < min(seeds["lstm", k])
    ]
    significant = [
        k
        for k in both
        if welch_p(seeds["fast_weights", k], seeds["lstm", k]) < 0.05
    ]
    delta_ks = sorted(k for s, k in finished if s == DELTA_SERIES)
    exits = {
        series: [
            int(e)
            for (s, _), row in finished.items()
            if s == series
            for e in str(row["plateau_exit_epochs"]).split()
            if e != "–"
        ]
        for series in CAPACITY_SERIES
    }
    pending = []
    for series in CAPACITY_SERIES:
        missing = [
            k
            for k in sorted({*capacity_report.CAPACITY_PAIRS, *ks})
            if (series, k) not in finished
        ]
        if missing:
            pending.append(f"{series_name(series)} at K = {words(missing)}")
    peak = max(
        hebbian, key=lambda k: finished["fast_weights", k]["test_error_mean"]
    )
    out = {
        "capacity.table": table,
        "capacity.ks": words(ks),
        "capacity.fw_peak_k": peak,
        "capacity.fw_below_lstm_ks": words(below),
        "capacity.fw_lstm_significant_ks": words(significant),
        "capacity.fw_spread": "; ".join(
            f"{span(seeds['fast_weights', k], sep=' to ')} % at K = {k}"
            for k in hebbian[-2:]
        ),
        "capacity.delta_worst": "; ".join(
            f"{compact(max(seeds[DELTA_SERIES, k]))} % at K = {k}"
            for k in delta_ks
        ),
        "capacity.delta_exit_max": max(exits[DELTA_SERIES]),
        "capacity.hebbian_exit_max": max(exits["fast_weights"]),
        "capacity.fw_best_min": min(
            int(e)
            for k in hebbian
            if k > min(ks)
            for e in str(finished["fast_weights", k]["best_epochs"]).split()
        ),
        "capacity.pending": (
            f"Still running: {'; '.join(pending)}. Table 2 gains their cells "
            "as their seeds finish."
            if pending
            else ""
        ),
    }
    # The delta rule at the largest K its seeds finished, against the
    # paper's update and the LSTM; and where Welch's test separates them.
    k = max(delta_ks)
    worst = int(np.argmax(seeds[DELTA_SERIES, k]))
    delta_p = {
        k: welch_p(seeds["fast_weights", k], seeds[DELTA_SERIES, k])
        for k in delta_ks
        if ("fast_weights", k) in seeds and k > min(ks)
    }
    out.update(
        {
            "delta.best_k": k,
            "delta.best_k.delta": cell(DELTA_SERIES, k),
            "delta.best_k.hebbian": cell("fast_weights", k),
            "delta.best_k.lstm": cell("lstm", k),
            "delta.best_k.p": f"{delta_p[k]:.2g}",
            "delta.best_k.worst_seed": compact(seeds[DELTA_SERIES, k][worst]),
            "delta.best_k.worst_best_epoch": str(
                finished[DELTA_SERIES, k]["best_epochs"]
            ).split()[worst],
            "delta.significant_ks": words(
                k for k, p in delta_p.items() if p < 0.05
            ),
            "delta.significant_ps": words(
                f"{p:.2g}" for p in delta_p.values() if p < 0.05
            ),
        }
    )
    return out


def errors_values(root) -> dict:
    rows = read_csv(results_path(root, "capacity_errors.csv"))
    summary = capacity_report.capacity_error_summary(rows)
    pairs = sum(row["num_pairs"] for row in summary)
    distance = max(row["largest_distance"] for row in summary)
    trend = max(abs(row["trend_z"]) for row in summary)
    distance_bound = analysis.bonferroni_bound(pairs)
    trend_bound = analysis.bonferroni_bound(len(summary))
    by = {(row["model"], row["num_pairs"]): row for row in summary}
    counts = [
        f"at K = {k}, {by[DELTA_SERIES, k]['wrong']} against "
        f"{by['fast_weights', k]['wrong']}"
        for (series, k) in by
        if series == DELTA_SERIES and ("fast_weights", k) in by
    ]
    sequences = by[next(iter(by))]["sequences"]
    return {
        "errors.share_range": span(
            [row["stored_percent"] for row in summary], "{:.1f}"
        ),
        "errors.chance_range": span(
            [row["chance_percent"] for row in summary], "{:.1f}"
        ),
        "errors.k_from": min(row["num_pairs"] for row in summary),
        "errors.largest_distance": f"{distance:.2f}",
        "errors.distance_bound": f"{distance_bound:.2f}",
        "errors.distance_verdict": (
            "within" if distance < distance_bound else "beyond"
        ),
        "errors.pairs": pairs,
        "errors.largest_trend": f"{trend:.2f}",
        "errors.trend_bound": f"{trend_bound:.2f}",
        "errors.trend_verdict": "within" if trend < trend_bound else "beyond",
        "errors.delta_counts": f"wrong answers in {sequences:,} test sequences "
        "(the seeds pooled), the delta rule's against the paper's update, "
        + "; ".join(counts),
    }
