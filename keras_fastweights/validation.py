"""The package's argument checks: each returns the value converted, or
raises the `TypeError` or `ValueError` that the layers, data sets and
models raise, naming the argument and what it received (Keras's
"Received: units=0"). Code built on the package uses them to check its own
arguments alike.

Example:

>>> check_int("units", 20, 1)
20
>>> check_int("units", 0, 1)
Traceback (most recent call last):
    ...
ValueError: `units` must be an integer >= 1. Received: units=0
"""

import numbers

import keras


def check_int(name, value, minimum):
    """`value` as an `int`, if it is an integer (not a bool) >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be an integer >= {minimum}. "
            f"Received: {name}={value!r} (of type {type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}. "
            f"Received: {name}={value}"
        )
    return int(value)


def check_float(name, value, low, high=None):
    """`value` as a `float`, if it is a real number (not a bool) in
    `[low, high]` (`high=None`: no upper bound)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be a real number. "
            f"Received: {name}={value!r} (of type {type(value).__name__})"
        )
    value = float(value)
    if not value >= low or (high is not None and not value <= high):
        interval = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(
            f"`{name}` must be in {interval}. Received: {name}={value}"
        )
    return value


def check_positive(name, value):
    """`value` as a `float`, if it is a finite number > 0 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be a positive number. "
            f"Received: {name}={value!r} (of type {type(value).__name__})"
        )
    if not 0 < value < float("inf"):
        raise ValueError(
            f"`{name}` must be a positive number. Received: {name}={value}"
        )
    return float(value)


def get_activation(activation):
    """`keras.activations.get`, with an error that names the argument."""
    try:
        return keras.activations.get(activation)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"Unknown activation. Received: activation={activation!r}"
        ) from error


def check_rate(name, value):
    """`value` as a `float`, if it is a real number (not a bool) in [0, 1),
    such as a dropout rate."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be a float in [0, 1). "
            f"Received: {name}={value!r} (of type {type(value).__name__})"
        )
    if not 0.0 <= value < 1.0:
        raise ValueError(
            f"`{name}` must be a float in [0, 1). Received: {name}={value}"
        )
    return float(value)
