"""How the report writes its values (numbers, lists, ranges, tables, the
series' names, Welch's p) and where it reads its records (the results/
paths, a trial's history, a causal reading)."""

import os
from collections.abc import Iterable
from collections.abc import Sequence

from fastweights_study import analysis
from fastweights_study.reporting.common import SERIES_NAMES
from fastweights_study.reporting.common import read_csv
from keras_fastweights import training


def compact(number: float) -> str:
    return f"{number:g}"


def series_name(series: str) -> str:
    """A series' name inside a sentence: "fast weights", "LSTM"."""
    name = SERIES_NAMES[series]
    return name[0].lower() + name[1:] if name.startswith("Fast") else name


def words(items: Iterable) -> str:
    """`a`, `a and b`, `a, b and c`."""
    items = [str(item) for item in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def span(numbers: Sequence[float], form: str = "{:g}", sep: str = "–") -> str:
    """The range of `numbers` as text, one number where they are equal."""
    low, high = form.format(min(numbers)), form.format(max(numbers))
    return low if low == high else f"{low}{sep}{high}"


def welch_p(a: Sequence[float], b: Sequence[float]) -> float:
    return analysis.welch_test(list(a), list(b))["p"]


def welch_text(a: Sequence[float], b: Sequence[float]) -> str:
    return f"{welch_p(a, b):.2g}"


def cell_numbers(text) -> list[float]:
    """A CSV cell of numbers separated by spaces, as floats."""
    return [float(word) for word in str(text).split()]


def exit_epochs(text) -> str:
    """A CSV cell of plateau exit epochs as the report gives them: "never"
    for a run that did not leave the plateau ("–")."""
    return ", ".join("never" if e == "–" else e for e in str(text).split())


def markdown_table(header: Sequence[str], align: str, rows: Iterable) -> str:
    """A Markdown table; `align` has one character a column, `l` or `r`."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "".join("---|" if a == "l" else "---:|" for a in align),
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def results_path(root, *parts) -> str:
    return os.path.join(root, "results", *parts)


def trial_history(search: str, trial_id) -> dict:
    """A trial's per-epoch history from a search's records."""
    from fastweights_study import tuning

    return training.read_history(
        os.path.join(
            search,
            tuning.PROJECT_NAME,
            f"trial_{int(trial_id):04d}",
            training.HISTORY_FILENAME,
        )
    )


def causal_reading(root, name: str) -> dict:
    """A causal reading (`tuning/memory_causal.py`'s CSV) by what it
    removed."""
    path = results_path(root, "memory_causal_seeds", name, "memory_causal.csv")
    return {row["removed"]: row for row in read_csv(path)}
