"""The machine a trial ran on: its CPU and the library versions, kept
beside each trial's record (`environment.json`), since a seeded run
repeats exactly on the same CPU model and versions only."""

import json
import os

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
    (empty for a run recorded before there was one)."""
    recorded = read_environment(trial_dir)
    if recorded is None:
        return dict.fromkeys(ENVIRONMENT_COLUMNS, "")
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
