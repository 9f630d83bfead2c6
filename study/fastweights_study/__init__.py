"""The reproduction study of keras-fastweights: Ba et al. (2016)'s
associative-retrieval comparison (Table 1, Figure 2) and the analyses
beyond it, built on the `keras_fastweights` library, which never imports
this package.

- `tuning`: the protocol, a seeded, resumable grid search on Keras Tuner
  (learning rates chosen on validation, widened until the choice is
  interior; the other seeds at the choice);
- `variants`: the ablation's variants of the fast-weights layer;
- `reporting`: the tables, one module per product (`table1`, `ablation`,
  `capacity`, with the key-blind `plateau` rules and what they share)
  from a search's records;
- `analysis`: the plateau rule, the key-blind answer, the memory's causal
  reading and the statistics of the errors;
- `plotting`: the figures;
- `cli`: the flags the study's scripts share.

The scripts that run it are in the repository's `tuning/`; the command
that reruns every result is `tuning/reproduce.sh`.
"""
