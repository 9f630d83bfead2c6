"""The study's reports, one module per product: `table1` (Table 1 of Ba
et al., 2016), `ablation` (the variants of the fast-weights layer),
`capacity` (the test error against the number K of pairs), `clipping`
(gradient clipping against none), `sensitivity` (test error against the
learning rate, every seed), with the
key-blind `plateau` rules and what they share (`common`); and `report`,
the study's paper (docs/report.md) rendered from all of them."""

from fastweights_study.reporting import ablation
from fastweights_study.reporting import capacity
from fastweights_study.reporting import clipping
from fastweights_study.reporting import common
from fastweights_study.reporting import convergence
from fastweights_study.reporting import plateau
from fastweights_study.reporting import report
from fastweights_study.reporting import sensitivity
from fastweights_study.reporting import table1

__all__ = [
    "ablation",
    "capacity",
    "clipping",
    "common",
    "convergence",
    "plateau",
    "report",
    "sensitivity",
    "table1",
]
