"""Stopping a consumer loop from a signal handler."""

import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType


@contextmanager
def stop_on_signals(signals: Sequence[int], stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop`` on any of ``signals`` while inside; previous handlers come back after.

    Signal handlers can only be installed in the main thread; elsewhere ``signals`` must be empty.
    """
    if signals and threading.current_thread() is not threading.main_thread():
        raise RuntimeError("signal handlers can only be installed from the main thread")

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop()

    previous = {signum: signal.signal(signum, on_signal) for signum in signals}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
