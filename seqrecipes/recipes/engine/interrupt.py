"""Ctrl-C during training, made certain: the interrupt is noted when it arrives and raised
where the training loop can stop cleanly.

Python's default SIGINT handler raises `KeyboardInterrupt` wherever the main thread happens to
be when the interpreter runs the handler. During a JAX `fit` that is often inside library code
that swallows it: a `__del__` (Python prints "Exception ignored in ..." and goes on), a
callback invoked from C++, a `try/except BaseException` clean-up. Measured on the NER recipe
on JAX (CoNLL-2003's first 1 MB): SIGINT at epoch 7 was lost twice in three trials, the epochs
went on; the third stopped, then the process died of a segmentation fault at exit.

So while `training.fit_resumable` runs, SIGINT only sets a flag (`noted`), and the
`StopOnInterrupt` callback raises `KeyboardInterrupt` at the next end of a block of batches,
of a validation batch or of an epoch: from Keras's own Python loop, on the main thread, where
nothing catches it. The epochs committed so far stay, and the same command resumes. A second
Ctrl-C raises at once, wherever the main thread is (as before), for a run stuck in a long
call: compiling, or a dev-set pass of a recipe's callback.

Only Python's own handler is replaced: a handler a caller installed (a notebook's, a
server's) and an ignored SIGINT (a background job) are left alone, as is a fit outside the
main thread (only the main thread may set handlers).
"""

import contextlib
import signal
import sys
import threading


class _Noted:
    """The SIGINT handler during a fit: the first signal is noted, the second raises."""

    def __init__(self):
        self.count = 0

    def __call__(self, signum, frame):
        self.count += 1
        if self.count > 1:
            raise KeyboardInterrupt
        print("\nInterrupted: stopping after the current batches (Ctrl-C again to stop at "
              "once). Run the same command again to resume from the last finished epoch.",
              file=sys.stderr, flush=True)


@contextlib.contextmanager
def deferred():
    """Within it, SIGINT is noted rather than raised (see the module's docstring); yields
    the `_Noted` handler, or None where Python's own handler is not the one in place."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield None
        return
    noted = _Noted()
    signal.signal(signal.SIGINT, noted)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def stop_on_interrupt(noted):
    """A Keras callback that raises `KeyboardInterrupt` once `noted` (from `deferred`) has
    seen a SIGINT, at the end of a block of training batches, of a validation batch, or of an
    epoch; put it after the callback that commits the epoch, so a finished epoch is kept."""
    import keras

    class StopOnInterrupt(keras.callbacks.Callback):
        def _check(self, *args, **kwargs):
            if noted is not None and noted.count:
                raise KeyboardInterrupt

        on_train_batch_end = on_test_batch_end = on_epoch_begin = on_epoch_end = _check

    return StopOnInterrupt()
