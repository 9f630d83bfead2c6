"""What the package's recurrent cells and their whole-sequence layers share.

`RecurrentCell`: the slow weights `kernel`, `recurrent_kernel` and `bias`
with their initializers, regularizers and constraints (the arguments of
`keras.layers.LSTMCell`), the check of a step's shape, and zero initial
states. `RecurrentLayer`: `keras.layers.RNN` over one such cell, built from
the layer's own arguments, as `keras.layers.LSTM` is over `LSTMCell`.
"""

import functools
import inspect
import re

import keras
from keras import ops

# The modules that get and serialize each kind of option of a slow weight.
OPTION_MODULES = {
    "initializer": keras.initializers,
    "regularizer": keras.regularizers,
    "constraint": keras.constraints,
}


class RecurrentCell(keras.layers.Layer):
    """Base of the package's cells.

    Keeps the options of the slow weights, as `keras.layers.LSTMCell` does;
    a subclass takes its own arguments, passes these on through `**kwargs`,
    sets `state_size` (the output `h` first) and `output_size`, and calls
    `build_slow_weights` in `build`.

    Args:
        use_bias: Boolean, whether the cell has the bias vector `bias`.
            Default: `True`.
        kernel_initializer: Initializer of `kernel`, applied to the inputs.
            Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer of `recurrent_kernel`, applied to
            the previous output. Default: `"orthogonal"`.
        bias_initializer: Initializer of `bias`. Default: `"zeros"`.
        kernel_regularizer, recurrent_regularizer, bias_regularizer:
            Regularizers of `kernel`, `recurrent_kernel` and `bias`.
        kernel_constraint, recurrent_constraint, bias_constraint:
            Constraints of `kernel`, `recurrent_kernel` and `bias`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.
    """

    def __init__(
        self,
        *,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(
            recurrent_initializer
        )
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(
            recurrent_regularizer
        )
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.recurrent_constraint = keras.constraints.get(recurrent_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)

    def build_slow_weights(self, input_shape, units, bias_initializer=None):
        """Checks a step's shape `(batch, features)` and creates `kernel`
        `(features, units)`, `recurrent_kernel` `(output_size, units)` and,
        with `use_bias`, `bias` `(units,)` (by `bias_initializer` if
        given, else the cell's)."""
        name = type(self).__name__
        if len(input_shape) != 2:
            raise ValueError(
                f"{name} expects sequences of shape (batch, timesteps, "
                "features), i.e. steps of shape (batch, features). "
                f"Received a step of shape {input_shape}"
            )
        if input_shape[-1] is None:
            raise ValueError(
                "The last (feature) dimension of the inputs must be known. "
                f"Received a step of shape {input_shape}"
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_shape[-1], units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(self.output_size, units),
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(units,),
                initializer=bias_initializer or self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def get_initial_state(self, batch_size=None):
        """Returns zeros of shape `(batch_size, size)` for each state."""
        return [
            ops.zeros((batch_size, size), dtype=self.compute_dtype)
            for size in self.state_size
        ]

    def get_config(self):
        config = {"use_bias": self.use_bias}
        for weight in ("kernel", "recurrent", "bias"):
            for kind, module in OPTION_MODULES.items():
                key = f"{weight}_{kind}"
                config[key] = module.serialize(getattr(self, key))
        return {**super().get_config(), **config}


# The kinds of a named argument (not `*args` or `**kwargs`).
NAMED_KINDS = (
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.KEYWORD_ONLY,
)


@functools.cache
def cell_arguments(cell_class) -> tuple[str, ...]:
    """The named arguments of a cell's constructor, its own and those of
    `RecurrentCell` that it passes on (not `**kwargs`): what its
    whole-sequence layer takes, exposes and writes into its config."""
    names = []
    for cls in cell_class.__mro__:
        if not issubclass(cls, RecurrentCell):
            break
        if "__init__" not in vars(cls):
            continue
        for parameter in inspect.signature(cls.__init__).parameters.values():
            if parameter.kind in NAMED_KINDS and parameter.name != "self":
                names.append(parameter.name)
    # A subclass may take an argument of RecurrentCell's itself.
    return tuple(dict.fromkeys(names))


def snake_case(name: str) -> str:
    """`FastWeightsRNNCell` -> `fast_weights_rnn_cell`, as Keras names a
    layer after its class."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


class RecurrentLayer(keras.layers.RNN):
    """Base of the package's whole-sequence layers: `keras.layers.RNN` over
    one cell of `cell_class`, made from the layer's arguments.

    The layer takes every argument of its cell (`cell_arguments`) by
    keyword, reads it back as an attribute (`layer.units`, as
    `keras.layers.LSTM` reads `LSTMCell`'s) and writes it into its config;
    its other keyword arguments go to `keras.layers.RNN`
    (`return_sequences`, `return_state`, `go_backwards`, `stateful`,
    `unroll`, `zero_output_for_mask`) and to the base layer (`name`,
    `dtype`, `activity_regularizer`, ...).

    Args:
        cell_class: The cell's class, a `RecurrentCell`.
        units: The cell's `units`.
        **kwargs: The cell's other arguments and the layer's.
    """

    def __init__(self, cell_class, units, **kwargs):
        cell_options = {
            name: kwargs.pop(name)
            for name in cell_arguments(cell_class)
            if name in kwargs
        }
        cell = cell_class(
            units,
            **cell_options,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name=snake_case(cell_class.__name__),
        )
        super().__init__(cell, **kwargs)

    def __getattr__(self, name):
        # Reached only where the usual lookup fails: a cell argument
        # (`layer.units`, `layer.decay_rate`, ...) is read from the cell.
        if name != "cell" and name in cell_arguments(type(self.cell)):
            return getattr(self.cell, name)
        # torch's layers are torch.nn.Modules, whose __getattr__ finds
        # their submodules (the cell among them).
        parent = getattr(super(), "__getattr__", None)
        if parent is None:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}"
            )
        return parent(name)

    def __dir__(self):
        return sorted({*super().__dir__(), *cell_arguments(type(self.cell))})

    def get_config(self):
        cell_config = self.cell.get_config()
        config = {
            name: cell_config[name] for name in cell_arguments(type(self.cell))
        }
        config["activity_regularizer"] = keras.regularizers.serialize(
            self.activity_regularizer
        )
        base_config = super().get_config()
        del base_config["cell"]
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
