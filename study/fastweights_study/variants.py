"""The ablation study's variants of the fast-weights layer (docs/method.md,
§13): the paper's layer, and layers that each change it in one way, as
the grid search's `--variants` axis names and builds them.

Example:

>>> model = build_variant_model("fast_weights", 20, variant="decay_0.5")
>>> model.name, model.get_layer("recurrent").cell.decay_rate
('fast_weights_20_decay_0.5', 0.5)
"""

from collections.abc import Sequence

import keras

from keras_fastweights import models

# Each variant's arguments of `FastWeightsRNN`: what it changes in the
# paper's layer (λ = 0.95, η = 0.5, S = 1, with layer normalization).
FAST_WEIGHTS_VARIANTS = {
    "paper": {},
    "no_fast_memory": {"fast_learning_rate": 0.0},
    "no_layer_norm": {"use_layer_norm": False},
    "inner_steps_2": {"inner_steps": 2},
    "inner_steps_3": {"inner_steps": 3},
    "decay_0.5": {"decay_rate": 0.5},
    "decay_0.9": {"decay_rate": 0.9},
    "decay_1.0": {"decay_rate": 1.0},
}
# The grid's axes that only fast weights take: their values, the first
# being the paper's (which every model takes).
FAST_WEIGHTS_AXES = {
    "variant": tuple(FAST_WEIGHTS_VARIANTS),
    "update_rule": models.UPDATE_RULES,
}


def check_fast_weights_axis(name: str, value, model: str | Sequence[str]):
    """Checks a value of `variant` or `update_rule` (`FAST_WEIGHTS_AXES`)
    for `model` (a kind, or a grid's list of kinds): another value than
    the paper's needs fast weights only.

    Raises:
        ValueError: naming the value and the model.
    """
    choices = FAST_WEIGHTS_AXES[name]
    if value not in choices or (
        value != choices[0] and model not in ("fast_weights", ["fast_weights"])
    ):
        raise ValueError(
            f"`{name}` must be one of {choices}, and {choices[0]!r} unless "
            f"the model is fast_weights only. Received: {name}={value!r} for "
            f"model={model!r}"
        )


def build_variant_model(
    model: str, units: int, variant: str = "paper", **kwargs
) -> keras.Model:
    """`keras_fastweights.models.build_retrieval_model` with the layer of
    one of `FAST_WEIGHTS_VARIANTS` (for `model="fast_weights"`; the
    paper's for every model).

    At the same `seed` a variant starts from the paper's layer's weights
    (all but the layer-norm gain and bias that `no_layer_norm` lacks) and
    leaves the random generators as the paper's layer does, so that runs of
    one seed differ only by the variant. The model is named
    `f"{model}_{units}_{variant}"` (with `f"_{update_rule}"` for the delta
    rule) for a variant other than the paper's.

    Args:
        model: One of `models.MODEL_KINDS`.
        units: The number R of recurrent hidden units.
        variant: One of `FAST_WEIGHTS_VARIANTS`; `"paper"` (default) for
            every model but fast weights.
        **kwargs: Other arguments of `build_retrieval_model`.

    Raises:
        ValueError: for an unknown variant, or a variant other than the
            paper's of another model; the message names both.
    """
    check_fast_weights_axis("variant", variant, model)
    if variant != "paper":
        rule = kwargs.get("update_rule", "hebbian")
        kwargs["name"] = f"{model}_{units}_{variant}" + (
            "" if rule == "hebbian" else f"_{rule}"
        )
    return models.build_retrieval_model(
        model,
        units,
        fast_weights_options=FAST_WEIGHTS_VARIANTS[variant],
        **kwargs,
    )
