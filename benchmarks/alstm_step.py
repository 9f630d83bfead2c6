"""Where a training step of the Associative LSTM goes, on JAX.

Times the gradient of 11 unrolled steps of the A-LSTM's equations
(`keras_fastweights.AssociativeLSTMCell`) at the study's sizes (batch 128,
R = 50: 25 complex units, 4 copies, 100 input features), written in
`jax.numpy` so that one part at a time can be changed:

- `take`: the model, the copies' key permutations by a gather;
- `matmul`: the same, the permutations as a product with a 0/1 matrix;
- `nogather`: no permutation (not the model: what the gathers cost);
- `gates_only`: the gates and the `bound` of keys and value, no memory
  (not the model: what the memory's update and read-out cost).

Prints the median and the minimum over interleaved rounds, in ms:

    python benchmarks/alstm_step.py
"""

import time

import jax
import jax.numpy as jnp
import numpy as np

BATCH, STEPS, FEATURES, COMPLEX, COPIES = 128, 11, 100, 25, 4
VARIANTS = ("take", "matmul", "nogather", "gates_only")


def bound(real, imag):
    scale = jax.lax.rsqrt(jnp.maximum(real * real + imag * imag, 1.0))
    return real * scale, imag * scale


def complex_multiply(a, b):
    return a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]


def make_gradient(variant, permutations):
    n, copies = COMPLEX, COPIES
    # x @ one_hot == x[..., permutation], for every copy: (n, copies * n).
    one_hot = np.eye(n, dtype="float32")[permutations]
    one_hot = jnp.asarray(one_hot.transpose(2, 0, 1).reshape(n, copies * n))

    def keys_of(real, imag):
        """P_s r_i and P_s r_o of every copy, real and imaginary."""
        keys = jnp.stack([real[:, :2], imag[:, :2]], 1)  # (B, 2, 2, n)
        if variant == "take":
            keys = jnp.take(keys, permutations, axis=3)
        elif variant == "matmul":
            keys = (keys.reshape(-1, n) @ one_hot).reshape(
                BATCH, 2, 2, copies, n
            )
        else:
            keys = jnp.broadcast_to(
                keys[..., None, :], (*keys.shape[:3], copies, n)
            )
        return (keys[:, 0, 0], keys[:, 1, 0]), (keys[:, 0, 1], keys[:, 1, 1])

    def loss(params, x):
        kernel, recurrent_kernel, bias = params
        h = jnp.zeros((BATCH, 2 * n))
        memory = (jnp.zeros((BATCH, copies, n)), jnp.zeros((BATCH, copies, n)))
        drive = x @ kernel + bias
        for t in range(STEPS):
            z = drive[:, t] + h @ recurrent_kernel
            gates = jax.nn.sigmoid(z[:, : 3 * n])
            g_f, g_i, g_o = (gates[:, k * n : (k + 1) * n] for k in range(3))
            parts = z[:, 3 * n :].reshape(BATCH, 3, 2, n)
            real, imag = bound(parts[:, :, 0], parts[:, :, 1])
            if variant == "gates_only":
                h = jnp.tile(g_o * jnp.tanh(real[:, 0] + imag[:, 1]), 2)
                continue
            r_i, r_o = keys_of(real, imag)
            value = (g_i * real[:, 2])[:, None], (g_i * imag[:, 2])[:, None]
            written = complex_multiply(r_i, value)
            memory = tuple(
                g_f[:, None] * old + new for old, new in zip(memory, written)
            )
            read = complex_multiply(r_o, memory)
            read = bound(read[0].mean(1), read[1].mean(1))
            h = jnp.concatenate([g_o * read[0], g_o * read[1]], -1)
        return jnp.sum(jnp.sin(h))

    return jax.jit(jax.grad(loss))


def main(rounds=15, repeats=10):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(BATCH, STEPS, FEATURES)), "float32")
    params = tuple(
        jnp.asarray(0.1 * rng.normal(size=shape), "float32")
        for shape in ((FEATURES, 9 * COMPLEX), (2 * COMPLEX, 9 * COMPLEX))
    ) + (jnp.zeros(9 * COMPLEX),)
    permutations = np.stack([rng.permutation(COMPLEX) for _ in range(COPIES)])
    gradients = {v: make_gradient(v, permutations) for v in VARIANTS}
    for gradient in gradients.values():
        jax.block_until_ready(gradient(params, x))  # compile
    times = {variant: [] for variant in VARIANTS}
    for _ in range(rounds):
        for variant, gradient in gradients.items():
            start = time.perf_counter()
            for _ in range(repeats):
                jax.block_until_ready(gradient(params, x))
            times[variant].append(1e3 * (time.perf_counter() - start) / repeats)
    for variant, values in times.items():
        print(
            f"{variant}: median {np.median(values):.2f} ms, "
            f"min {min(values):.2f} ms"
        )


if __name__ == "__main__":
    main()
