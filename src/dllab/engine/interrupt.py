"""Ctrl-C at step boundaries: the first SIGINT is only noted, and the training loop stops at the
end of the step it interrupted (`CtrlC.check`), so that a checkpoint never holds half a step's
bookkeeping; a second Ctrl-C interrupts at once, as Python does."""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CtrlC:
    """Whether Ctrl-C was pressed during the block of `ctrl_c_at_step_boundaries`."""

    asked = False

    def check(self) -> None:
        """Called between two steps, where the training state is whole."""
        if self.asked:
            raise KeyboardInterrupt


@contextmanager
def ctrl_c_at_step_boundaries() -> Iterator[CtrlC]:
    """Defer the first Ctrl-C to the next `check`; outside the main thread signals cannot be
    caught, and nothing changes."""
    state = CtrlC()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def ask(signum, frame):
        state.asked = True
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, ask)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)
