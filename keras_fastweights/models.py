"""The models that Ba et al. (2016) compare on associative retrieval.

*Using Fast Weights to Attend to the Recent Past*, section 4.1,
https://arxiv.org/abs/1610.06258
"""

import keras

from keras_fastweights._validation import check_float
from keras_fastweights._validation import check_int
from keras_fastweights._validation import check_positive
from keras_fastweights.datasets import associative_retrieval
from keras_fastweights.layers.associative_lstm import AssociativeLSTM
from keras_fastweights.layers.fast_weights_rnn import FastWeightsRNN

MODEL_KINDS = ("fast_weights", "irnn", "lstm", "associative_lstm")
# The rows of Table 1 of Ba et al. (2016), as the paper names them.
PAPER_NAMES = {
    "fast_weights": "Fast weights",
    "irnn": "IRNN",
    "lstm": "LSTM",
    "associative_lstm": "A-LSTM",
}
# The ablation study's variants of the fast-weights layer (docs/method.md, §13):
# each changes the paper's configuration in one way.
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
# The fast memory's update rules (`FastWeightsRNN(update_rule=...)`): the
# paper's Hebbian outer product, or the delta rule.
UPDATE_RULES = ("hebbian", "delta")
# The Associative LSTM's copies of its memory (Danihelka et al. 2016 use up
# to 8; Ba et al. do not say how many their A-LSTM had).
ASSOCIATIVE_LSTM_COPIES = 4


# The options of `build_retrieval_model` that only fast weights take: their
# values, the first being the paper's (which every model takes).
FAST_WEIGHTS_OPTIONS = {
    "variant": tuple(FAST_WEIGHTS_VARIANTS),
    "update_rule": UPDATE_RULES,
}


def check_fast_weights_option(name: str, value, model) -> None:
    """Checks `variant` or `update_rule` (`FAST_WEIGHTS_OPTIONS`) for
    `model` (a kind, or a list of kinds, as a grid has them): another value
    than the paper's needs fast weights.

    Raises:
        ValueError: naming the value and the model.
    """
    choices = FAST_WEIGHTS_OPTIONS[name]
    if value not in choices or (
        value != choices[0] and model not in ("fast_weights", ["fast_weights"])
    ):
        raise ValueError(
            f"`{name}` must be one of {choices}, and {choices[0]!r} unless "
            f"the model is fast_weights only. Received: {name}={value!r} for "
            f"model={model!r}"
        )


def _recurrent_layer(model, units, seed, variant, update_rule):
    if model == "fast_weights":
        # The cell's defaults are the paper's: λ=0.95, η=0.5, S=1, with LN.
        options = dict(FAST_WEIGHTS_VARIANTS[variant])
        if update_rule != "hebbian":
            options["update_rule"] = update_rule
        return FastWeightsRNN(units, name="recurrent", **options)
    if model == "irnn":
        # Le et al. (2015): ReLU units with an identity recurrent matrix.
        return keras.layers.SimpleRNN(
            units,
            activation="relu",
            recurrent_initializer=keras.initializers.Identity(),
            name="recurrent",
        )
    if model == "associative_lstm":
        return AssociativeLSTM(
            units,
            num_copies=ASSOCIATIVE_LSTM_COPIES,
            permutation_seed=seed or 0,
            # The sequences are short (2 K + 3 steps): unrolled, its many
            # small per-step operations train ~25 % faster on a CPU.
            unroll=True,
            name="recurrent",
        )
    return keras.layers.LSTM(units, name="recurrent")


def build_retrieval_model(
    model: str,
    units: int,
    learning_rate: float = 1e-3,
    num_pairs: int = 4,
    embedding_dim: int = 100,
    hidden_dim: int = 100,
    seed: int | None = None,
    variant: str = "paper",
    timesteps: int | None = None,
    update_rule: str = "hebbian",
    clipnorm: float | None = None,
    jit_compile: bool | str = "auto",
) -> keras.Model:
    """Builds and compiles one of the paper's associative retrieval models.

    The architecture of section 4.1: token ids → `Embedding(37, 100)` →
    recurrent layer with `units` (R) hidden units → `Dense(100, "relu")` →
    `Dense(10)` logits over the answer digit. It is compiled with Adam,
    sparse categorical cross-entropy on the logits, and accuracy.

    The recurrent layer is named `"recurrent"` and is, by `model`:

    - `"fast_weights"`: `FastWeightsRNN(units)`, i.e.
      `keras.layers.RNN(FastWeightsRNNCell(units))` with the paper's
      λ=0.95, η=0.5, one inner step and layer normalization;
    - `"irnn"`: `keras.layers.SimpleRNN(units, activation="relu")` with an
      identity recurrent initializer (Le et al., 2015);
    - `"lstm"`: `keras.layers.LSTM(units)`;
    - `"associative_lstm"`: `AssociativeLSTM(units)` (Danihelka et al.,
      2016) with `ASSOCIATIVE_LSTM_COPIES` copies of its memory, Table 1's
      A-LSTM.

    Args:
        model: One of `MODEL_KINDS`: `"fast_weights"`, `"irnn"`, `"lstm"`,
            `"associative_lstm"`.
        units: Positive integer, the number R of recurrent hidden units.
        learning_rate: Positive float, Adam's learning rate.
        num_pairs: Integer from 1 to 26, the number of key-value pairs of
            the sequences, which fixes their length `2 * num_pairs + 3`.
        embedding_dim: Positive integer, the size of the token embedding.
        hidden_dim: Positive integer, the number of ReLU units between the
            recurrent layer and the logits.
        seed: Optional integer >= 0. If given, `keras.utils.set_random_seed`
            is called with it before the weights are created: it fixes
            the initial weights, the Associative LSTM's permutations, and
            the randomness that follows in the process (the shuffling of
            `model.fit`), so that a run repeats.
        variant: For `model="fast_weights"`, one of `FAST_WEIGHTS_VARIANTS`:
            `"paper"` (default), or the paper's layer with one change, for
            the ablation study: `"no_fast_memory"` (η = 0: a
            layer-normalized IRNN with the same `W` init), `"no_layer_norm"`,
            `"inner_steps_2"`, `"inner_steps_3"`, `"decay_0.5"`,
            `"decay_0.9"`, `"decay_1.0"`.
        timesteps: Optional positive integer, the length of the input
            sequences, for the same model on other sequences (benchmarks of
            long sequences); default `2 * num_pairs + 3`.
        update_rule: For `model="fast_weights"`, the fast memory's update,
            one of `UPDATE_RULES`: `"hebbian"` (default, the paper's) or
            `"delta"` (`FastWeightsRNN(update_rule=...)`).
        clipnorm: Optional non-negative float: Adam clips the global norm
            of the gradients to it (`global_clipnorm`); `None` or 0, no
            clipping (the paper states none).
        jit_compile: `Model.compile`'s `jit_compile`: `"auto"` (default:
            XLA on JAX, none on a TensorFlow CPU, eager on torch), `True`
            (XLA on TensorFlow, `torch.compile` on torch) or `False`.

    Returns:
        A compiled `keras.Model` named `f"{model}_{units}"` (with
        `f"_{variant}"` for a variant other than the paper's) that maps int
        token ids of shape `(batch, timesteps)` to logits of shape
        `(batch, 10)`.

    Example:

    >>> model = build_retrieval_model("fast_weights", 20)
    >>> model.name, model.output_shape
    ('fast_weights_20', (None, 10))
    >>> type(model.get_layer("recurrent")).__name__
    'FastWeightsRNN'
    """
    if model not in MODEL_KINDS:
        raise ValueError(
            f"`model` must be one of {MODEL_KINDS}. Received: model={model!r}"
        )
    check_fast_weights_option("variant", variant, model)
    check_fast_weights_option("update_rule", update_rule, model)
    if clipnorm is not None:
        clipnorm = check_float("clipnorm", clipnorm, 0.0) or None
    units = check_int("units", units, 1)
    learning_rate = check_positive("learning_rate", learning_rate)
    length = associative_retrieval.sequence_length(num_pairs)
    if timesteps is not None:
        length = check_int("timesteps", timesteps, 1)
    embedding_dim = check_int("embedding_dim", embedding_dim, 1)
    hidden_dim = check_int("hidden_dim", hidden_dim, 1)
    if seed is not None:
        seed = check_int("seed", seed, 0)
        keras.utils.set_random_seed(seed)

    tokens = keras.Input(shape=(length,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(
        associative_retrieval.VOCABULARY_SIZE, embedding_dim, name="embedding"
    )(tokens)
    x = _recurrent_layer(model, units, seed, variant, update_rule)(x)
    x = keras.layers.Dense(hidden_dim, activation="relu", name="hidden")(x)
    logits = keras.layers.Dense(
        associative_retrieval.NUM_CLASSES, name="logits"
    )(x)
    name = f"{model}_{units}" + ("" if variant == "paper" else f"_{variant}")
    name += "" if update_rule == "hebbian" else f"_{update_rule}"
    retrieval_model = keras.Model(tokens, logits, name=name)
    retrieval_model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate, global_clipnorm=clipnorm
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return retrieval_model
