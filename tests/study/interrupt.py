"""A callback that interrupts a training, as the end of a session does."""

import keras


class StopAtEpoch(keras.callbacks.Callback):
    """Interrupts training as the given epoch begins, as if the session
    ended there."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt
