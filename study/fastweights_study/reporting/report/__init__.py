"""docs/report.md, the study's paper, rendered from its records.

The report's prose is a template, `docs/report.template.md`, in which every
number is a placeholder `{{name}}`. `report_values` computes each from the
committed records under `results/` (the tables' CSV files, the trials'
histories, the causal readings) and from what the code holds (the paper's
Table 1, the layer's defaults, the key-blind error); `render` fills them
in. `tuning/write_report.py` writes the report, or with `--check` says
whether the committed one is what the records give (`first_difference`).

Experiments whose records have not landed yet (`LATER`) render a sentence
saying that they are running, and their table once their CSV exists.

The template machinery is `document`; how values are written, `formatting`;
the values of each part of the report, `protocol` (the method, the protocol
and the machines), `table1` (Table 1, learning rates, budget), `capacity`
(the capacity curve, the delta rule), `ablation` (the ablation, gradient
clipping) and `causal` (what an answer needs from the memory).
"""

import os

from fastweights_study.reporting.report.ablation import ablation_values
from fastweights_study.reporting.report.ablation import clipping_values
from fastweights_study.reporting.report.capacity import capacity_values
from fastweights_study.reporting.report.capacity import errors_values
from fastweights_study.reporting.report.causal import causal_values
from fastweights_study.reporting.report.document import LATER
from fastweights_study.reporting.report.document import NOTICE
from fastweights_study.reporting.report.document import PLACEHOLDER
from fastweights_study.reporting.report.document import REPORT
from fastweights_study.reporting.report.document import TEMPLATE
from fastweights_study.reporting.report.document import first_difference
from fastweights_study.reporting.report.document import later_section
from fastweights_study.reporting.report.document import render
from fastweights_study.reporting.report.formatting import results_path
from fastweights_study.reporting.report.protocol import machine_values
from fastweights_study.reporting.report.protocol import method_values
from fastweights_study.reporting.report.protocol import protocol_values
from fastweights_study.reporting.report.table1 import longer_values
from fastweights_study.reporting.report.table1 import sensitivity_values
from fastweights_study.reporting.report.table1 import table1_values

__all__ = [
    "LATER",
    "NOTICE",
    "PLACEHOLDER",
    "REPORT",
    "TEMPLATE",
    "first_difference",
    "later_section",
    "render",
    "report_values",
    "write_report",
]


def report_values(root: str | os.PathLike) -> dict[str, str]:
    """Every placeholder of the template, from the records under `root`."""
    from fastweights_study import tuning

    saved = tuning.load_settings(results_path(root, "table1_search"))
    values = {}
    values.update(protocol_values(saved["settings"], saved["grid"]))
    values.update(method_values(values, saved["settings"]))
    values.update(table1_values(root, values, saved["grid"]))
    values.update(sensitivity_values(root))
    values.update(longer_values(root, values))
    values.update(capacity_values(root))
    values.update(errors_values(root))
    values.update(ablation_values(root, values))
    values.update(clipping_values(root))
    values.update(causal_values(root, values))
    values.update(machine_values(root))
    for name in LATER:
        values[name] = later_section(root, name)
    return values


def write_report(root: str | os.PathLike) -> str:
    """The report that the records under `root` give (its text)."""
    with open(os.path.join(root, TEMPLATE), encoding="utf-8") as file:
        template = file.read()
    return render(template, report_values(root))
