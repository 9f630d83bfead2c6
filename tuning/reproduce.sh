#!/usr/bin/env bash
# Every long run behind results/, each resumable: run this script again
# after an interruption and it goes on where it stopped (finished trials
# are kept; an interrupted trial goes on from its last finished epoch, as
# it would have gone on, from the backup.npz in its directory, on this
# machine or another: --resume-elsewhere, since the lanes run across
# sessions on whatever CPU a session gets; a trial that went on on another
# CPU model names both, with the epoch, in its environment.json and in the
# runs' `cpu` column, and repeats exactly on neither). A grid that
# grew (--widen, more rates or seeds) extends its search: the runs it had
# are kept, only the new points run.
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
# The protocol: every cell tries the learning rates 0.0003, 0.001, 0.003
# with seed 0; with --widen, while the best on validation is the smallest
# or the largest tried, the next rate beyond it (1e-4, 3e-5 below; 1e-2,
# 3e-2 above), until the choice has a tried rate on each side (or every
# rate solved the task); then seeds 1 and 2 at the chosen rate.
#
# Lane 1. Table 1 and Figure 2: 4 models x R = 50, 20, 100, widened; then,
#    for fast weights and the LSTM at R = 20 and 50, seeds 1 and 2 at every
#    rate tried (the learning-rate sensitivity). Then the delta rule's
#    Table 1 row (below), then a longer budget, outside the protocol: fast
#    weights at R = 100 at 0.0003, seeds 0-2, 300 epochs; then the capacity
#    curve at K = 16 (the delta rule, fast weights, the LSTM).
# Lane 2. Capacity: fast weights and the LSTM at R = 50 against K (K = 4 is
#    Table 1's), widened. Gradient clipping: fast weights at R = 50, 20,
#    100 with the global gradient norm clipped at 5, widened. The ablation
#    (K = 4, R = 20): the paper's layer and one change each, at the rate
#    Table 1 chose for fast weights at R = 20 and the ladder's rate on each
#    side of it; the no-layer-norm variant again with clipping at 5.
# The delta rule (update_rule="delta", beyond the paper): a Table 1 row at
# R = 50, 20, 100 in lane 1, its capacity curve at the end of lane 2.
# Convergence (beyond the paper's protocol, `bash tuning/reproduce.sh
#    convergence`): every cell of Table 1, the delta rule's row included,
#    from the rate its 100-epoch search chose, with Keras's plateau schedule
#    and early stopping on validation accuracy (at most 300 epochs), seeds
#    0-2; the LSTM at R = 100 at a constant rate for 300 epochs beside them;
#    then table1_convergence.*. The cells run in the order of the gaps to
#    the paper (the LSTM at R = 100 and 50, fast weights at R = 20 first), the
#    A-LSTM (3x an epoch) last, its R = 100 in the other lane. Then the
#    MQAR sweep's cell (64, 4) (Zoology's task, beyond the paper), then
#    mqar.*.
# The capacity curve's last cells (`bash tuning/reproduce.sh capacity`),
#    after the A-LSTM at R = 100 at convergence: the delta rule at K = 12,
#    then K = 16 for the three series; then the
#    MQAR sweep's cell (128, 8) at d = 64, then mqar.*. Each MQAR cell is
#    one search, run by one lane; (128, 8) at d = 128 and (256, 16) do not
#    fit a CPU budget (results/README.md gives their commands).
#    `bash tuning/reproduce.sh mqar` runs both cells.
# When both are done, the causal readings of the fast-weights runs that
# the tables count (tuning/causal_readings.py), and the reports: table1.*
# (with the delta rule's row), figure2.png, plateau.*;
# ablation.*; capacity.* and capacity_errors.* (from the trials'
# checkpoints); clipping.*.
set -euo pipefail
cd "$(dirname "$0")/.."
export KERAS_BACKEND="${KERAS_BACKEND:-jax}"
search="python tuning/grid_search.py --verbose 2 --resume-elsewhere"
protocol="--learning-rates 0.0003 0.001 0.003 --seeds 0 1 2 --widen"

table1() {
    $search --directory results/table1_search \
        --models fast_weights lstm associative_lstm irnn --units 50 20 100 \
        $protocol --sensitivity fast_weights:20 fast_weights:50 lstm:20 \
        lstm:50
    table1_report
}

# table1.* and the figures, with the delta rule's row (those of its runs
# finished so far) beside the paper's models.
table1_report() {
    python tuning/report.py --directory results/table1_search \
        --output results --beside results/delta_search/table1
}

longer_budget() {
    $search --directory results/longer_budget/r100_search \
        --models fast_weights --units 100 --learning-rates 0.0003 \
        --seeds 0 1 2 --epochs 300
}

# The ablation's rates: Table 1's choice for fast weights at R = 20 and the
# ladder's rate on each side (empty, with a message, until it is chosen),
# with 0.001, at which the ablation first ran (a grid may only grow).
ablation_rates() {
    python tuning/rates_around.py --directory results/table1_search \
        --cell fast_weights:20 --include 0.001 | tail -n 1
}

# The capacity curve's search at K pairs: fast weights and the LSTM at
# R = 50; with the delta rule, its own search.
capacity() {
    $search --directory "results/capacity_search/k$1" --num-pairs "$1" \
        --models fast_weights lstm --units 50 $protocol
}

delta_capacity_at() {
    $search --directory "results/delta_search/k$1" --num-pairs "$1" \
        --models fast_weights --units 50 $protocol --update-rule delta
}

studies() {
    for pairs in 2 6 8 10 12; do
        capacity "$pairs"
    done
    $search --directory results/clipping_search/table1 \
        --models fast_weights --units 50 20 100 $protocol --clipnorm 5
    local rates
    if rates=$(ablation_rates) && [ -n "$rates" ]; then
        # shellcheck disable=SC2086  # the rates are separate arguments
        $search --directory results/ablation_search \
            --models fast_weights --units 20 --learning-rates $rates \
            --seeds 0 1 2 --variants paper no_fast_memory no_layer_norm \
            inner_steps_2 inner_steps_3 decay_0.5 decay_0.9 decay_1.0
        # shellcheck disable=SC2086
        $search --directory results/clipping_search/no_layer_norm \
            --models fast_weights --units 20 --learning-rates $rates \
            --seeds 0 1 2 --variants no_layer_norm --clipnorm 5
    else
        echo "The ablation waits for Table 1's rate at R = 20: rerun later."
    fi
}

# The delta rule (update_rule="delta"), beyond the paper: an extra Table 1
# row (lane 1) and its capacity curve at R = 50 (lane 2), both widened.
delta_table1() {
    $search --directory results/delta_search/table1 \
        --models fast_weights --units 50 20 100 $protocol --update-rule delta
    table1_report
}

delta_capacity() {
    for pairs in 2 6 8 10 12; do
        delta_capacity_at "$pairs"
    done
}

# Beyond the curve's K = 2 to 12 (when lane 1 is done): K = 16 for the
# three series, the delta rule's first.
capacity_k16() {
    delta_capacity_at 16
    capacity 16
}

# The rate a cell of Table 1 chose (the delta rule's with "delta").
chosen_rate() {
    local source=results/table1_search
    if [ "${3:-}" = delta ]; then
        source=results/delta_search/table1
    fi
    python tuning/rates_around.py --directory "$source" --cell "$1:$2" \
        --chosen | tail -n 1
}

# A cell of Table 1 at convergence: model, units and, for the delta rule's
# row, "delta"; its own search, seeds 0-2 at the chosen rate.
converge() {
    local model=$1 units=$2 rate name=$1 rule=()
    rate=$(chosen_rate "$@")
    if [ "${3:-}" = delta ]; then
        name=delta_rule rule=(--update-rule delta)
    fi
    $search --directory "results/convergence_search/${name}_$units" \
        --models "$model" --units "$units" --learning-rates "$rate" \
        --seeds 0 1 2 --schedule plateau "${rule[@]}"
}

convergence() {
    converge lstm 100
    converge lstm 50
    converge fast_weights 20
    converge fast_weights 20 delta
    converge fast_weights 50
    converge fast_weights 50 delta
    converge fast_weights 100
    converge fast_weights 100 delta
    converge lstm 20
    converge irnn 20
    converge irnn 50
    converge irnn 100
    # The budget alone: the LSTM at R = 100 at its constant rate, 300 epochs.
    $search --directory results/longer_budget/lstm_r100_search \
        --models lstm --units 100 --learning-rates "$(chosen_rate lstm 100)" \
        --seeds 0 1 2 --epochs 300
    converge associative_lstm 20
    converge associative_lstm 50
    python tuning/convergence_report.py --output results
}

# The A-LSTM at R = 100, the longest cell at convergence (3x an epoch of
# the LSTM's), runs first in the other lane, so that the A-LSTM's row lands
# with the convergence lane's last cells.
alstm_r100() {
    converge associative_lstm 100
    python tuning/convergence_report.py --output results
}

# One MQAR cell's search (sequence length, pairs, then its widths d), then
# mqar.* from every cell's runs so far. Two CPU cores run (64, 4) at d = 64
# and 128 and (128, 8) at d = 64, about twelve lane-hours
# (fastweights_study.mqar.CPU_WIDTHS says why).
mqar_cell() {
    local length=$1 pairs=$2
    shift 2
    python tuning/mqar_search.py --sequence-length "$length" \
        --num-pairs "$pairs" --d-models "$@" --resume-elsewhere
    python tuning/mqar_report.py --output results
}

capacity_finish() {
    delta_capacity_at 12
    capacity_k16
    studies_reports
}

# The causal reading of every fast-weights run the tables count (trial ids
# from the records; each needs the checkpoint this machine wrote).
causal="env KERAS_BACKEND=torch python tuning/causal_readings.py"

causal_readings() {
    $causal --directory results/table1_search
    for pairs in 6 8 10 12; do
        $causal --directory "results/capacity_search/k$pairs" \
            --prefix "k${pairs}_"
    done
    $causal --directory results/longer_budget/r100_search \
        --prefix longer_r100_
}

studies_reports() {
    python tuning/ablation_report.py --directory results/ablation_search \
        --output results
    # Their default --directories: the capacity searches of both lanes,
    # the delta rule's beside the paper's (reporting.capacity's
    # CAPACITY_DIRECTORIES; a search not yet run is skipped with a message).
    python tuning/capacity_report.py --output results
    python tuning/capacity_errors.py --keep --output results
    python tuning/clipping_report.py --output results
}

case "${1:-both}" in
    both)
        { table1 && delta_table1 && longer_budget && capacity_k16; } &
        lane1=$!
        { studies && delta_capacity; } > results/reproduce_studies.log 2>&1 &
        lane2=$!
        wait "$lane1"
        wait "$lane2"
        causal_readings
        studies_reports
        ;;
    table1) table1 && delta_table1 && longer_budget && capacity_k16 ;;
    studies) studies && delta_capacity && studies_reports ;;
    convergence) convergence && mqar_cell 64 4 64 128 ;;
    capacity) alstm_r100 && capacity_finish && mqar_cell 128 8 64 ;;
    mqar) mqar_cell 64 4 64 128 && mqar_cell 128 8 64 ;;
    *)
        echo "usage: bash tuning/reproduce.sh" \
            "[both|table1|studies|convergence|capacity|mqar]" >&2
        exit 2
        ;;
esac
