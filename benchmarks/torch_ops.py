"""Where torch spends a training step of the retrieval model (why
`FastWeightsRNN` is slower than Keras's LSTM on torch).

    KERAS_BACKEND=torch python benchmarks/torch_ops.py [--units 50]

For each kind (as in benchmark.py: `fast_weights`, `fast_weights:cell`,
`lstm`), trains `build_retrieval_model`'s model at T = 11 on one batch of
128 with `Model.train_on_batch`: a few untimed steps, then `--steps` timed
steps, then `--steps` more under `torch.profiler` (CPU). Prints, per kind,
the time of a step without the profiler, the calls of torch ops a step
(those called from Python or by autograd, not the ops they call in turn),
the time inside ops (self CPU time summed over every op) and the rest of
the step, which is Python: Keras's `ops` wrappers, the layers' code and
the trainer. Then the top ops by self CPU time, per kind.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import torch  # noqa: E402
from benchmark import SEQUENCE_LENGTH  # noqa: E402
from benchmark import random_data  # noqa: E402
from benchmark import retrieval_model  # noqa: E402

BATCH_SIZE = 128


def top_level_calls(events):
    """Op calls not made by another op: what Python or autograd ran."""
    return [event for event in events if event.cpu_parent is None]


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--units", type=int, default=50)
    parser.add_argument(
        "--kinds", default="fast_weights,fast_weights:cell,lstm"
    )
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--top", type=int, default=12, help="Ops listed.")
    args = parser.parse_args(argv)
    if keras.backend.backend() != "torch":
        parser.error("run with KERAS_BACKEND=torch")
    torch.set_num_threads(torch.get_num_threads())
    x, y = random_data(BATCH_SIZE, SEQUENCE_LENGTH)
    summaries = []
    tables = []
    for kind in args.kinds.split(","):
        keras.utils.set_random_seed(0)
        model = retrieval_model(kind, args.units)
        for _ in range(3):
            model.train_on_batch(x, y)
        times = []
        for _ in range(args.steps):
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times.append(time.perf_counter() - start)
        with torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU]
        ) as profile:
            for _ in range(args.steps):
                model.train_on_batch(x, y)
        averages = profile.key_averages()
        in_ops = sum(a.self_cpu_time_total for a in averages) / args.steps
        calls = len(top_level_calls(profile.events())) / args.steps
        step_ms = 1000 * statistics.median(times)
        summaries.append(
            f"| {kind} | {step_ms:.1f} | {calls:.0f} | {in_ops / 1000:.1f} | "
            f"{step_ms - in_ops / 1000:.1f} |"
        )
        rows = sorted(averages, key=lambda a: -a.self_cpu_time_total)
        table = [
            f"\n{kind}: top {args.top} ops by self CPU time\n",
            "| op | calls/step | self CPU ms/step | µs/call |",
            "|---|---:|---:|---:|",
        ]
        for average in rows[: args.top]:
            per_step = average.self_cpu_time_total / args.steps
            table.append(
                f"| {average.key} | {average.count / args.steps:.0f} | "
                f"{per_step / 1000:.2f} | "
                f"{average.self_cpu_time_total / average.count:.1f} |"
            )
        tables.append("\n".join(table))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"R = {args.units}, T = {SEQUENCE_LENGTH}, batch {BATCH_SIZE}, "
        f"{args.steps} steps\n"
    )
    print(
        "| layer | ms/step (no profiler) | op calls/step | ms/step in ops "
        "(profiled) | rest: Python (ms/step) |"
    )
    print("|---|---:|---:|---:|---:|")
    print("\n".join(summaries))
    print("\n".join(tables))


if __name__ == "__main__":
    main()
