"""examples/associative_retrieval.py, end to end on tiny data."""

import csv
import importlib.util
import os
import re

import keras
import pytest
from scripts import ROOT
from scripts import run_script

from keras_fastweights import training
from keras_fastweights.datasets import associative_retrieval

EXAMPLE = "examples/associative_retrieval.py"
SCRIPT = os.path.join(ROOT, EXAMPLE)
# Tiny data, and a run that the grid search makes too (seed 2).
SETTINGS = [
    *("--units", "8", "--epochs", "2", "--num-train", "256"),
    *("--num-val", "64", "--num-test", "64", "--data-seed", "1"),
]
EXAMPLE_LINE = re.compile(
    r"^  ([a-z0-9?]+) -> (\d)  \(target (\d), (ok|WRONG)\)$", re.MULTILINE
)
FINAL_LINE = re.compile(
    r"^test error: (\d+\.\d\d) %  \(fast_weights, R=8, seed 2, "
    r"best epoch [12] of 2, \d+ s\)$"
)


@pytest.fixture(scope="module")
def example():
    """The script as a module, to call its `main` in this process."""
    spec = importlib.util.spec_from_file_location("example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_end_to_end(output_dir):
    """Runs the example at learning rate 0.003 and seed 2 with SETTINGS,
    writing into `output_dir`; returns its standard output."""
    args = ["--learning-rate", "0.003", "--seed", "2"]
    args += ["--output-dir", output_dir, *SETTINGS]
    result = run_script(EXAMPLE, args, timeout=540)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_runs_end_to_end(tmp_path):
    """The example trains, prints one line an epoch and decoded test
    sequences, and saves the history, its plot and the evaluated model."""
    output_dir = tmp_path / "run"
    stdout = run_end_to_end(output_dir)

    # Into a pipe, Keras's one line an epoch (`--verbose auto`), not its
    # per-batch progress bar; then five decoded test sequences that follow
    # the task's rule, then the final line.
    assert re.search(r"^2/2 - \d+s", stdout, re.MULTILINE), stdout[:500]
    assert "━" not in stdout, stdout[:500]
    examples = EXAMPLE_LINE.findall(stdout)
    assert len(examples) == 5
    for text, answer, target, mark in examples:
        keys, digits, query = text[0:-3:2], text[1:-3:2], text[-1]
        assert len(text) == 11 and text[-3:-1] == "??"
        assert target == digits[keys.index(query)]
        assert mark == ("ok" if answer == target else "WRONG")
    final = FINAL_LINE.match(stdout.strip().splitlines()[-1])
    assert final, stdout[-500:]

    assert sorted(os.listdir(output_dir)) == [
        "history.csv",
        "history.png",
        "model.keras",
    ]
    with open(output_dir / "history.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 2
    assert {
        "epoch",
        "accuracy",
        "loss",
        "val_accuracy",
        "val_loss",
        "test_accuracy",
        "test_loss",
    } <= set(rows[0])
    with open(output_dir / "history.png", "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"

    # The saved model is the evaluated one: it reproduces the printed error.
    model = keras.saving.load_model(output_dir / "model.keras")
    assert model.name == "fast_weights_8"
    _, _, (x_test, y_test) = associative_retrieval.load_data(
        num_train=256, num_val=64, num_test=64, seed=1
    )
    error = training.error_percent(model, x_test, y_test)
    assert f"{error:.2f}" == final.group(1)


def run_example(tmp_path, name, devices, *flags):
    """Runs the example in a process that sees `devices` CPU devices (JAX);
    returns its history.csv."""
    env = {
        "KERAS_BACKEND": "jax",
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
    }
    args = [*SETTINGS, "--epochs", "1", "--batch-size", "32"]
    args += ["--output-dir", tmp_path / name, *flags]
    result = run_script(EXAMPLE, args, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout, training.read_history(tmp_path / name / "history.csv")


@pytest.mark.backend_independent
def test_data_parallel_matches_one_device(tmp_path):
    """`--data-parallel` on two (virtual) devices trains as one device does
    with the same global batch: the same losses of the first steps (an
    epoch of 8 batches), to float rounding."""
    _, single = run_example(tmp_path, "single", 1)
    stdout, parallel = run_example(tmp_path, "parallel", 2, "--data-parallel")
    assert "Data parallel over 2 devices" in stdout
    assert set(single) == set(parallel)
    for name in ("loss", "accuracy", "val_loss", "test_loss"):
        assert parallel[name] == pytest.approx(single[name], rel=1e-5), name


@pytest.mark.backend_independent
def test_help_lists_every_flag(example, capsys):
    with pytest.raises(SystemExit) as exit_info:
        example.main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for flag in (
        "--model",
        "--units",
        "--learning-rate",
        "--epochs",
        "--batch-size",
        "--num-pairs",
        "--num-train",
        "--num-val",
        "--num-test",
        "--data-seed",
        "--seed",
        "--update-rule",
        "--clipnorm",
        "--data-parallel",
        "--output-dir",
    ):
        assert flag in help_text


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "argv, mentioned",
    [
        (["--units", "-5"], "'-5'"),
        (["--units", "ten"], "'ten'"),
        (["--learning-rate", "0"], "'0'"),
        (["--epochs", "0"], "'0'"),
        (["--batch-size", "1.5"], "'1.5'"),
        (["--num-train", "-100"], "'-100'"),
        (["--seed", "-1"], "'-1'"),
        (["--data-seed", "x"], "'x'"),
        (["--model", "gru"], "'gru'"),
        (["--num-pairs", "27"], "num_pairs=27"),
        (["--frobnicate"], "--frobnicate"),
    ],
)
def test_invalid_flags_give_a_one_line_error(argv, mentioned, example, capsys):
    with pytest.raises(SystemExit) as exit_info:
        example.main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("associative_retrieval.py: error:")
    assert mentioned in lines[0]


@pytest.mark.backend_independent
def test_output_dir_that_is_a_file_gives_a_one_line_error(
    example, capsys, tmp_path
):
    path = tmp_path / "taken"
    path.write_text("")
    argv = ["--output-dir", str(path / "run"), "--model", "lstm"]
    argv += ["--num-train", "10", "--num-val", "10", "--num-test", "10"]
    with pytest.raises(SystemExit) as exit_info:
        example.main(argv)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and str(path) in lines[0]
