"""The library a Keras user installs, apart from the study.

`keras_fastweights` imports Keras and NumPy and none of the study
(`fastweights_study`), Keras Tuner or matplotlib; it names no path of this
repository; and each layer's config is its cell's signature.
"""

import ast
import inspect
import json
import os
import subprocess
import sys

import keras
import pytest

import keras_fastweights
from keras_fastweights import AssociativeLSTM
from keras_fastweights import AssociativeLSTMCell
from keras_fastweights import FastWeightsRNN
from keras_fastweights import FastWeightsRNNCell

LIBRARY = os.path.dirname(keras_fastweights.__file__)
# What the library may not import, at any level of any of its modules.
STUDY_MODULES = ("fastweights_study", "keras_tuner", "matplotlib")


def library_modules():
    for folder, _, files in os.walk(LIBRARY):
        for name in files:
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def imported_names(path):
    with open(path) as file:
        tree = ast.parse(file.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.backend_independent
def test_no_library_module_imports_the_study_or_its_tools():
    modules = list(library_modules())
    assert len(modules) > 10
    for path in modules:
        for name in imported_names(path):
            top = name.split(".")[0]
            # Plotting a run's history imports matplotlib when called.
            if top == "matplotlib" and path.endswith("plotting.py"):
                continue
            assert top not in STUDY_MODULES, (path, name)


@pytest.mark.backend_independent
def test_no_library_module_names_a_path_of_the_repository():
    for path in library_modules():
        with open(path) as file:
            text = file.read()
        # Comments may point a reader to docs/ or benchmarks/.
        for folder in ("results/", "tuning/"):
            assert folder not in text, (path, folder)


@pytest.mark.backend_independent
def test_importing_the_library_loads_nothing_of_the_study():
    # In a fresh process: what importing the package adds to what Keras
    # itself loaded (Keras may load matplotlib on its own).
    code = (
        "import json, sys, keras; before = set(sys.modules); "
        "import keras_fastweights; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    added = json.loads(result.stdout.strip().splitlines()[-1])
    assert "keras_fastweights.layers" in added
    for name in added:
        assert name.split(".")[0] not in STUDY_MODULES, name


def constructor_arguments(cls):
    return [
        name
        for name, parameter in inspect.signature(
            cls.__init__
        ).parameters.items()
        if name != "self" and parameter.kind is parameter.POSITIONAL_OR_KEYWORD
    ]


@pytest.mark.parametrize(
    "layer_class, cell_class, options",
    [
        (FastWeightsRNN, FastWeightsRNNCell, {"update_rule": "delta"}),
        (AssociativeLSTM, AssociativeLSTMCell, {"num_copies": 2}),
    ],
)
def test_layer_config_names_its_cell_arguments(
    layer_class, cell_class, options
):
    # The layer takes every argument of its cell, exposes it as a property
    # and writes it into its config, so that a saved layer comes back with
    # the cell it had.
    cell_arguments = constructor_arguments(cell_class)
    assert set(cell_arguments) <= set(constructor_arguments(layer_class))
    layer = layer_class(8, **options)
    config = layer.get_config()
    cell_config = layer.cell.get_config()
    for name in cell_arguments:
        assert name in config, name
        assert config[name] == cell_config[name], name
        value = getattr(layer, name)
        if isinstance(value, (int, float, str, bool)) or value is None:
            assert value == getattr(layer.cell, name), name
    for name, value in options.items():
        assert config[name] == value
    copy = layer_class.from_config(config)
    assert copy.cell.get_config() == cell_config
    assert keras.saving.serialize_keras_object(copy)["config"] == config
