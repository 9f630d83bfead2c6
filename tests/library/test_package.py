"""The library a Keras user installs, apart from the study.

`keras_fastweights` imports Keras and NumPy and none of the study
(`fastweights_study`), Keras Tuner or matplotlib; it names no path of this
repository; and each layer takes, reads back and saves its cell's
arguments.
"""

import ast
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
from keras_fastweights.layers._base import cell_arguments

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


# The arguments every cell takes for its slow weights, as
# keras.layers.LSTMCell does, and each cell's own.
SLOW_WEIGHT_ARGUMENTS = {
    "use_bias",
    *(
        f"{weight}_{kind}"
        for weight in ("kernel", "recurrent", "bias")
        for kind in ("initializer", "regularizer", "constraint")
    ),
}
OWN_ARGUMENTS = {
    FastWeightsRNNCell: {
        "units",
        "decay_rate",
        "fast_learning_rate",
        "inner_steps",
        "activation",
        "use_layer_norm",
        "layer_norm_epsilon",
        "update_rule",
    },
    AssociativeLSTMCell: {
        "units",
        "num_copies",
        "permutation_seed",
        "unit_forget_bias",
    },
}


@pytest.mark.parametrize(
    "layer_class, cell_class, options",
    [
        (
            FastWeightsRNN,
            FastWeightsRNNCell,
            {
                "update_rule": "delta",
                "decay_rate": 0.7,
                "use_bias": False,
                "kernel_regularizer": keras.regularizers.L2(0.1),
            },
        ),
        (
            AssociativeLSTM,
            AssociativeLSTMCell,
            {"num_copies": 2, "unit_forget_bias": False},
        ),
    ],
)
def test_layer_takes_reads_and_saves_its_cells_arguments(
    layer_class, cell_class, options
):
    # The layer takes every argument of its cell, reads it back as an
    # attribute and writes it into its config, so that a saved layer comes
    # back with the cell it had.
    names = cell_arguments(cell_class)
    assert set(names) == OWN_ARGUMENTS[cell_class] | SLOW_WEIGHT_ARGUMENTS
    layer = layer_class(8, **options)
    for name, value in options.items():
        assert getattr(layer.cell, name) == value, name
    config = layer.get_config()
    cell_config = layer.cell.get_config()
    for name in names:
        assert name in config, name
        assert config[name] == cell_config[name], name
        assert getattr(layer, name) is getattr(layer.cell, name), name
        assert name in dir(layer), name
    for name, value in options.items():
        if isinstance(value, (int, float, bool)):
            assert config[name] == value
    copy = layer_class.from_config(config)
    assert copy.cell.get_config() == cell_config
    assert keras.saving.serialize_keras_object(copy)["config"] == config


@pytest.mark.parametrize("layer_class", [FastWeightsRNN, AssociativeLSTM])
def test_layer_refuses_an_unknown_argument(layer_class):
    # Keras's own check of a layer's keyword arguments.
    with pytest.raises(ValueError, match="'decay': 0.9"):
        layer_class(8, decay=0.9)
    with pytest.raises(AttributeError, match="'decay'"):
        layer_class(8).decay
