"""The repository's scripts in `tuning/` and `examples/`, imported as
modules or run as commands, and its documents, read as text, for tests."""

import importlib.util
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_script(name):
    """`tuning/{name}.py` as a module (the scripts are not a package)."""
    path = os.path.join(ROOT, "tuning", f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(path, args=(), env=None, **kwargs):
    """Runs the script at `path`, relative to the repository's root (e.g.
    `"tuning/grid_search.py"`), with this Python and `args`; `env` adds to
    the environment, `kwargs` go to `subprocess.run` (e.g. `timeout`).
    Returns the `subprocess.CompletedProcess`, its output as text."""
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, path), *map(str, args)],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        **kwargs,
    )


def read_document(*parts):
    """The text of a file of the repository, e.g. `read_document("docs",
    "method.md")`."""
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as file:
        return file.read()
