"""Closed-form baselines and measurements that explain the models' results.

Ba et al. (2016), *Using Fast Weights to Attend to the Recent Past*,
https://arxiv.org/abs/1610.06258. docs/method.md derives and uses these:

- `key_blind_bayes`: the error and log-likelihood of the best prediction
  of the associative retrieval task that ignores the queried key, the
  plateau at which every model first sits (about 61.6 % error and 1.19
  nats with 4 pairs);
- `memory_drive_ratio`: the size of the fast memory's term `A(t) h_0` of
  the inner loop against the input drive `z` of the same step;
- `input_gradient_norms`: how large the gradient of the loss is at each
  input step, the measure of how far back the gradient reaches;
- `consecutive_state_cosine`: how similar the successive hidden states
  that the memory stores are;
- `answer_probability`, `stored_state_effects` and
  `memory_causal_summary`: the probability of the right answer when stored
  states are removed from the memory that the last step reads, a causal
  reading of the memory;
- `retrieval_errors`: where a model's wrong answers come from, by the
  position of the queried pair and by whether the answer is another pair's
  digit; `queried_pair_effects` and `bonferroni_bound`: whether the error
  depends on that position more than chance allows;
- `retrieval_information_bits`: how much a sequence of the associative
  retrieval task asks the network to remember.

In four modules: `task` (the task without a model), `dynamics` (how the
layer computes), `causal` (the memory's causal reading) and `errors`
(the models' errors and their statistics); every name above is
importable from `fastweights_study.analysis` itself.
"""

from fastweights_study.analysis.causal import answer_probability
from fastweights_study.analysis.causal import memory_causal_summary
from fastweights_study.analysis.causal import stored_state_effects
from fastweights_study.analysis.dynamics import consecutive_state_cosine
from fastweights_study.analysis.dynamics import input_gradient_norms
from fastweights_study.analysis.dynamics import memory_drive_ratio
from fastweights_study.analysis.errors import bonferroni_bound
from fastweights_study.analysis.errors import queried_pair_effects
from fastweights_study.analysis.errors import retrieval_errors
from fastweights_study.analysis.errors import welch_test
from fastweights_study.analysis.task import RETRIEVAL_ROLES
from fastweights_study.analysis.task import key_blind_bayes
from fastweights_study.analysis.task import retrieval_information_bits
from fastweights_study.analysis.task import retrieval_roles

__all__ = [
    "RETRIEVAL_ROLES",
    "answer_probability",
    "bonferroni_bound",
    "consecutive_state_cosine",
    "input_gradient_norms",
    "key_blind_bayes",
    "memory_causal_summary",
    "memory_drive_ratio",
    "queried_pair_effects",
    "retrieval_errors",
    "retrieval_information_bits",
    "retrieval_roles",
    "stored_state_effects",
    "welch_test",
]
