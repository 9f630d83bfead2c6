"""The ablation's variants of the fast-weights layer:
fastweights_study.variants."""

import random

import keras
import numpy as np
import pytest
from fastweights_study.variants import FAST_WEIGHTS_VARIANTS
from fastweights_study.variants import build_variant_model

from keras_fastweights import models

UNITS = 6


@pytest.mark.parametrize("variant", sorted(FAST_WEIGHTS_VARIANTS))
def test_fast_weights_variants_change_one_setting(variant):
    def next_draws():
        # What `fit` shuffles with (NumPy on JAX and torch), and the rest.
        return (
            np.random.random(),
            random.random(),
            float(keras.random.uniform(())),
        )

    model = build_variant_model("fast_weights", UNITS, seed=0, variant=variant)
    draws = next_draws()
    cell = model.get_layer("recurrent").cell
    paper = models.build_retrieval_model("fast_weights", UNITS, seed=0)
    paper_draws = next_draws()
    paper_cell = paper.get_layer("recurrent").cell
    changed = {
        name: getattr(cell, name)
        for name in (
            "decay_rate",
            "fast_learning_rate",
            "inner_steps",
            "use_layer_norm",
        )
        if getattr(cell, name) != getattr(paper_cell, name)
    }
    assert changed == FAST_WEIGHTS_VARIANTS[variant]
    # At the same seed a variant starts from the paper's layer's weights
    # (all but the layer-norm gain and bias it may lack), and training
    # starts from the same state of the random generators, so the ablation
    # compares its runs seed by seed.
    assert draws == paper_draws
    papers = {w.path: keras.ops.convert_to_numpy(w) for w in paper.weights}
    weights = {w.path: keras.ops.convert_to_numpy(w) for w in model.weights}
    assert set(weights) <= set(papers)
    assert len(weights) >= len(papers) - 2
    for path, value in weights.items():
        np.testing.assert_array_equal(value, papers[path], err_msg=path)
    suffix = "" if variant == "paper" else f"_{variant}"
    assert model.name == f"fast_weights_{UNITS}{suffix}"


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "model, variant, match",
    [
        ("fast_weights", "no_ln", "variant='no_ln'"),
        ("lstm", "decay_0.5", "model='lstm'"),
    ],
)
def test_an_unknown_variant_or_another_model_s_is_refused(
    model, variant, match
):
    with pytest.raises(ValueError, match=match):
        build_variant_model(model, UNITS, variant=variant)


@pytest.mark.backend_independent
def test_the_paper_s_variant_is_the_library_s_model():
    for kind in models.MODEL_KINDS:
        model = build_variant_model(kind, UNITS, update_rule="hebbian")
        assert model.name == f"{kind}_{UNITS}"
    delta = build_variant_model(
        "fast_weights", UNITS, variant="inner_steps_2", update_rule="delta"
    )
    assert delta.name == f"fast_weights_{UNITS}_inner_steps_2_delta"
    assert delta.get_layer("recurrent").cell.update_rule == "delta"
