"""What the package's recurrent cells share with Keras's own cells: the
slow weights `kernel`, `recurrent_kernel` and `bias` with their
initializers, regularizers and constraints, the check of a step's shape,
and zero initial states."""

import inspect

import keras
from keras import ops

# The options a cell takes for each of its slow weights, as
# `keras.layers.LSTMCell` does: `kernel_initializer`, ..., `bias_constraint`,
# with the Keras module that gets and serializes each.
WEIGHT_OPTIONS = {
    f"{weight}_{kind}": module
    for weight in ("kernel", "recurrent", "bias")
    for kind, module in (
        ("initializer", keras.initializers),
        ("regularizer", keras.regularizers),
        ("constraint", keras.constraints),
    )
}


class RecurrentCell(keras.layers.Layer):
    """Base of the package's cells; a subclass sets `state_size` (the
    output `h` first) and calls `_set_weight_options` in `__init__` and
    `_build_slow_weights` in `build`."""

    def _set_weight_options(self, **options):
        """Keeps `{kernel,recurrent,bias}_{initializer,regularizer,
        constraint}`, each through `keras.{initializers,...}.get`."""
        for key, module in WEIGHT_OPTIONS.items():
            setattr(self, key, module.get(options[key]))

    def _build_slow_weights(
        self, input_shape, units, use_bias, bias_initializer=None
    ):
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
        if use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(units,),
                initializer=bias_initializer or self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def _weight_options_config(self) -> dict:
        """The serialized `{kernel,recurrent,bias}_{initializer,...}`."""
        return {
            key: module.serialize(getattr(self, key))
            for key, module in WEIGHT_OPTIONS.items()
        }

    def get_initial_state(self, batch_size=None):
        """Returns zeros of shape `(batch_size, size)` for each state."""
        return [
            ops.zeros((batch_size, size), dtype=self.compute_dtype)
            for size in self.state_size
        ]


def cell_arguments(cell_class) -> tuple[str, ...]:
    """The named arguments of a cell's constructor (not `**kwargs`): what
    its whole-sequence layer takes, exposes and writes into its config."""
    parameters = inspect.signature(cell_class.__init__).parameters.values()
    return tuple(
        p.name
        for p in parameters
        if p.name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
    )


def expose_cell_arguments(layer_class, cell_class):
    """Gives a whole-sequence layer a read-only property for each of its
    cell's `cell_arguments` (`layer.units`, ...), as `keras.layers.LSTM`
    exposes `LSTMCell`'s, and returns their names."""
    names = cell_arguments(cell_class)
    for name in names:
        setattr(
            layer_class,
            name,
            property(
                lambda self, name=name: getattr(self.cell, name),
                doc=f"The cell's `{name}` (see `{cell_class.__name__}`).",
            ),
        )
    return names
