"""examples/mqar.py, end to end on tiny data."""

import csv
import importlib.util
import os
import re

import keras
import pytest
from scripts import ROOT

from keras_fastweights import models
from keras_fastweights.datasets import mqar

SCRIPT = os.path.join(ROOT, "examples", "mqar.py")
# Tiny data: 2 pairs in 8 tokens over 16 token ids, one epoch.
SETTINGS = [
    *("--sequence-length", "8", "--num-pairs", "2", "--vocab-size", "16"),
    *("--d-model", "4", "--num-train", "64", "--num-test", "32"),
    *("--epochs", "1", "--batch-size", "32", "--data-seed", "1"),
]
FINAL_LINE = re.compile(
    r"^test accuracy: (\d\.\d{4})  \((\w+), T=8, K=2, d=4, seed 0, "
    r"1 epoch, \d+ s\)$"
)


@pytest.fixture(scope="module")
def example():
    """The script as a module, to call its `main` in this process."""
    spec = importlib.util.spec_from_file_location("mqar_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("mixer", models.MQAR_MIXERS)
def test_runs_end_to_end(mixer, example, capsys, tmp_path):
    """The example trains, saves the model, its history and their plot,
    and prints the test accuracy of the model it saved."""
    output_dir = tmp_path / "run"
    argv = ["--mixer", mixer, "--output-dir", str(output_dir), *SETTINGS]
    assert example.main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    final = FINAL_LINE.match(lines[-1])
    assert final, lines[-3:]
    assert final.group(2) == mixer
    assert sorted(os.listdir(output_dir)) == [
        "history.csv",
        "history.png",
        "model.keras",
    ]
    with open(output_dir / "history.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 1
    assert {"accuracy", "loss", "val_accuracy", "val_loss"} <= set(rows[0])

    # The saved model is the evaluated one: it gives the printed accuracy
    # on the test split.
    model = keras.saving.load_model(output_dir / "model.keras")
    assert model.name == f"mqar_{mixer}_d4"
    _, (x_test, y_test) = mqar.load_data(
        8, 2, num_train=64, num_test=32, vocab_size=16, seed=1
    )
    _, accuracy = model.evaluate(
        *mqar.model_inputs(x_test, y_test), batch_size=32, verbose=0
    )
    assert f"{accuracy:.4f}" == final.group(1)


def test_default_output_dir_names_the_run(
    example, capsys, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)
    assert example.main(["--mixer", "lstm", *SETTINGS]) == 0
    capsys.readouterr()
    run = tmp_path / "runs" / "mqar" / "lstm_T8_K2_d4_seed0"
    assert (run / "model.keras").is_file()


@pytest.mark.backend_independent
def test_help_lists_every_flag(example, capsys):
    with pytest.raises(SystemExit) as exit_info:
        example.main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    for flag in (
        "--mixer",
        "--d-model",
        "--sequence-length",
        "--num-pairs",
        "--vocab-size",
        "--num-train",
        "--num-test",
        "--learning-rate",
        "--epochs",
        "--batch-size",
        "--seed",
        "--data-seed",
        "--output-dir",
        "--verbose",
    ):
        assert flag in help_text


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "argv, mentioned",
    [
        (["--mixer", "gru"], "'gru'"),
        (["--d-model", "0"], "'0'"),
        (["--learning-rate", "-1"], "'-1'"),
        (["--verbose", "3"], "3"),
        (["--sequence-length", "63"], "sequence_length=63"),
        (["--num-pairs", "17"], "num_pairs=17"),
        (["--vocab-size", "64"], "vocab_size=64"),
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
    assert lines[0].startswith("mqar.py: error:")
    assert mentioned in lines[0]


def test_the_default_vocabulary_is_scaled_to_the_training(
    example, capsys, tmp_path
):
    """Without --vocab-size, each value is an answer as often over the
    training as in Zoology's (`mqar.scaled_vocab_size`)."""
    settings = SETTINGS[:4] + SETTINGS[6:]  # without --vocab-size
    argv = ["--mixer", "lstm", "--output-dir", str(tmp_path), *settings]
    argv += ["--num-train", "20000"]  # the last --num-train counts
    assert example.main(argv) == 0
    vocab = mqar.scaled_vocab_size(20_000, 1, 2, 8)
    assert vocab == 2 * round(20_000 * 2 / mqar.ZOOLOGY_ANSWERS_PER_VALUE)
    assert f"over {vocab:,} tokens" in capsys.readouterr().out
