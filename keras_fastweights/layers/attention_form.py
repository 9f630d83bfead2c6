"""The fast-weights recurrence in its attention form (eq. 3 of Ba et al.).

`A(t)` is a decayed sum of outer products of the past outputs, so its
product with a query needs no matrix:

```
A(t) h_s = λ^{t+1} A(0) h_s + η Σ_τ λ^{t-τ} h(τ) (h(τ)ᵀ h_s)      (eq. 3)
```

The delta rule's memory reads the same way with keys `k(τ)` and values
`e(τ) = h(τ) - λ A(τ-1) k(τ)` (each read from the memory before it) in
place of `h(τ)` (docs/method.md, section 14).

`FastWeightsRNN` runs its `"attention"` and `"chunked"` implementations
through `run`; its `"cell"` implementation is `keras.layers.RNN`'s loop over
`FastWeightsRNNCell`. Both call the cell's one inner loop
(`FastWeightsRNNCell.settle`) and differ only in how they read `A(t)`.
A mask `m(t)` in {0, 1} is honoured as the cell loop honours it: a masked
step keeps `h` and `A` (`A(t) = λ^{m(t)} A(t-1) + m(t) η h(t) h(t)ᵀ`).
"""

import numpy as np
from keras import ops

from keras_fastweights.layers import kernels


def memory_weights(mask, steps, decay_rate, fast_learning_rate, dtype):
    """The weights of eq. 3 for `steps` steps with `mask`.

    Returns `weights[..., t, τ] = η λ^{n(τ, t]} [τ unmasked]` for `τ <= t`
    and 0 for `τ > t`, the weight of the `h` entering step `τ` in the memory
    of step `t` (`(steps, steps)` without a mask, else
    `(batch, steps, steps)`), and `memory_decay[:, t] = λ^{n[0, t]}`, that
    of the memory `A` entering the first step (`(1, steps)` or
    `(batch, steps)`), where `n` counts the unmasked steps in an interval.
    The one computation of the memory's decay: the attention forms and
    `keras_fastweights.inspection` read their weights here.
    """
    decay, eta = decay_rate, fast_learning_rate
    past = np.tri(steps)
    if mask is None:
        count = np.arange(1, steps + 1)
        gaps = np.maximum(count[:, None] - count, 0)
        weights = ops.convert_to_tensor(eta * decay**gaps * past, dtype)
        memory_decay = ops.convert_to_tensor(decay ** count[None], dtype)
        return weights, memory_decay
    count = ops.cumsum(ops.cast(mask, "int32"), axis=1)
    gaps = ops.maximum(ops.expand_dims(count, 2) - count[:, None], 0)
    decay = ops.convert_to_tensor(decay, dtype)
    stored = ops.cast(mask, dtype)[:, None] * ops.convert_to_tensor(past, dtype)
    weights = eta * ops.power(decay, ops.cast(gaps, dtype)) * stored
    memory_decay = ops.power(decay, ops.cast(count, dtype))
    return weights, memory_decay


def zero_state(batch_size, size, dtype):
    """Zeros of shape `(batch_size, size)`, as a broadcast of one row: torch,
    which runs op by op, then fills `size` floats rather than
    `batch_size * size` (1.3 MB for the memory at 128 examples x 50²
    units). Read-only on torch: not for a state that is assigned in place,
    such as a stateful layer's."""
    return ops.broadcast_to(
        ops.zeros((1, size), dtype=dtype), (batch_size, size)
    )


def run_chunk(
    cell,
    input_drive,
    mask,
    h,
    memory,
    return_memory,
    zero_output_for_mask,
    recurrent_dropout_mask=None,
):
    """Runs `cell` over the steps of `input_drive` (`C x(t) + b`, unrolled)
    from the state `[h, memory]`, where `memory=None` stands for `A = 0`,
    and `mask` is `None` or the steps' boolean mask, `(batch, steps)`;
    `W h(t)` reads `h(t) ⊙ recurrent_dropout_mask` if that is given.

    With the delta rule (`cell.update_rule == "delta"`) the memory is
    `A(t) = λ A(t-1) + η e(τ) k(τ)ᵀ`, `e(τ) = h(τ) - λ A(t-1) k(τ)`, so that
    it reads as eq. 3 with keys `k(τ)` and values `e(τ)` in place of `h(τ)`
    twice, each `e(τ)` read from the memory before it (docs/method.md,
    section 14).

    Returns the last `h`, the last (flattened) `A` or, unless
    `return_memory`, `None`, and the outputs of all steps.
    """
    units = cell.units
    delta = cell.update_rule == "delta"
    if memory is not None:
        memory = ops.reshape(memory, (-1, units, units))
    weights, memory_decay = memory_weights(
        mask,
        input_drive.shape[1],
        cell.decay_rate,
        cell.fast_learning_rate,
        h.dtype,
    )

    def read(keys, values, t, query):
        """`A(t) query`: eq. 3 over the first `t + 1` keys and values, and
        the memory entering the chunk decayed by `λ^{t+1}` (`t - τ` and
        `t + 1` counting only unmasked steps); `t = -1` reads that memory."""
        if t < 0:
            if memory is None:
                return ops.zeros_like(query)
            return ops.einsum("bij,bj->bi", memory, query)
        total = kernels.read_out(
            keys,
            weights[..., t, : t + 1],
            query,
            keys if values is None else values,
        )
        if memory is None:
            return total
        return total + memory_decay[:, t : t + 1] * ops.einsum(
            "bij,bj->bi", memory, query
        )

    def store(keys, values, h, t):
        """Keys and values with those of `h(t)`, the h entering step `t`."""

        def append(stack, x):
            x = ops.expand_dims(x, axis=1)
            return x if stack is None else ops.concatenate([stack, x], axis=1)

        if not delta:
            # Hebbian: h(τ) is key and value.
            return append(keys, h), None
        k = cell.memory_key(h)
        # e(t) = h(t) - λ A(t-1) k(t), read from the memory of step t - 1
        # (for t = 0 the memory entering the chunk).
        recalled = read(keys, values, t - 1, k)
        error = h - cell.decay_rate * recalled
        return append(keys, k), append(values, error)

    # Keys (and, for the delta rule, values) of steps 0 .. t: (B, t+1, H),
    # those of the h entering each step; that of a masked step has weight 0.
    keys, values = store(None, None, h, 0)
    outputs = []
    # One unstack rather than a slice per step: torch builds the gradient of
    # each slice as a zero tensor of the whole chunk.
    for t, drive in enumerate(ops.unstack(input_drive, axis=1)):
        if t:
            keys, values = store(keys, values, h, t)

        def read_memory(h_s):
            # A(t) h_s = λ^{t+1} A(0) h_s + η Σ_τ λ^{t-τ} h(τ) (h(τ)ᵀ h_s)
            # (eq. 3), with t - τ, t + 1 counting only unmasked steps.
            return read(keys, values, t, h_s)

        z = cell.boundary_condition(drive, h, recurrent_dropout_mask)
        h_S = cell.settle(z, read_memory)[-1]
        if mask is None:
            h = output = h_S
        else:
            # A masked step keeps h; its output repeats h or is zero.
            h = ops.where(mask[:, t : t + 1], h_S, h)
            output = h
            if zero_output_for_mask:
                output = ops.where(mask[:, t : t + 1], h, ops.zeros_like(h))
        outputs.append(output)
    outputs = ops.stack(outputs, axis=1)
    if not return_memory:
        return h, None, outputs
    # A(T) = λ^T A(0) + η Σ_τ λ^{T-1-τ} v(τ) k(τ)ᵀ over τ = 0 .. T-1 (the
    # last step's weights), v = k = h for the Hebbian memory.
    last_weights = ops.expand_dims(weights[..., -1, :], -1)
    stored = keys if values is None else values
    new_memory = ops.einsum("bti,btj->bij", stored * last_weights, keys)
    if memory is not None:
        last_decay = ops.expand_dims(memory_decay[:, -1:], -1)
        new_memory = new_memory + last_decay * memory
    return h, ops.reshape(new_memory, (-1, units * units)), outputs


def run(
    cell,
    sequences,
    initial_state,
    mask,
    *,
    chunk_length,
    memory_starts_at_zero,
    return_memory,
    return_sequences,
    go_backwards,
    zero_output_for_mask,
    recurrent_dropout_mask=None,
):
    """Equations 3-4 over the whole sequence, or chunk by chunk.

    Args:
        cell: A built `FastWeightsRNNCell`, whose weights and inner loop
            are used.
        sequences: `(batch, timesteps, features)`, with static `timesteps`.
        initial_state: `[h, A]`, `A` flattened to `units * units`.
        mask: `None` or a `(batch, timesteps)` mask.
        chunk_length: `None` to unroll every step in one attention over the
            sequence; else the steps per chunk of a loop
            (`kernels.chunk_loop`) that carries `A` from chunk to chunk
            (the remaining steps run unrolled after it).
        memory_starts_at_zero: Whether the initial `A` is known to be 0,
            whose product is then skipped.
        return_memory: Whether the last `A` is needed (else zeros are
            returned in its place).
        return_sequences, go_backwards, zero_output_for_mask: As in
            `keras.layers.RNN`.
        recurrent_dropout_mask: `None`, or the mask `r`, `(batch, units)`,
            with which `W h(t)` reads `h(t) ⊙ r`.

    Returns:
        `(last_output, outputs, [h, A])`, as `keras.layers.RNN.inner_loop`.
    """
    units = cell.units
    if mask is not None:
        mask = ops.cast(mask, "bool")
    if go_backwards:
        sequences = ops.flip(sequences, axis=1)
        if mask is not None:
            mask = ops.flip(mask, axis=1)
    # C x(t) + b of all steps in one product, outside the loop.
    input_drive = cell.input_drive(sequences)
    h, memory = initial_state
    timesteps = input_drive.shape[1]
    chunks = timesteps // chunk_length if chunk_length else 0
    done = chunks * (chunk_length or 0)
    outputs = []
    if chunks:
        # A loop over chunks that keeps only the A entering each chunk
        # (a backend loop rather than a Python loop, so that long
        # sequences compile to one small loop body).
        def step(h, memory, window):
            chunk, chunk_mask = (window, None) if mask is None else window
            return run_chunk(
                cell,
                chunk,
                chunk_mask,
                h,
                memory,
                True,
                zero_output_for_mask,
                recurrent_dropout_mask,
            )

        def windows(steps):
            """(batch, chunks * length, ...) -> (chunks, batch, length,
            ...)."""
            shape = (-1, chunks, chunk_length, *steps.shape[2:])
            steps = ops.reshape(steps[:, :done], shape)
            return ops.moveaxis(steps, 1, 0)

        xs = windows(input_drive)
        if mask is not None:
            xs = (xs, windows(mask))
        h, memory, chunk_outputs = kernels.chunk_loop(
            step, h, memory, xs, chunks
        )
        chunk_outputs = ops.transpose(chunk_outputs, (1, 0, 2, 3))
        outputs.append(ops.reshape(chunk_outputs, (-1, done, units)))
    elif memory_starts_at_zero:
        memory = None
    if done < timesteps:
        h, memory, tail = run_chunk(
            cell,
            input_drive[:, done:],
            None if mask is None else mask[:, done:],
            h,
            memory,
            return_memory,
            zero_output_for_mask,
            recurrent_dropout_mask,
        )
        outputs.append(tail)
    if memory is None or not return_memory:
        memory = zero_state(ops.shape(h)[0], units**2, h.dtype)
    last_output = h
    if mask is not None and zero_output_for_mask:
        last_output = ops.where(mask[:, -1:], h, ops.zeros_like(h))
    if return_sequences:
        outputs = ops.concatenate(outputs, axis=1)
    else:
        outputs = ops.expand_dims(last_output, axis=1)
    return last_output, outputs, [h, memory]
