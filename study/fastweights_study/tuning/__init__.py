"""Grid search over learning rate and seeds with Keras Tuner.

The paper (Ba et al., 2016, §4.1, https://arxiv.org/abs/1610.06258) chose
each model's hyper-parameters on the validation split and reported the
test error of the choice. This package runs that choice as a protocol on
Keras Tuner, in five parts:

- `protocol`: the grid (`check_grid`) and the runs the protocol makes of
  it: every learning rate of a cell with the first seed, then the other
  seeds at the rate best on validation (`protocol_points`);
- `backup`: a running trial's backup (`TrialBackup`), from which an
  interrupted trial goes on as if it had not stopped;
- `search`: `RetrievalHyperModel` builds the paper's models with
  `keras_fastweights.models.build_retrieval_model` (seeded, with the
  ablation's `variants`) and trains them with the package's one training
  recipe (`keras_fastweights.training`); `GridOracle` runs the protocol
  and resumes after an interruption; `make_tuner` creates or resumes a
  search;
- `machine`: the machine and versions each trial ran on;
- `records`: the results read back from the trials' records (`run_rows`,
  `table_rows`, `load_search`).

Every name is importable from `fastweights_study.tuning` itself.
Installed with the study: `pip install -e . -e study` from a clone.
The command-line tool is `tuning/grid_search.py`.
"""

from fastweights_study.tuning.backup import BACKUP_FILENAME
from fastweights_study.tuning.backup import SCHEDULE_STATE
from fastweights_study.tuning.backup import TrialBackup
from fastweights_study.tuning.machine import CONTINUED_ON
from fastweights_study.tuning.machine import ENVIRONMENT_COLUMNS
from fastweights_study.tuning.machine import ENVIRONMENT_FILENAME
from fastweights_study.tuning.machine import VECTOR_EXTENSIONS
from fastweights_study.tuning.machine import continue_environment
from fastweights_study.tuning.machine import cpu_description
from fastweights_study.tuning.machine import environment
from fastweights_study.tuning.machine import environment_columns
from fastweights_study.tuning.machine import last_environment
from fastweights_study.tuning.machine import machines_of
from fastweights_study.tuning.machine import read_environment
from fastweights_study.tuning.machine import write_environment
from fastweights_study.tuning.protocol import LEARNING_RATE_LADDER
from fastweights_study.tuning.protocol import OPTIONAL_AXES
from fastweights_study.tuning.protocol import PROTOCOL_OPTIONS
from fastweights_study.tuning.protocol import axes
from fastweights_study.tuning.protocol import cell_axes
from fastweights_study.tuning.protocol import cell_learning_rates
from fastweights_study.tuning.protocol import check_grid
from fastweights_study.tuning.protocol import choose_learning_rate
from fastweights_study.tuning.protocol import extends
from fastweights_study.tuning.protocol import grid_size
from fastweights_study.tuning.protocol import in_cell
from fastweights_study.tuning.protocol import protocol_points
from fastweights_study.tuning.protocol import protocol_progress
from fastweights_study.tuning.protocol import solved
from fastweights_study.tuning.protocol import widening_learning_rate
from fastweights_study.tuning.records import RUN_COLUMNS
from fastweights_study.tuning.records import TABLE_COLUMNS
from fastweights_study.tuning.records import columns
from fastweights_study.tuning.records import error_summary
from fastweights_study.tuning.records import load_search
from fastweights_study.tuning.records import rates_around
from fastweights_study.tuning.records import run_rows
from fastweights_study.tuning.records import runs_finished
from fastweights_study.tuning.records import table_rows
from fastweights_study.tuning.records import trial_histories
from fastweights_study.tuning.records import trial_history
from fastweights_study.tuning.records import trials_from_runs
from fastweights_study.tuning.search import GRID_FILENAME
from fastweights_study.tuning.search import OBJECTIVE
from fastweights_study.tuning.search import PROJECT_NAME
from fastweights_study.tuning.search import SETTINGS_FILENAME
from fastweights_study.tuning.search import TEST_ERROR
from fastweights_study.tuning.search import GridOracle
from fastweights_study.tuning.search import RetrievalGridSearch
from fastweights_study.tuning.search import RetrievalHyperModel
from fastweights_study.tuning.search import SaveWeightsAtEnd
from fastweights_study.tuning.search import TrialStatus
from fastweights_study.tuning.search import best_epoch_results
from fastweights_study.tuning.search import completed_trials
from fastweights_study.tuning.search import fit_with_backup
from fastweights_study.tuning.search import is_worker
from fastweights_study.tuning.search import load_settings
from fastweights_study.tuning.search import make_tuner
from fastweights_study.tuning.search import trial_values

__all__ = [
    "BACKUP_FILENAME",
    "CONTINUED_ON",
    "ENVIRONMENT_COLUMNS",
    "ENVIRONMENT_FILENAME",
    "GRID_FILENAME",
    "GridOracle",
    "LEARNING_RATE_LADDER",
    "OBJECTIVE",
    "OPTIONAL_AXES",
    "PROJECT_NAME",
    "PROTOCOL_OPTIONS",
    "RUN_COLUMNS",
    "RetrievalGridSearch",
    "RetrievalHyperModel",
    "SCHEDULE_STATE",
    "SETTINGS_FILENAME",
    "SaveWeightsAtEnd",
    "TABLE_COLUMNS",
    "TEST_ERROR",
    "TrialBackup",
    "TrialStatus",
    "VECTOR_EXTENSIONS",
    "axes",
    "cell_axes",
    "cell_learning_rates",
    "check_grid",
    "choose_learning_rate",
    "columns",
    "completed_trials",
    "continue_environment",
    "cpu_description",
    "environment",
    "environment_columns",
    "extends",
    "grid_size",
    "in_cell",
    "is_worker",
    "last_environment",
    "load_search",
    "load_settings",
    "machines_of",
    "make_tuner",
    "error_summary",
    "fit_with_backup",
    "best_epoch_results",
    "protocol_points",
    "protocol_progress",
    "rates_around",
    "read_environment",
    "run_rows",
    "runs_finished",
    "solved",
    "table_rows",
    "trial_histories",
    "trial_history",
    "trial_values",
    "trials_from_runs",
    "widening_learning_rate",
    "write_environment",
]
