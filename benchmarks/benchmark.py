"""Speed and memory of fast weights against Keras's LSTM and an IRNN.

Measures, in one process per backend:

* training throughput (examples/s over an epoch, after a warm-up epoch) of
  the paper's associative-retrieval model with fast weights, LSTM and IRNN
  at R = 20, 50 and 100 hidden units, and each model's epoch time as a
  ratio to the LSTM's at the same R. The models are timed in interleaved
  rounds (every model once per round, in a rotating order) and a ratio is
  the median over rounds of the ratio within a round, so that load from
  other processes on the machine affects both sides of a ratio alike;
* with `--memory`, the peak resident memory and the time of one training
  step for long sequences and large states (T up to 1000, H up to 512,
  batch 32), each configuration in a fresh process, since a process's
  peak memory only grows.

Usage (the defaults do the runs recorded in benchmarks/README.md):

    python benchmarks/benchmark.py                      # JAX and TensorFlow
    python benchmarks/benchmark.py --backends torch --units 50
    python benchmarks/benchmark.py --memory --no-throughput

The backend of a Keras process cannot change, so the script re-invokes
itself once per backend with `KERAS_BACKEND` set. A fast-weights kind may
name an implementation path, e.g. `fast_weights:cell`, to time it beside
the default (`fast_weights` is what `build_retrieval_model` builds).
Takes about 5 minutes per backend on a 2-core CPU with the defaults.
"""

import argparse
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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--backends",
        default="jax,tensorflow",
        help="Comma-separated Keras backends, each run in its own process.",
    )
    parser.add_argument(
        "--kinds",
        default="fast_weights,lstm,irnn",
        help="Comma-separated recurrent layers to time. `fast_weights:PATH` "
        "forces FastWeightsRNN(implementation=PATH).",
    )
    parser.add_argument(
        "--units",
        default="20,50,100",
        help="Comma-separated numbers R of recurrent units.",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=20480,
        help="Examples per timed epoch (rounded down to whole batches, so "
        "that no partial batch triggers a recompilation).",
    )
    parser.add_argument(
        "--batch-size", type=int, default=128, help="Training batch size."
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="Timed epochs per model, interleaved across models.",
    )
    parser.add_argument(
        "--jit-compile",
        default="auto",
        choices=["auto", "true", "false"],
        help="`jit_compile` of Model.compile (Keras's `auto` means XLA on "
        "JAX, none on a TensorFlow CPU, eager on torch).",
    )
    parser.add_argument(
        "--no-throughput",
        action="store_true",
        help="Skip the throughput benchmark.",
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="Also measure peak memory and step time of long sequences.",
    )
    parser.add_argument(
        "--memory-configs",
        default="100:128,1000:128,100:512,1000:256,1000:512",
        help="Comma-separated TIMESTEPS:UNITS for the memory benchmark.",
    )
    parser.add_argument(
        "--memory-kinds",
        default="fast_weights,lstm",
        help="Comma-separated recurrent layers for the memory benchmark.",
    )
    parser.add_argument(
        "--memory-batch-size", type=int, default=32, help="Batch size."
    )
    parser.add_argument(
        "--memory-steps", type=int, default=3, help="Timed training steps."
    )
    parser.add_argument(
        "--memory-limit-gib",
        type=float,
        default=10.0,
        help="A configuration whose resident memory passes this is killed "
        "and reported as exceeding it (the machine may be shared).",
    )
    parser.add_argument("--worker", choices=["throughput", "memory"])
    parser.add_argument("--timesteps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def split(text, convert=str):
    return [convert(item) for item in text.split(",") if item]


# ---------------------------------------------------------------- models


def retrieval_model(kind, units, timesteps=None):
    """What users train: `build_retrieval_model`, optionally on sequences
    of `timesteps` steps. A kind `fast_weights:PATH` forces
    `FastWeightsRNN(implementation=PATH)`."""
    from keras_fastweights.layers.fast_weights_rnn import IMPLEMENTATIONS
    from keras_fastweights.models import build_retrieval_model

    name, _, implementation = kind.partition(":")
    model = build_retrieval_model(name, units, timesteps=timesteps)
    if implementation:
        if implementation not in IMPLEMENTATIONS:
            raise ValueError(f"Unknown implementation in {kind!r}")
        # Read when the training step is traced, i.e. at the first fit.
        model.get_layer("recurrent").implementation = implementation
    return model


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


# ---------------------------------------------------------------- workers


def throughput_worker(args):
    import keras

    batch_size = args.batch_size
    examples = args.examples // batch_size * batch_size
    x, y = random_data(examples, SEQUENCE_LENGTH)
    models = {}
    for units in split(args.units, int):
        for kind in split(args.kinds):
            keras.utils.set_random_seed(0)
            model = retrieval_model(kind, units)
            set_jit_compile(model, args.jit_compile)
            # Warm-up epoch: compiles the training step.
            model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
            models[kind, units] = model
    seconds = {key: [] for key in models}
    keys = list(models)
    for round_index in range(args.rounds):
        shift = round_index % len(keys)
        for key in keys[shift:] + keys[:shift]:
            start = time.perf_counter()
            models[key].fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
            seconds[key].append(time.perf_counter() - start)
    rows = []
    for (kind, units), times in seconds.items():
        reference = seconds.get(("lstm", units))
        ratios = [t / r for t, r in zip(times, reference)] if reference else []
        rows.append(
            {
                "kind": kind,
                "units": units,
                "epoch_seconds": times,
                "examples_per_second": examples / statistics.median(times),
                "ratio_to_lstm": statistics.median(ratios) if ratios else None,
            }
        )
    emit(
        {
            "benchmark": "throughput",
            "examples": examples,
            "batch_size": batch_size,
            "jit_compile": args.jit_compile,
            "rows": rows,
        }
    )


def peak_rss_gib():
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def memory_worker(args):
    import keras

    batch_size = args.memory_batch_size
    x, y = random_data(batch_size, args.timesteps)
    keras.utils.set_random_seed(0)
    model = retrieval_model(args.kind, args.units_single, args.timesteps)
    set_jit_compile(model, args.jit_compile)
    before = peak_rss_gib()
    model.train_on_batch(x, y)  # Compiles.
    times = []
    for _ in range(args.memory_steps):
        start = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    emit(
        {
            "benchmark": "memory",
            "kind": args.kind,
            "timesteps": args.timesteps,
            "units": args.units_single,
            "batch_size": batch_size,
            "peak_rss_gib": peak_rss_gib(),
            "peak_rss_before_training_gib": before,
            "step_seconds": statistics.median(times),
        }
    )


def emit(result):
    import keras

    result["backend"] = keras.backend.backend()
    print(RESULT_PREFIX + json.dumps(result), flush=True)


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


def common_worker_args(args):
    return ["--jit-compile", args.jit_compile]


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
    return (
        f"{model_name}, {os.cpu_count()} CPUs; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


def print_throughput(result):
    print(
        f"\n## Throughput, {result['backend']} "
        f"({result['examples']} examples/epoch, batch {result['batch_size']}, "
        f"jit_compile={result['jit_compile']})\n"
    )
    print("| R | layer | examples/s | epoch time / LSTM's |")
    print("|---:|---|---:|---:|")
    for row in sorted(result["rows"], key=lambda r: (r["units"], r["kind"])):
        ratio = row["ratio_to_lstm"]
        ratio = f"{ratio:.2f}" if ratio is not None else "-"
        print(
            f"| {row['units']} | {row['kind']} | "
            f"{row['examples_per_second']:.0f} | {ratio} |"
        )


def main(argv=None):
    args = parse_args(argv)
    if args.worker == "throughput":
        return throughput_worker(args)
    if args.worker == "memory":
        args.units_single = int(args.units)
        return memory_worker(args)

    command = " ".join([os.path.basename(sys.executable), *sys.argv])
    print(f"# {command}\n# {describe_machine()}")
    for backend in split(args.backends):
        if not args.no_throughput:
            worker_args = [
                "--worker=throughput",
                f"--kinds={args.kinds}",
                f"--units={args.units}",
                f"--examples={args.examples}",
                f"--batch-size={args.batch_size}",
                f"--rounds={args.rounds}",
                *common_worker_args(args),
            ]
            for result in run_worker(backend, worker_args)[0]:
                print_throughput(result)
            print(f"\n# after {backend}: {describe_machine()}")
        if args.memory:
            print(
                f"\n## Memory, {backend} (batch {args.memory_batch_size}, "
                "one training step)\n"
            )
            print(
                "| T | H | layer | peak RSS (GiB) | RSS before training "
                "(GiB) | s/step |"
            )
            print("|---:|---:|---|---:|---:|---:|")
            for config in split(args.memory_configs):
                timesteps, units = (int(v) for v in config.split(":"))
                for kind in split(args.memory_kinds):
                    worker_args = [
                        "--worker=memory",
                        f"--kind={kind}",
                        f"--timesteps={timesteps}",
                        f"--units={units}",
                        f"--memory-batch-size={args.memory_batch_size}",
                        f"--memory-steps={args.memory_steps}",
                        *common_worker_args(args),
                    ]
                    results, killed = run_worker(
                        backend, worker_args, args.memory_limit_gib
                    )
                    if results:
                        r = results[0]
                        print(
                            f"| {timesteps} | {units} | {kind} | "
                            f"{r['peak_rss_gib']:.2f} | "
                            f"{r['peak_rss_before_training_gib']:.2f} | "
                            f"{r['step_seconds']:.3f} |"
                        )
                    else:
                        reason = (
                            f"> {args.memory_limit_gib:g} (killed)"
                            if killed
                            else "failed"
                        )
                        print(
                            f"| {timesteps} | {units} | {kind} | {reason} "
                            "| - | - |"
                        )
                    sys.stdout.flush()
            print(f"\n# after {backend} memory: {describe_machine()}")


if __name__ == "__main__":
    main()
