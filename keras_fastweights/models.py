"""The models that Ba et al. (2016) compare on associative retrieval.

*Using Fast Weights to Attend to the Recent Past*, section 4.1,
https://arxiv.org/abs/1610.06258
"""

import keras

from keras_fastweights.datasets import associative_retrieval
from keras_fastweights.layers.associative_lstm import AssociativeLSTM
from keras_fastweights.layers.fast_weights_rnn import FastWeightsRNN
from keras_fastweights.layers.fast_weights_rnn_cell import UPDATE_RULES
from keras_fastweights.validation import check_float
from keras_fastweights.validation import check_int
from keras_fastweights.validation import check_positive

MODEL_KINDS = ("fast_weights", "irnn", "lstm", "associative_lstm")
# The rows of Table 1 of Ba et al. (2016), as the paper names them.
PAPER_NAMES = {
    "fast_weights": "Fast weights",
    "irnn": "IRNN",
    "lstm": "LSTM",
    "associative_lstm": "A-LSTM",
}
# The Associative LSTM's copies of its memory (Danihelka et al. 2016 use up
# to 8; Ba et al. do not say how many their A-LSTM had).
ASSOCIATIVE_LSTM_COPIES = 4


def _recurrent_layer(model, units, seed, update_rule, fast_weights_options):
    if model == "fast_weights":
        # The cell's defaults are the paper's: λ=0.95, η=0.5, S=1, with LN.
        options = dict(fast_weights_options or {})
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
    timesteps: int | None = None,
    update_rule: str = "hebbian",
    clipnorm: float | None = None,
    jit_compile: bool | str = "auto",
    fast_weights_options: dict | None = None,
    name: str | None = None,
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
        fast_weights_options: For `model="fast_weights"`, optional further
            arguments of `FastWeightsRNN` that change the paper's layer,
            e.g. `{"decay_rate": 0.5}`, `{"inner_steps": 2}` or
            `{"use_layer_norm": False}`; at a given `seed` the layer starts
            from the paper's layer's weights (less those an option removes).
        name: Optional name of the model; default `f"{model}_{units}"`,
            with `f"_{update_rule}"` for the delta rule.

    Returns:
        A compiled `keras.Model` that maps int token ids of shape
        `(batch, timesteps)` to logits of shape `(batch, 10)`.

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
    if update_rule not in UPDATE_RULES or (
        update_rule != "hebbian" and model != "fast_weights"
    ):
        raise ValueError(
            f"`update_rule` must be one of {UPDATE_RULES}, and 'hebbian' "
            "unless model='fast_weights'. Received: "
            f"update_rule={update_rule!r} for model={model!r}"
        )
    if fast_weights_options and model != "fast_weights":
        raise ValueError(
            "`fast_weights_options` are arguments of FastWeightsRNN, for "
            "model='fast_weights' only. Received: fast_weights_options="
            f"{fast_weights_options!r} for model={model!r}"
        )
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
    recurrent = _recurrent_layer(
        model, units, seed, update_rule, fast_weights_options
    )
    x = recurrent(x)
    x = keras.layers.Dense(hidden_dim, activation="relu", name="hidden")(x)
    logits = keras.layers.Dense(
        associative_retrieval.NUM_CLASSES, name="logits"
    )(x)
    if name is None:
        name = f"{model}_{units}"
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


# The sequence mixers of `build_mqar_model`: the fast memory's two update
# rules, and Zoology's baselines at the two ends of recall (Arora et al.,
# 2023): the LSTM and causal attention.
MQAR_MIXERS = ("attention", "hebbian", "delta", "lstm")


def _mqar_mixer(mixer, d_model, name):
    if mixer == "attention":
        return keras.layers.MultiHeadAttention(
            num_heads=1, key_dim=d_model, name=name
        )
    if mixer == "lstm":
        return keras.layers.LSTM(d_model, return_sequences=True, name=name)
    return FastWeightsRNN(
        d_model, update_rule=mixer, return_sequences=True, name=name
    )


def build_mqar_model(
    mixer: str,
    d_model: int,
    sequence_length: int,
    vocab_size: int,
    learning_rate: float = 1e-3,
    weight_decay: float = 0.1,
    num_layers: int = 2,
    seed: int | None = None,
    jit_compile: bool | str = "auto",
) -> keras.Model:
    """Builds and compiles a Zoology model for multi-query associative
    recall (`keras_fastweights.datasets.mqar`).

    Zoology's shape (Arora et al., 2023, https://arxiv.org/abs/2312.04927):
    a token embedding of width `d_model`, `num_layers` sequence-mixing
    blocks `x + mixer(LayerNorm(x))` (pre-norm, no MLP), a final layer
    norm and a dense read-out over the vocabulary. The mixers, by `mixer`:

    - `"hebbian"`: `FastWeightsRNN(d_model, return_sequences=True)`, the
      paper's fast weights;
    - `"delta"`: the same with `update_rule="delta"`;
    - `"lstm"`: `keras.layers.LSTM(d_model, return_sequences=True)`;
    - `"attention"`: causal `keras.layers.MultiHeadAttention` with one head
      of width `d_model`, with a learned position embedding added to the
      token embedding (the recurrent mixers know the order already).

    The read-out runs only at the positions the model is given: an answer
    is due at `sequence_length / 4` positions at most, and a read-out over
    thousands of tokens at every position would take most of the time.
    Trained on `mqar.model_inputs(inputs, targets)` (the tokens, the
    queries' positions and their answers), every output is an answer, so
    the loss and the accuracy count the answers only, exactly as a loss and
    an accuracy over every position that skip `mqar.IGNORE_CLASS` would.

    Compiled with AdamW (`learning_rate`, `weight_decay`, Zoology's
    optimizer), sparse categorical cross-entropy on the logits, and
    accuracy.

    Args:
        mixer: One of `MQAR_MIXERS`: `"attention"`, `"hebbian"`, `"delta"`,
            `"lstm"`.
        d_model: Positive integer, the width d of the embedding and of
            every mixer.
        sequence_length: Positive integer, the length T of the sequences.
        vocab_size: Integer >= 2, the number of token ids.
        learning_rate: Positive float, AdamW's learning rate.
        weight_decay: Non-negative float, AdamW's weight decay.
        num_layers: Positive integer, the number of mixing blocks (2,
            Zoology's).
        seed: Optional integer >= 0. If given, `keras.utils.set_random_seed`
            is called with it first: it fixes the initial weights and the
            randomness that follows (the shuffling of `model.fit`).
        jit_compile: `Model.compile`'s `jit_compile`.

    Returns:
        A compiled `keras.Model` named `f"mqar_{mixer}_d{d_model}"` with
        two inputs, `"tokens"` (int token ids of shape `(batch,
        sequence_length)`) and `"positions"` (int positions in `[0,
        sequence_length)` of shape `(batch, num_positions)`), and logits of
        shape `(batch, num_positions, vocab_size)`: the prediction of the
        token after each given position. The mixing layers are named
        `"mixer_1"`, `"mixer_2"`, ...

    Example:

    >>> from keras_fastweights.datasets import mqar
    >>> inputs, targets = mqar.generate(8, 16, 2, vocab_size=32)
    >>> x, y = mqar.model_inputs(inputs, targets)
    >>> model = build_mqar_model("delta", 8, 16, 32)
    >>> model.name, model.output_shape
    ('mqar_delta_d8', (None, None, 32))
    >>> tuple(model(x).shape)
    (8, 2, 32)
    """
    if mixer not in MQAR_MIXERS:
        raise ValueError(
            f"`mixer` must be one of {MQAR_MIXERS}. Received: mixer={mixer!r}"
        )
    d_model = check_int("d_model", d_model, 1)
    sequence_length = check_int("sequence_length", sequence_length, 1)
    vocab_size = check_int("vocab_size", vocab_size, 2)
    learning_rate = check_positive("learning_rate", learning_rate)
    weight_decay = check_float("weight_decay", weight_decay, 0.0)
    num_layers = check_int("num_layers", num_layers, 1)
    if seed is not None:
        seed = check_int("seed", seed, 0)
        keras.utils.set_random_seed(seed)

    tokens = keras.Input(shape=(sequence_length,), dtype="int32", name="tokens")
    positions = keras.Input(shape=(None,), dtype="int32", name="positions")
    x = keras.layers.Embedding(vocab_size, d_model, name="embedding")(tokens)
    if mixer == "attention":
        # 0, 1, ..., T - 1 for every sequence, from the tokens' shape.
        steps = keras.ops.cumsum(keras.ops.ones_like(tokens), axis=1) - 1
        where = keras.layers.Embedding(
            sequence_length, d_model, name="position_embedding"
        )(steps)
        x = keras.layers.Add(name="embedding_and_position")([x, where])
    for block in range(1, num_layers + 1):
        y = keras.layers.LayerNormalization(name=f"norm_{block}")(x)
        layer = _mqar_mixer(mixer, d_model, name=f"mixer_{block}")
        if mixer == "attention":
            y = layer(y, y, use_causal_mask=True)
        else:
            y = layer(y)
        x = keras.layers.Add(name=f"residual_{block}")([x, y])
    # The final norm and the read-out act on each position alone: gathering
    # the asked positions first gives the same logits there.
    x = keras.ops.take_along_axis(
        x, keras.ops.expand_dims(positions, -1), axis=1
    )
    x = keras.layers.LayerNormalization(name="final_norm")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    model = keras.Model(
        {"tokens": tokens, "positions": positions},
        logits,
        name=f"mqar_{mixer}_d{d_model}",
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate, weight_decay=weight_decay
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=jit_compile,
    )
    return model
