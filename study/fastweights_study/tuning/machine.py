"""The machine a trial ran on: its CPU and the library versions, kept
beside each trial's record (`environment.json`), since a seeded run
repeats exactly on the same CPU model and versions only."""

import json
import os
import re

import keras
import keras_tuner
import numpy as np

# Beside each trial's record: the machine and the library versions it ran
# on (a seeded run repeats exactly on the same CPU model and versions only).
ENVIRONMENT_FILENAME = "environment.json"


def cpu_description(cpuinfo: str = "/proc/cpuinfo") -> dict:
    """The first CPU's `model name`, and its `cpu_id` (family, model and
    stepping, and the widest vector instructions it offers) from
    `cpuinfo` (Linux's /proc/cpuinfo) where there is one.

    The name alone does not tell machines apart that give different draws:
    virtual machines may call CPUs of two generations "AMD EPYC", and XLA
    picks its CPU kernels by the instructions it finds (AVX-512 or not),
    which changes the rounding of a seeded run."""
    import platform

    fields = {}
    try:
        with open(cpuinfo) as file:
            for line in file:
                if not line.strip():
                    break  # the first processor's block only
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    cpu = fields.get("model name") or platform.processor() or platform.machine()
    described = {"cpu": cpu}
    if "cpu family" in fields and "model" in fields:
        flags = fields.get("flags", "").split()
        vector = next(
            (name for flag, name in VECTOR_EXTENSIONS if flag in flags), None
        )
        described["cpu_id"] = ", ".join(
            [
                f"family {fields['cpu family']}",
                f"model {fields['model']}",
                f"stepping {fields.get('stepping', '?')}",
                *([vector] if vector else []),
            ]
        )
    return described


# The widest vector instructions a CPU offers, as /proc/cpuinfo's flags name
# them, widest first.
VECTOR_EXTENSIONS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"))


def environment() -> dict:
    """The CPU model (`cpu_description`), Python, Keras backend and library
    versions of this process, as recorded beside each trial
    (`write_environment`)."""
    import platform

    backend = keras.backend.backend()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
    versions = {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "numpy": np.__version__,
        "keras_tuner": keras_tuner.__version__,
    }
    if backend in module:
        versions[backend] = __import__(module[backend]).__version__
    return {
        **cpu_description(),
        "cpu_count": os.cpu_count(),
        "backend": backend,
        "versions": versions,
    }


def write_environment(trial_dir: str | os.PathLike) -> None:
    """Writes `environment()` to `trial_dir/environment.json`."""
    os.makedirs(trial_dir, exist_ok=True)
    with open(os.path.join(trial_dir, ENVIRONMENT_FILENAME), "w") as file:
        json.dump(environment(), file, indent=1)


def continue_environment(trial_dir: str | os.PathLike, from_epoch: int) -> None:
    """Records in `trial_dir/environment.json` that the trial went on, from
    `from_epoch` (1-based), on this machine (`environment()`): its record
    then names every machine it ran on (`CONTINUED_ON`), the machine it
    began on first. A trial that spans two machines repeats on neither."""
    recorded = read_environment(trial_dir)
    continued = recorded.setdefault(CONTINUED_ON, [])
    continued.append({"from_epoch": from_epoch, **environment()})
    with open(os.path.join(trial_dir, ENVIRONMENT_FILENAME), "w") as file:
        json.dump(recorded, file, indent=1)


# In `environment.json`, where a trial went on on another machine: a list
# of `{"from_epoch": ..., **environment()}`, in order.
CONTINUED_ON = "continued_on"


def last_environment(recorded: dict | None) -> dict | None:
    """The machine a recorded trial ran on last: the one it began on, or
    the last it went on on (`continue_environment`)."""
    if recorded is None or not recorded.get(CONTINUED_ON):
        return recorded
    last = dict(recorded[CONTINUED_ON][-1])
    del last["from_epoch"]
    return last


def read_environment(trial_dir: str | os.PathLike) -> dict | None:
    """A trial's `environment.json`, or `None` for a trial run before it
    was recorded."""
    path = os.path.join(trial_dir, ENVIRONMENT_FILENAME)
    if not os.path.exists(path):
        return None
    with open(path) as file:
        return json.load(file)


# Where each run ran (`environment`), in the runs' CSV after RUN_COLUMNS;
# empty for the runs recorded before it was.
ENVIRONMENT_COLUMNS = ("cpu", "versions")


def environment_columns(trial_dir) -> dict:
    """A run's `cpu` and `versions` columns, from its `environment.json`
    (empty for a run recorded before there was one). A run that went on on
    another machine names each, with the epoch from which it ran there."""
    recorded = read_environment(trial_dir)
    if recorded is None:
        return dict.fromkeys(ENVIRONMENT_COLUMNS, "")
    columns = _described(recorded)
    for later in recorded.get(CONTINUED_ON, []):
        for name, value in _described(later).items():
            columns[name] += f"; from epoch {later['from_epoch']}: {value}"
    return columns


def machines_of(column: str) -> list[str]:
    """The machines (or versions) one run's `cpu` (or `versions`) column
    names, in order: one, or one per machine the run went on on
    (`environment_columns`); none for an empty column."""
    return [part for part in CONTINUED_SEPARATOR.split(column) if part]


# Between the machines a run's column names (`environment_columns`).
CONTINUED_SEPARATOR = re.compile(r"; from epoch \d+: ")


def _described(recorded: dict) -> dict:
    """One machine's `cpu` and `versions` columns."""
    versions = recorded["versions"]
    # Records before `cpu_id` was kept name the model and cores only.
    detail = [recorded["cpu_id"]] if "cpu_id" in recorded else []
    return {
        "cpu": "{} ({})".format(
            recorded["cpu"],
            "; ".join([*detail, f"{recorded['cpu_count']} cores"]),
        ),
        "versions": ", ".join(
            f"{name} {versions[name]}"
            for name in ("keras", recorded["backend"], "numpy", "python")
            if name in versions
        ),
    }
