"""The repository's scripts in `tuning/`, imported as modules, and its
documents, read as text, for tests."""

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_script(name):
    """`tuning/{name}.py` as a module (the scripts are not a package)."""
    path = os.path.join(ROOT, "tuning", f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_document(*parts):
    """The text of a file of the repository, e.g. `read_document("docs",
    "method.md")`."""
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as file:
        return file.read()
