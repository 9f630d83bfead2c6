#!/usr/bin/env bash
# Every long run behind results/, each resumable: run this script again
# after an interruption and it goes on where it stopped (finished trials
# are kept; an interrupted trial runs again from its start).
#
#   nohup bash tuning/reproduce.sh > results/reproduce.log 2>&1 &
#
# `bash tuning/reproduce.sh table1` or `... studies` runs one lane alone
# (and its reports), for resuming one lane while the other still runs.
#
# Two lanes run side by side, since a run keeps about one core busy (JAX on
# a CPU, batches of 128): lane 1 writes to the log above, lane 2 to
# results/reproduce_studies.log. Each search has its own directory, so the
# lanes never touch the same records.
#
# Lane 1. Table 1 and Figure 2 (issue 10): 4 models x R = 50, 20, 100; the
#    learning rate chosen on validation at seed 0, then seeds 1 and 2.
#    Then a longer budget, outside the protocol: fast weights at R = 100
#    (Table 1's cell furthest from the paper) at its chosen learning rate,
#    seeds 0-2, for 300 epochs instead of 100; the first 100 epochs of each
#    repeat Table 1's run of that seed.
# Lane 2. The ablation study (docs/method.md): K = 4, R = 20, learning rate
#    0.001, seeds 0-2, the paper's fast-weights layer and one change each.
#    Then capacity: fast weights and the LSTM at R = 50 against K (K = 4 is
#    in lane 1), learning rate chosen at seed 0, then seeds 1 and 2.
# When both are done, the results of lane 2: ablation.csv,
# ablation_runs.csv, ablation.md and ablation.png; capacity.csv,
# capacity.md and capacity.png (K = 4 from lane 1's search, with its three
# seeds); capacity_errors.csv, .md and .png (from the trials' checkpoints).
set -euo pipefail
cd "$(dirname "$0")/.."
export KERAS_BACKEND="${KERAS_BACKEND:-jax}"
search="python tuning/grid_search.py --verbose 2"

table1() {
    $search --directory results/table1_search \
        --models fast_weights lstm associative_lstm irnn --units 50 20 100 \
        --learning-rates 0.0003 0.001 0.003 --seeds 0 1 2
    python tuning/report.py --directory results/table1_search --output results
}

longer_budget() {
    $search --directory results/longer_budget/r100_search \
        --models fast_weights --units 100 --learning-rates 0.0003 \
        --seeds 0 1 2 --epochs 300
}

studies() {
    $search --directory results/ablation_search \
        --models fast_weights --units 20 --learning-rates 0.001 --seeds 0 1 2 \
        --variants paper no_fast_memory no_layer_norm inner_steps_2 \
        inner_steps_3 decay_0.5 decay_0.9 decay_1.0
    for pairs in 2 6 8 10 12; do
        $search --directory "results/capacity_search/k$pairs" \
            --num-pairs "$pairs" --models fast_weights lstm --units 50 \
            --learning-rates 0.0003 0.001 0.003 --seeds 0 1 2
    done
}

studies_reports() {
    python tuning/ablation_report.py --directory results/ablation_search \
        --output results
    python tuning/capacity_report.py --directories results/table1_search \
        results/capacity_search/k{2,6,8,10,12} --output results
    python tuning/capacity_errors.py --output results
}

case "${1:-both}" in
    both)
        { table1 && longer_budget; } &
        lane1=$!
        studies > results/reproduce_studies.log 2>&1 &
        lane2=$!
        wait "$lane1"
        wait "$lane2"
        studies_reports
        ;;
    table1) table1 && longer_budget ;;
    studies) studies && studies_reports ;;
    *)
        echo "usage: bash tuning/reproduce.sh [both|table1|studies]" >&2
        exit 2
        ;;
esac
