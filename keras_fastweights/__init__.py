"""Fast weights (Ba et al., 2016) as a Keras 3 recurrent layer.

The layers (`FastWeightsRNNCell`, `FastWeightsRNN`, and the Associative
LSTM of the paper's Table 1), the associative-retrieval data set
(`datasets`), the paper's models (`models`), their training recipe
(`training`), the fast memory's inspection (`inspection`) and the
argument checks they share, for code built on the package too
(`validation`). Importing the package imports Keras and NumPy only;
`plotting` (matplotlib) is imported when used.
"""

from keras_fastweights import datasets
from keras_fastweights import inspection
from keras_fastweights import models
from keras_fastweights import training
from keras_fastweights.layers import AssociativeLSTM
from keras_fastweights.layers import AssociativeLSTMCell
from keras_fastweights.layers import FastWeightsRNN
from keras_fastweights.layers import FastWeightsRNNCell

__version__ = "0.1.0"  # the one copy: pyproject.toml reads it (static)

__all__ = [
    "AssociativeLSTM",
    "AssociativeLSTMCell",
    "FastWeightsRNN",
    "FastWeightsRNNCell",
    "__version__",
]
__all__ += ["datasets", "inspection", "models", "training"]
