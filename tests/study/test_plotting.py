"""The study's figures: fastweights_study.plotting."""

import numpy as np
import pytest
from fastweights_study import analysis
from fastweights_study import plotting
from fastweights_study.plotting import plot_attention

# Data and tables: .ci/run runs these on one backend (pyproject.toml).
pytestmark = pytest.mark.backend_independent


def test_figure2_plots_the_mean_and_range_of_the_seeds(tmp_path):
    seeds = [
        {"test_loss": [2.3, 1.0, 0.1], "test_accuracy": [0.1, 0.6, 0.99]},
        {"test_loss": [2.1, 0.8, 0.3], "test_accuracy": [0.3, 0.8, 0.97]},
    ]
    path = tmp_path / "figure2.png"
    figure = plotting.plot_figure2({"a": seeds}, path, updates_per_epoch=10)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    likelihood, error = figure.axes
    x, y = likelihood.lines[0].get_data()
    np.testing.assert_array_equal(x, [10, 20, 30])
    np.testing.assert_allclose(y, [-2.2, -0.9, -0.2])
    np.testing.assert_allclose(error.lines[0].get_data()[1], [80, 30, 2])
    assert likelihood.lines[0].get_label() == "a (2 seeds)"
    # The band spans the seeds: its vertices include both extremes.
    band = likelihood.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(-2.3) and band.max() == pytest.approx(
        -0.1
    )


def test_validation_curves_with_a_reference_line(tmp_path):
    path = tmp_path / "plateau.png"
    history = {"val_accuracy": [0.38, 0.39]}
    figure = plotting.plot_validation_curves(
        {"run": history}, path, updates_per_epoch=5, reference=61.6
    )
    (axes,) = figure.axes
    np.testing.assert_allclose(axes.lines[0].get_data()[1], [62, 61])
    np.testing.assert_allclose(axes.lines[1].get_data()[1], [61.6, 61.6])


def test_memory_causal_figure_has_a_bar_per_removal(tmp_path):
    rows = [
        {"removed": "nothing", "change": 0.0, "standard_error": 0.0},
        {"removed": "queried value", "change": -0.78, "standard_error": 0.01},
        {"removed": "other key", "change": -0.001, "standard_error": 0.002},
    ]
    path = tmp_path / "causal.png"
    figure = plotting.plot_memory_causal(rows, path, title="t")
    (axes,) = figure.axes
    widths = [patch.get_width() for patch in axes.patches]
    np.testing.assert_allclose(widths, [-0.78, -0.001])
    assert [label.get_text() for label in axes.get_yticklabels()] == [
        "queried value",
        "other key",
    ]
    assert path.stat().st_size > 0


def test_errors_by_queried_pair_figure_has_a_panel_per_model(tmp_path):
    errors = {
        "Fast weights": {2: [0.1, 0.0], 4: [0.5, 0.2, 0.3, 0.1]},
        "LSTM": {4: [3.0, 2.5, 3.5, 2.0]},
    }
    path = tmp_path / "by_pair.png"
    figure = plotting.plot_errors_by_queried_pair(errors, path, title="t")
    assert path.read_bytes()[:4] == b"\x89PNG"
    panels = figure.get_axes()
    assert [axes.get_title() for axes in panels] == ["Fast weights", "LSTM"]
    lines = panels[0].get_lines()
    assert [line.get_label() for line in lines] == ["K = 2", "K = 4"]
    assert list(lines[1].get_xdata()) == [1, 2, 3, 4]
    assert list(lines[1].get_ydata()) == errors["Fast weights"][4]


def test_ablation_figure_draws_each_seed_and_the_mean(tmp_path):
    errors = {"paper": [0.5, 1.5, 4.0], "no_layer_norm": [60.0, 62.0, 10.0]}
    curves = {
        "paper": [{"val_accuracy": [0.4, 0.9]}, {"val_accuracy": [0.6, 0.7]}],
        "no_layer_norm": [{"val_accuracy": [0.3, 0.4, 0.5]}],
    }
    path = tmp_path / "ablation.png"
    figure = plotting.plot_ablation(
        errors, path, curves=curves, updates_per_epoch=10, reference=61.6
    )
    assert path.stat().st_size > 0
    error_axes, curve_axes = figure.axes
    lines = {line.get_label(): line for line in error_axes.lines}
    for position, (variant, values) in enumerate(errors.items()):
        x, y = lines[f"{variant}: seeds"].get_data()
        np.testing.assert_allclose(y, values)
        np.testing.assert_allclose(np.round(x), position)
        x, y = lines[f"{variant}: mean"].get_data()
        np.testing.assert_allclose(y, [np.mean(values)])
    bold = [
        label.get_text()
        for label in error_axes.get_xticklabels()
        if label.get_fontweight() == "bold"
    ]
    assert bold == ["paper"]
    curves_drawn = {line.get_label(): line for line in curve_axes.lines}
    x, y = curves_drawn["paper"].get_data()
    np.testing.assert_allclose(x, [10, 20])
    np.testing.assert_allclose(y, [50, 20])
    assert curves_drawn["paper"].get_linewidth() > (
        curves_drawn["no_layer_norm"].get_linewidth()
    )
    np.testing.assert_allclose(
        curves_drawn["key-blind error"].get_data()[1], [61.6, 61.6]
    )


def test_capacity_figure_draws_the_means_seeds_and_key_blind_curve(tmp_path):
    errors = {"Fast weights": {2: [0.1], 4: [0.2, 0.4]}, "LSTM": {4: [3.0]}}
    reference = {k: 100 * analysis.key_blind_bayes(k)[0] for k in (2, 3, 4)}
    path = tmp_path / "capacity.png"
    figure = plotting.plot_capacity(errors, path, reference=reference)
    (axes,) = figure.axes
    lines = {line.get_label(): line.get_data() for line in axes.lines}
    np.testing.assert_allclose(lines["Fast weights"][0], [2, 4])
    np.testing.assert_allclose(lines["Fast weights"][1], [0.1, 0.3])
    np.testing.assert_allclose(lines["Fast weights: seeds"][1], [0.1, 0.2, 0.4])
    np.testing.assert_allclose(lines["LSTM"][1], [3.0])
    np.testing.assert_allclose(lines["key-blind error"][0], [2, 3, 4])
    np.testing.assert_allclose(
        lines["key-blind error"][1], list(reference.values())
    )
    assert [t.get_text() for t in axes.get_legend().get_texts()] == [
        "Fast weights",
        "LSTM",
        "key-blind error",
    ]


def test_plot_attention_writes_a_png(tmp_path):
    tokens = list("c9k8j3f1??c")
    weights = np.tril(np.random.default_rng(8).random((11, 11)), k=-1)
    path = tmp_path / "attention.png"
    plot_attention(weights, tokens, path, title="query 'c'")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"\(11, 11\) and 10 tokens"):
        plot_attention(weights, tokens[:-1], tmp_path / "bad.png")


def test_lr_sensitivity_figure_has_a_panel_per_r_and_marks_the_choices(
    tmp_path,
):
    def row(units, rate, errors, seed_0=False, mean=False):
        return {
            "model": "fast_weights",
            "units": units,
            "learning_rate": rate,
            "test_errors": " ".join(str(e) for e in errors),
            "test_error_mean": float(np.mean(errors)),
            "test_error_min": min(errors),
            "test_error_max": max(errors),
            "chosen_on_seed_0": seed_0,
            "chosen_on_mean": mean,
        }

    rows = [
        row(50, 1e-3, [0.1, 0.3], mean=True),
        row(20, 1e-3, [2.0, 4.0, 6.0], seed_0=True, mean=True),
        row(20, 3e-3, [1.0, 9.0, 20.0]),
        row(50, 3e-4, [0.5, 0.7], seed_0=True),
    ]
    path = tmp_path / "lr_sensitivity.png"
    figure = plotting.plot_lr_sensitivity(rows, path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    left, right = figure.axes
    assert (left.get_title(), right.get_title()) == ("R = 20", "R = 50")
    means = left.lines[0]
    assert means.get_label() == "Fast weights"
    np.testing.assert_allclose(means.get_data()[0], [1e-3, 3e-3])
    np.testing.assert_allclose(means.get_data()[1], [4.0, 10.0])
    # The band spans each rate's seeds.
    band = left.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(1.0) and band.max() == pytest.approx(20)
    star, square = (
        next(line for line in axes.lines if line.get_marker() == marker)
        for axes, marker in ((right, "*"), (right, "s"))
    )
    assert list(star.get_data()[0]) == [3e-4]
    assert list(square.get_data()[0]) == [1e-3]
