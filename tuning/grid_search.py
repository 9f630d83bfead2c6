"""Grid search over learning rate and seeds, as in Ba et al. (2016).

For each (model, units) cell, Keras Tuner trains the paper's model
(`keras_fastweights.models.build_retrieval_model`) with the package's
training recipe at every learning rate with the first seed, then the other
seeds at the learning rate best on validation (`fastweights_study.tuning`).
It keeps its state in `--directory` and writes `table1.csv` (the seeds'
test errors per cell), `table1_runs.csv` (every run) and `table1.md`.

Single machine (a rerun of the same command resumes: finished trials are
kept and not run again, and the trial that was running goes on from its
last finished epoch, from the backup in its directory):

    python tuning/grid_search.py --models fast_weights --units 8 16 \\
        --learning-rates 0.001 0.01 --epochs 1 --num-train 1000 \\
        --directory runs/grid

One chief and N worker processes on this machine (Keras Tuner's chief/worker
mode on 127.0.0.1; each worker single-threaded):

    python tuning/grid_search.py ... --workers 2

A worker that dies (killed, out of memory) is started again under its
tuner id, up to `--worker-restarts` times: the chief's oracle hands a
returning tuner id the trial it was running, which goes on from its
backup.

Several machines: start the same command on each with Keras Tuner's
variables, a chief (`KERASTUNER_TUNER_ID=chief`) and workers
(`KERASTUNER_TUNER_ID=tuner0`, `tuner1`, ...), all with
`KERASTUNER_ORACLE_IP=<chief's address>` and `KERASTUNER_ORACLE_PORT=<port>`,
and a `--directory` on a file system they share. The chief writes the table.
There, restart a worker that died with the same `KERASTUNER_TUNER_ID`: the
chief waits for its trial, which goes on from its backup.
"""

import os
import socket
import subprocess
import sys
import time

# The paper's grid (section 4.1 does not list it; these span its range).
DEFAULT_LEARNING_RATES = (3e-4, 1e-3, 3e-3)
DEFAULT_UNITS = (20, 50, 100)
ORACLE_VARIABLES = (
    "KERASTUNER_TUNER_ID",
    "KERASTUNER_ORACLE_IP",
    "KERASTUNER_ORACLE_PORT",
)
# Environment that keeps a worker process on one CPU thread, whatever the
# backend (TensorFlow, XLA for JAX, and OpenMP for torch).
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false "
    "intra_op_parallelism_threads=1",
}


def parse_args(argv=None):
    from fastweights_study import cli as study_cli
    from fastweights_study import tuning
    from fastweights_study import variants

    from keras_fastweights import cli
    from keras_fastweights import models

    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models",
        nargs="+",
        default=list(models.MODEL_KINDS),
        choices=models.MODEL_KINDS,
        help="model kinds to search",
    )
    parser.add_argument(
        "--units",
        nargs="+",
        type=cli.positive_int,
        default=list(DEFAULT_UNITS),
        help="numbers R of recurrent hidden units (the outer loop, in this "
        "order)",
    )
    parser.add_argument(
        "--learning-rates",
        nargs="+",
        type=cli.positive_float,
        default=list(DEFAULT_LEARNING_RATES),
        help="Adam learning rates, each tried with the first seed",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=cli.non_negative_int,
        default=[0],
        help="seeds of the weights and the training: the first for every "
        "learning rate, the others at the learning rate best on validation",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=variants.FAST_WEIGHTS_VARIANTS,
        default=None,
        help="an ablation study: these variants of the fast-weights layer "
        "as a grid axis (with --models fast_weights)",
    )
    parser.add_argument(
        "--update-rule",
        nargs="+",
        choices=models.UPDATE_RULES,
        default=None,
        help="a grid axis: these update rules of the fast memory (with "
        "--models fast_weights)",
    )
    parser.add_argument(
        "--clipnorm",
        nargs="+",
        type=cli.non_negative_float,
        default=None,
        help="a grid axis: Adam clips the global gradient norm to each "
        "value (0: no clipping; without the flag, none and no axis)",
    )
    parser.add_argument(
        "--widen",
        action="store_true",
        help="widen each cell's learning rates along "
        f"{' '.join(f'{r:g}' for r in tuning.LEARNING_RATE_LADDER)}: "
        "while the best on validation is the smallest or largest tried, "
        "try the next beyond it",
    )
    parser.add_argument(
        "--sensitivity",
        nargs="+",
        type=cli.model_units,
        default=None,
        metavar="MODEL:UNITS",
        help="cells (e.g. fast_weights:50) that also run every seed at "
        "every learning rate tried, after the protocol's runs",
    )
    cli.add_epochs_argument(parser)
    cli.add_data_arguments(parser)
    parser.add_argument(
        "--directory",
        default=os.path.join("runs", "grid_search"),
        help="where the tuner keeps its state and the tables are written",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="start over; without it a rerun resumes the search",
    )
    study_cli.add_resume_elsewhere_argument(parser)
    parser.add_argument(
        "--table-only",
        action="store_true",
        help="run no trial: write the tables from the trials finished so far "
        "(e.g. while the search goes on in another process)",
    )
    parser.add_argument(
        "--workers",
        type=cli.non_negative_int,
        default=0,
        help="run one chief and this many single-threaded worker processes "
        "on this machine (0: one ordinary process)",
    )
    parser.add_argument(
        "--worker-restarts",
        type=cli.non_negative_int,
        default=3,
        help="with --workers: how many times each worker that dies is "
        "started again under its tuner id (the chief waits for its trial)",
    )
    parser.add_argument(
        "--verbose",
        type=int,
        choices=[0, 1, 2],
        default=1,
        help="Keras verbosity during training",
    )
    args = cli.resolve_epochs(parser.parse_args(argv))
    try:
        args.grid = tuning.check_grid(
            args.models,
            args.units,
            args.learning_rates,
            args.seeds,
            args.variants,
            update_rules=args.update_rule,
            clipnorms=args.clipnorm,
            widen=args.widen,
            sensitivity=args.sensitivity,
        )
    except ValueError as error:
        parser.error(str(error))
    if args.table_only and (args.workers or args.overwrite):
        parser.error("--table-only runs nothing: drop --workers/--overwrite")
    if args.workers and any(v in os.environ for v in ORACLE_VARIABLES):
        parser.error("--workers starts its own chief: unset KERASTUNER_*")
    return args


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_local(args, argv):
    """Runs one chief and `args.workers` workers on 127.0.0.1 and waits,
    starting a worker that died again under its tuner id (at most
    `args.worker_restarts` times each). Returns the exit code: the one
    furthest from 0, or 1 when a worker died once too often (the others
    and the chief are then stopped: rerun the command to resume)."""
    command = [sys.executable, os.path.abspath(__file__)]
    # The same flags, without the launcher's (each child is one tuner).
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--workers", "--worker-restarts"):
            skip = True
        elif not arg.startswith(("--workers=", "--worker-restarts=")):
            command.append(arg)
    oracle = {
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": str(free_port()),
    }
    chief = subprocess.Popen(
        command, env={**os.environ, **oracle, "KERASTUNER_TUNER_ID": "chief"}
    )
    # Give the chief's oracle server a moment to listen.
    time.sleep(3)

    def start_worker(i):
        worker = subprocess.Popen(
            command,
            env={
                **os.environ,
                **oracle,
                **SINGLE_THREAD_ENV,
                "KERASTUNER_TUNER_ID": f"tuner{i}",
            },
        )
        print(f"worker tuner{i} started (pid {worker.pid})", flush=True)
        return worker

    workers = [start_worker(i) for i in range(args.workers)]
    restarts = [0] * args.workers
    codes = []
    try:
        while workers:
            time.sleep(1)
            for i, worker in enumerate(workers):
                code = worker.poll()
                if code is None or code == 0:
                    continue
                if restarts[i] == args.worker_restarts:
                    print(
                        f"worker tuner{i} ended with exit code {code} after "
                        f"{restarts[i]} restarts: stopping the search; "
                        "rerun the command to resume it",
                        flush=True,
                    )
                    for process in [chief, *workers]:
                        process.terminate()
                    return 1
                restarts[i] += 1
                print(
                    f"worker tuner{i} ended with exit code {code}: starting "
                    f"it again (restart {restarts[i]} of "
                    f"{args.worker_restarts}); its trial goes on from its "
                    "backup",
                    flush=True,
                )
                workers[i] = start_worker(i)
            if all(worker.poll() == 0 for worker in workers):
                codes = [worker.returncode for worker in workers]
                break
        codes.append(chief.wait())
    except KeyboardInterrupt:
        for process in [chief, *workers]:
            process.terminate()
        raise
    return max(codes, key=abs)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.workers:
        return launch_local(args, argv)

    from fastweights_study import reporting
    from fastweights_study import tuning

    from keras_fastweights import cli
    from keras_fastweights import training

    train, val_data, test_data = cli.load_data(args)
    settings = {
        "num_pairs": args.num_pairs,
        "num_train": args.num_train,
        "num_val": args.num_val,
        "num_test": args.num_test,
        "data_seed": args.data_seed,
        "epochs": args.epochs,
        "batch_size": training.BATCH_SIZE,
    }
    if args.schedule != "constant":
        # Only then: the searches begun before there was a schedule resume.
        settings["schedule"] = args.schedule
    try:
        tuner = tuning.make_tuner(
            args.grid,
            args.directory,
            overwrite=args.overwrite,
            settings=settings,
            resume_elsewhere=args.resume_elsewhere,
            num_pairs=args.num_pairs,
            epochs=args.epochs,
            schedule=args.schedule,
        )
    except ValueError as error:
        print(f"grid_search.py: error: {error}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    if not args.table_only:
        tuner.search(
            *train,
            validation_data=val_data,
            test_data=test_data,
            verbose=args.verbose,
        )
    if tuning.is_worker():
        return 0  # The chief writes the tables.

    runs = tuning.run_rows(tuner)
    reporting.table1.write_table1(runs, args.directory, args.grid)
    done, planned = tuner.progress()
    kept = len(runs) - done
    print(
        f"{done} of {planned} trials complete"
        + (f" (and {kept} kept from before the grid grew)" if kept else "")
        + f" ({time.perf_counter() - start:.0f} s this run); tables written "
        f"to {args.directory}"
    )
    with open(os.path.join(args.directory, "table1.md")) as file:
        print(file.read().split("\n\n")[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
