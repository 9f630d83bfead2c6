"""Speed and memory of fast weights against Keras's LSTM.

Every figure is for the paper's associative-retrieval model as
`keras_fastweights.models.build_retrieval_model` builds it (Embedding(37,
100) → recurrent layer → Dense(100, relu) → Dense(10), Adam, batch 128),
with one recurrent layer or another, and every speed is a ratio to
`keras.layers.LSTM`'s measured in the same process. The models of a process
are timed in interleaved rounds (each model once per round, in an order
that rotates from round to round) and a ratio is the median over rounds of
the ratio within a round, so that load from other processes on the machine
affects both sides of a ratio alike. The benchmarks (`--benchmarks`):

* `throughput`: the epoch time at T = 11 (the paper's sequences;
  `--sequence-length` sets another), after a
  warm-up epoch that compiles the training step;
* `padded`: the same on padded batches of variable length: each sequence
  has a length drawn uniformly from `--padded-lengths` MIN:MAX and is
  padded with token 0 to MAX steps, and `Embedding(mask_zero=True)` masks
  the padding out of the recurrent layer (of every kind alike);
* `first_epoch`: the first epoch of a freshly built model at T = 11,
  compilation included, and its second epoch, which is not (their
  difference is about the cost of compiling); the process first trains one
  untimed model of each kind, so that its one-off costs (imports, the
  backend's start) fall on no model;
* `padded_memory`: the peak resident memory and the time of one training
  step of a padded batch, each kind in a fresh process, since a process's
  peak memory only grows: the peak of the whole process (compilation
  included) and that of the timed steps alone (after the compiling one),
  and on a GPU the peak of the backend's GPU allocator;
* `memory`: the same for long unpadded sequences and large states
  (`--memory-configs`, batch `--memory-batch-size`).

A kind is a `build_retrieval_model` kind (`fast_weights`, `lstm`, `irnn`,
`associative_lstm`), `fast_weights_delta` for fast weights with the delta
rule (`update_rule="delta"`; `fast_weights_delta:PATH` on a path), or
`fast_weights:PATH` for
`FastWeightsRNN(implementation=PATH)`: `fast_weights` is the default
`"auto"`, `fast_weights:cell` runs `keras.layers.RNN`'s loop over
`FastWeightsRNNCell`, the design card's `keras.layers.RNN(
FastWeightsRNNCell(units))`. The backend of a Keras process cannot change,
so the script re-invokes itself once per backend and benchmark with
`KERAS_BACKEND` set.

Every table names the device it was measured on (a GPU's name, or CPU).

Usage (the defaults measure the table at the top of benchmarks/README.md;
about 30 minutes on a shared 2-core CPU; where other processes use the
cores, give torch one thread, as the README explains):

    python benchmarks/benchmark.py --backends jax,tensorflow
    OMP_NUM_THREADS=1 python benchmarks/benchmark.py --backends torch
    python benchmarks/benchmark.py --backends jax,tensorflow \\
        --benchmarks memory --memory-configs 1000:256
"""

import argparse
import ctypes
import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time

RESULT_PREFIX = "RESULT "
SEQUENCE_LENGTH = 11  # K = 4 pairs, e.g. "c9k8j3f1??c".
BENCHMARKS = ("throughput", "padded", "first_epoch", "padded_memory", "memory")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--backends",
        default="jax,tensorflow,torch",
        help="Comma-separated Keras backends, each run in its own process.",
    )
    parser.add_argument(
        "--benchmarks",
        default="throughput,padded,first_epoch,padded_memory",
        help=f"Comma-separated benchmarks, of {', '.join(BENCHMARKS)} "
        "(see the module docstring).",
    )
    parser.add_argument(
        "--kinds",
        default="fast_weights,fast_weights:cell,lstm",
        help="Comma-separated recurrent layers to time (`lstm`, the "
        "reference, is added if missing). `fast_weights:PATH` forces "
        "FastWeightsRNN(implementation=PATH).",
    )
    parser.add_argument(
        "--units",
        default="50",
        help="Comma-separated numbers R of recurrent units.",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=20480,
        help="Examples per epoch (throughput, first_epoch), rounded down "
        "to whole batches, so that no partial batch triggers a "
        "recompilation.",
    )
    parser.add_argument(
        "--sequence-length",
        type=int,
        default=SEQUENCE_LENGTH,
        help="Steps T per sequence of the throughput and first_epoch "
        "benchmarks (T = 2K + 3 for K pairs; 11 is the paper's K = 4).",
    )
    parser.add_argument(
        "--batch-size", type=int, default=128, help="Training batch size."
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="Timed epochs (first epochs for first_epoch) per model, "
        "interleaved across models.",
    )
    parser.add_argument(
        "--padded-lengths",
        default="20:200",
        help="MIN:MAX sequence lengths of the padded benchmarks; batches "
        "are padded to MAX steps.",
    )
    parser.add_argument(
        "--padded-examples",
        type=int,
        default=5120,
        help="Examples per epoch of the padded benchmark.",
    )
    parser.add_argument(
        "--jit-compile",
        default="auto",
        choices=["auto", "true", "false"],
        help="`jit_compile` of Model.compile (Keras's `auto` means XLA on "
        "JAX, none on a TensorFlow CPU, eager on torch).",
    )
    parser.add_argument(
        "--memory-configs",
        default="100:128,1000:128,100:512,1000:256,1000:512",
        help="Comma-separated TIMESTEPS:UNITS of the memory benchmark.",
    )
    parser.add_argument(
        "--memory-kinds",
        default="fast_weights,lstm",
        help="Comma-separated recurrent layers of the memory benchmark.",
    )
    parser.add_argument(
        "--memory-batch-size",
        type=int,
        default=32,
        help="Batch size of the memory benchmark.",
    )
    parser.add_argument(
        "--memory-steps",
        type=int,
        default=3,
        help="Timed training steps of the memory benchmarks.",
    )
    parser.add_argument(
        "--memory-limit-gib",
        type=float,
        default=10.0,
        help="A memory-benchmark process whose resident memory passes this "
        "is killed and reported as exceeding it (the machine may be "
        "shared).",
    )
    # Set by the driver for the processes it starts.
    parser.add_argument("--worker", choices=BENCHMARKS, help=argparse.SUPPRESS)
    parser.add_argument("--timesteps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--padded", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in split(args.benchmarks):
        if name not in BENCHMARKS:
            parser.error(f"unknown benchmark {name!r}; one of {BENCHMARKS}")
    if not args.worker and "lstm" not in split(args.kinds):
        args.kinds += ",lstm"
    return args


def split(text, convert=str):
    return [convert(item) for item in text.split(",") if item]


def padded_lengths(args):
    shortest, longest = (int(v) for v in args.padded_lengths.split(":"))
    return shortest, longest


# ---------------------------------------------------------------- models


def retrieval_model(kind, units, timesteps=None, padded=False):
    """What users train: `build_retrieval_model`, on sequences of
    `timesteps` steps if given. A kind `fast_weights:PATH` forces
    `FastWeightsRNN(implementation=PATH)`; with `padded`, the embedding
    masks token 0 (`mask_zero=True`) out of the recurrent layer."""
    import keras

    from keras_fastweights.layers.fast_weights_rnn import IMPLEMENTATIONS
    from keras_fastweights.models import build_retrieval_model

    name, _, implementation = kind.partition(":")
    options = {}
    if name == "fast_weights_delta":
        name, options = "fast_weights", {"update_rule": "delta"}
    model = build_retrieval_model(name, units, timesteps=timesteps, **options)
    if implementation:
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"Unknown implementation in {kind!r}")
        # Read when the training step is traced, i.e. at the first fit.
        model.get_layer("recurrent").implementation = implementation
    if padded:
        # The same model from its config, with the embedding's mask on.
        config = model.get_config()
        for layer in config["layers"]:
            if layer["class_name"] == "Embedding":
                layer["config"]["mask_zero"] = True
        compile_config = model.get_compile_config()
        model = keras.Model.from_config(config)
        model.compile_from_config(compile_config)
    return model


def recurrent_path(model, timesteps):
    """The path a FastWeightsRNN takes on `timesteps` steps, else ''."""
    from keras_fastweights import FastWeightsRNN

    layer = model.get_layer("recurrent")
    if not isinstance(layer, FastWeightsRNN):
        return ""
    # The layer's own choice (a private method: the benchmark reports what
    # the layer does, and only the static T matters to it).
    return layer._resolve_implementation(timesteps)


def set_jit_compile(model, jit_compile):
    if jit_compile != "auto":
        model.jit_compile = jit_compile == "true"
        model.train_function = None


def random_data(num_examples, timesteps, seed=0):
    import numpy as np

    from keras_fastweights.datasets import associative_retrieval as task

    # The tokens' content does not change the amount of work.
    rng = np.random.default_rng(seed)
    x = rng.integers(0, task.VOCABULARY_SIZE, (num_examples, timesteps))
    y = rng.integers(0, task.NUM_CLASSES, (num_examples,))
    return x.astype("int32"), y.astype("int32")


def padded_data(num_examples, shortest, longest, seed=0):
    """Sequences of lengths drawn uniformly from [shortest, longest],
    padded at the end with token 0 to `longest` steps (their other tokens
    are 1 or more)."""
    import numpy as np

    x, y = random_data(num_examples, longest, seed)
    rng = np.random.default_rng(seed + 1)
    lengths = rng.integers(shortest, longest + 1, (num_examples, 1))
    x = np.where(np.arange(longest) < lengths, np.maximum(x, 1), 0)
    return x.astype("int32"), y


def timed_fit(model, x, y, batch_size):
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    return time.perf_counter() - start


def rotated(keys, round_index):
    """`keys` starting at another one each round, so that none always
    runs first."""
    shift = round_index % len(keys)
    return keys[shift:] + keys[:shift]


def median_ratios(times, reference):
    """Median over rounds of time / the reference's time in that round."""
    if not reference:
        return None
    return statistics.median(t / r for t, r in zip(times, reference))


def print_ratio_table(seconds, label, digits=3):
    """Prints `seconds` (`{name: [epoch times per round]}`, with `"lstm"`
    among the names) as a Markdown table: the median epoch time and the
    median ratio to the LSTM's, one row per name."""
    print(f"| {label} | s/epoch (median) | epoch time / LSTM's |")
    print("|---|---:|---:|")
    for name, times in seconds.items():
        ratio = median_ratios(times, seconds["lstm"])
        print(
            f"| {name} | {statistics.median(times):.{digits}f} | {ratio:.2f} |"
        )


# ---------------------------------------------------------------- workers


def epochs_worker(args):
    """`throughput` and `padded`: each model compiled by a warm-up epoch,
    then timed epoch by epoch in interleaved rounds."""
    import keras

    batch_size = args.batch_size
    if args.padded:
        shortest, timesteps = padded_lengths(args)
        examples = args.padded_examples // batch_size * batch_size
        x, y = padded_data(examples, shortest, timesteps)
    else:
        timesteps = args.sequence_length
        examples = args.examples // batch_size * batch_size
        x, y = random_data(examples, timesteps)
    models = {}
    for units in split(args.units, int):
        for kind in split(args.kinds):
            keras.utils.set_random_seed(0)
            model = retrieval_model(kind, units, timesteps, args.padded)
            set_jit_compile(model, args.jit_compile)
            timed_fit(model, x, y, batch_size)
            models[kind, units] = model
    seconds = {key: [] for key in models}
    for round_index in range(args.rounds):
        for key in rotated(list(models), round_index):
            seconds[key].append(timed_fit(models[key], x, y, batch_size))
    rows = [
        {
            "kind": kind,
            "units": units,
            "path": recurrent_path(models[kind, units], timesteps),
            "epoch_seconds": times,
            "examples_per_second": examples / statistics.median(times),
            "ratio_to_lstm": median_ratios(times, seconds.get(("lstm", units))),
        }
        for (kind, units), times in seconds.items()
    ]
    emit(
        {
            "benchmark": args.worker,
            "examples": examples,
            "batch_size": batch_size,
            "timesteps": timesteps,
            "padded_lengths": args.padded_lengths if args.padded else None,
            "jit_compile": args.jit_compile,
            "rows": rows,
        }
    )


def first_epoch_worker(args):
    import keras

    batch_size = args.batch_size
    examples = args.examples // batch_size * batch_size
    x, y = random_data(examples, args.sequence_length)
    keys = [
        (kind, units)
        for units in split(args.units, int)
        for kind in split(args.kinds)
    ]

    def fresh_model(kind, units):
        keras.utils.set_random_seed(0)
        model = retrieval_model(kind, units)
        set_jit_compile(model, args.jit_compile)
        return model

    for key in keys:
        timed_fit(fresh_model(*key), x, y, batch_size)
    first = {key: [] for key in keys}
    second = {key: [] for key in keys}
    models = {}
    for round_index in range(args.rounds):
        for key in rotated(keys, round_index):
            models[key] = model = fresh_model(*key)
            first[key].append(timed_fit(model, x, y, batch_size))
            second[key].append(timed_fit(model, x, y, batch_size))
    rows = [
        {
            "kind": kind,
            "units": units,
            "path": recurrent_path(models[kind, units], args.sequence_length),
            "first_epoch_seconds": first[kind, units],
            "second_epoch_seconds": second[kind, units],
            "ratio_to_lstm": median_ratios(
                first[kind, units], first.get(("lstm", units))
            ),
        }
        for kind, units in keys
    ]
    emit(
        {
            "benchmark": "first_epoch",
            "examples": examples,
            "timesteps": args.sequence_length,
            "batch_size": batch_size,
            "jit_compile": args.jit_compile,
            "rows": rows,
        }
    )


def peak_rss_gib():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def reset_step_peak():
    """Restarts the process's `VmHWM` (Linux), so that `step_peak_gib`
    sees the training steps' peak without the compilation's before them,
    after handing the heap's free memory back to the system (glibc)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


def step_peak_gib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def memory_worker(args):
    """`memory` and `padded_memory`: one model, one batch; the first step
    compiles, the median of the next `--memory-steps` is its time."""
    import keras

    units = int(args.units)
    (kind,) = split(args.kinds)
    if args.padded:
        shortest, timesteps = padded_lengths(args)
        x, y = padded_data(args.batch_size, shortest, timesteps)
    else:
        timesteps = args.timesteps
        x, y = random_data(args.batch_size, timesteps)
    keras.utils.set_random_seed(0)
    model = retrieval_model(kind, units, timesteps, args.padded)
    set_jit_compile(model, args.jit_compile)
    before = peak_rss_gib()
    model.train_on_batch(x, y)
    # Resetting VmHWM resets ru_maxrss too: read the peak so far first.
    compile_peak = peak_rss_gib()
    reset_step_peak()
    times = []
    for _ in range(args.memory_steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    emit(
        {
            "benchmark": args.worker,
            "kind": kind,
            "path": recurrent_path(model, timesteps),
            "timesteps": timesteps,
            "units": units,
            "batch_size": args.batch_size,
            "peak_rss_gib": max(compile_peak, peak_rss_gib()),
            "peak_rss_before_training_gib": before,
            "step_peak_rss_gib": step_peak_gib(),
            "step_seconds": statistics.median(times),
            "peak_gpu_gib": accelerator_peak_gib(),
        }
    )


def accelerator():
    """The device the worker's backend computes on: the GPU's name, else
    "CPU" (so a table says where it was measured)."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return device.device_kind if device.platform == "gpu" else "CPU"
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            return details.get("device_name", gpus[0].name)
    return "CPU"


def accelerator_peak_gib():
    """The GPU memory the worker's backend has held at most (its
    allocator's peak), or None on a CPU."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        stats = jax.devices()[0].memory_stats()
        if stats and "peak_bytes_in_use" in stats:
            return stats["peak_bytes_in_use"] / 2**30
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            return torch.cuda.max_memory_allocated() / 2**30
    elif backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            info = tf.config.experimental.get_memory_info("GPU:0")
            return info["peak"] / 2**30
    return None


def emit(result):
    import keras

    backend = keras.backend.backend()
    result["backend"] = backend
    result["device"] = accelerator()
    result["versions"] = {
        name: importlib.import_module(name).__version__
        for name in ("keras", backend)
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


WORKERS = {
    "throughput": epochs_worker,
    "padded": epochs_worker,
    "first_epoch": first_epoch_worker,
    "padded_memory": memory_worker,
    "memory": memory_worker,
}


# ---------------------------------------------------------------- driver


def rss_gib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def run_worker(backend, worker_args, limit_gib=None):
    """Runs this script as a worker; returns its results and whether the
    memory limit killed it."""
    env = dict(os.environ, KERAS_BACKEND=backend)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), *worker_args],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    killed = threading.Event()

    def watch():
        while process.poll() is None:
            if limit_gib and rss_gib(process.pid) > limit_gib:
                killed.set()
                process.kill()
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    output, _ = process.communicate()
    watcher.join()
    results = [
        json.loads(line[len(RESULT_PREFIX) :])
        for line in output.splitlines()
        if line.startswith(RESULT_PREFIX)
    ]
    if process.returncode and not killed.is_set():
        print(f"worker {worker_args} failed ({process.returncode})")
    return results, killed.is_set()


def describe_machine():
    model_name = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model_name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    # Thread settings change the figures on a shared CPU (README).
    threads = "".join(
        f", {name}={os.environ[name]}"
        for name in (
            "OMP_NUM_THREADS",
            "TF_NUM_INTEROP_THREADS",
            "TF_NUM_INTRAOP_THREADS",
        )
        if name in os.environ
    )
    return (
        f"{model_name}, {os.cpu_count()} CPUs{threads}; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


def describe_commit():
    """The commit measured, and whether the package differs from it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def git(*command):
        return subprocess.run(
            ["git", "-C", root, *command], capture_output=True, text=True
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--", "keras_fastweights")
    return f"commit {commit}" + (
        "; keras_fastweights/ has uncommitted changes" if changed else ""
    )


def ratio_text(ratio):
    return f"{ratio:.2f}" if ratio is not None else "-"


def layer_text(row):
    path = row.get("path")
    return f"{row['kind']} ({path})" if path else row["kind"]


def print_epochs(result):
    what = (
        f"padded batches, lengths {result['padded_lengths']}"
        if result["padded_lengths"]
        else f"T = {result['timesteps']}"
    )
    print(
        f"\n## {result['benchmark']}, {result['backend']} ({what}; "
        f"{result['examples']} examples/epoch, batch {result['batch_size']}, "
        f"jit_compile={result['jit_compile']}; {result['versions']}; "
        f"{result['device']})\n"
    )
    print("| R | layer (path) | examples/s | s/epoch | epoch time / LSTM's |")
    print("|---:|---|---:|---:|---:|")
    for row in sorted(result["rows"], key=lambda r: (r["units"], r["kind"])):
        print(
            f"| {row['units']} | {layer_text(row)} | "
            f"{row['examples_per_second']:.0f} | "
            f"{' '.join(f'{s:.2f}' for s in row['epoch_seconds'])} | "
            f"{ratio_text(row['ratio_to_lstm'])} |"
        )


def print_first_epoch(result):
    print(
        f"\n## first_epoch, {result['backend']} (T = {result['timesteps']}; "
        f"{result['examples']} examples/epoch, batch {result['batch_size']}, "
        f"jit_compile={result['jit_compile']}; {result['versions']}; "
        f"{result['device']})\n"
    )
    print(
        "| R | layer (path) | first epoch (s, median) | second epoch (s) | "
        "first epochs, every round (s) | first epoch / LSTM's |"
    )
    print("|---:|---|---:|---:|---|---:|")
    for row in sorted(result["rows"], key=lambda r: (r["units"], r["kind"])):
        first = row["first_epoch_seconds"]
        print(
            f"| {row['units']} | {layer_text(row)} | "
            f"{statistics.median(first):.2f} | "
            f"{statistics.median(row['second_epoch_seconds']):.2f} | "
            f"{' '.join(f'{s:.2f}' for s in first)} | "
            f"{ratio_text(row['ratio_to_lstm'])} |"
        )


def run_epochs(args, backend, benchmark):
    worker_args = [
        f"--worker={benchmark}",
        f"--kinds={args.kinds}",
        f"--units={args.units}",
        f"--examples={args.examples}",
        f"--sequence-length={args.sequence_length}",
        f"--batch-size={args.batch_size}",
        f"--rounds={args.rounds}",
        f"--padded-lengths={args.padded_lengths}",
        f"--padded-examples={args.padded_examples}",
        f"--jit-compile={args.jit_compile}",
        *(["--padded"] if benchmark == "padded" else []),
    ]
    show = print_first_epoch if benchmark == "first_epoch" else print_epochs
    for result in run_worker(backend, worker_args)[0]:
        show(result)


def run_memory(args, backend, benchmark):
    padded = benchmark == "padded_memory"
    if padded:
        timesteps = padded_lengths(args)[1]
        configs = [(timesteps, units) for units in split(args.units, int)]
        kinds = split(args.kinds)
        batch_size = args.batch_size
        what = f"padded batches, lengths {args.padded_lengths}"
    else:
        configs = [
            tuple(int(v) for v in config.split(":"))
            for config in split(args.memory_configs)
        ]
        kinds = split(args.memory_kinds)
        batch_size = args.memory_batch_size
        what = "unpadded"
    print(
        f"\n## {benchmark}, {backend} ({what}; batch {batch_size}; "
        "one process per row)\n"
    )
    print(
        "| T | H | layer (path) | device | peak RSS (GiB) | RSS before "
        "training (GiB) | peak RSS of the timed steps (GiB) | peak GPU "
        "memory (GiB) | s/step |"
    )
    print("|---:|---:|---|---|---:|---:|---:|---:|---:|")
    for timesteps, units in configs:
        for kind in kinds:
            worker_args = [
                f"--worker={benchmark}",
                f"--kinds={kind}",
                f"--timesteps={timesteps}",
                f"--units={units}",
                f"--batch-size={batch_size}",
                f"--padded-lengths={args.padded_lengths}",
                f"--memory-steps={args.memory_steps}",
                f"--jit-compile={args.jit_compile}",
                *(["--padded"] if padded else []),
            ]
            results, killed = run_worker(
                backend, worker_args, args.memory_limit_gib
            )
            if results:
                r = results[0]
                gpu_peak = r["peak_gpu_gib"]
                print(
                    f"| {timesteps} | {units} | {layer_text(r)} | "
                    f"{r['device']} | {r['peak_rss_gib']:.2f} | "
                    f"{r['peak_rss_before_training_gib']:.2f} | "
                    f"{r['step_peak_rss_gib']:.2f} | "
                    f"{'-' if gpu_peak is None else f'{gpu_peak:.2f}'} | "
                    f"{r['step_seconds']:.3f} |"
                )
            else:
                reason = (
                    f"> {args.memory_limit_gib:g} (killed)"
                    if killed
                    else "failed"
                )
                print(
                    f"| {timesteps} | {units} | {kind} | - | {reason} | - | - "
                    "| - | - |"
                )
            sys.stdout.flush()


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return WORKERS[args.worker](args)

    command = " ".join([os.path.basename(sys.executable), *sys.argv])
    print(f"# {command}\n# {describe_commit()}\n# {describe_machine()}")
    for backend in split(args.backends):
        for benchmark in split(args.benchmarks):
            if benchmark.endswith("memory"):
                run_memory(args, backend, benchmark)
            else:
                run_epochs(args, backend, benchmark)
            print(f"\n# after {benchmark}, {backend}: {describe_machine()}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
