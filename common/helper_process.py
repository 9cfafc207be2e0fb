"""Work handed to a helper process, whose results this process takes one at a time as it goes on
with its own work: the two run on two cores, which threads cannot do (the GIL).

The helper is spawned (a new interpreter: nothing of this process, its database connection least of
all, is copied into it), sends each item through a pipe that holds about one item, so that neither
side runs far ahead of the other, can be told how to go on (`tell`, read by its `Inbox`), and ignores Ctrl-C: that is this process's to handle, and it ends
the helper when it stops reading, whatever the reason.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from typing import Callable, Iterable, Iterator

from .errors import FupinError


class Inbox:
    """What the helper was last told (`HelperProcess.tell`), read without waiting."""

    def __init__(self, pipe, first: object):
        self._pipe, self._latest = pipe, first

    def latest(self) -> object:
        while self._pipe.poll():
            self._latest = self._pipe.recv()
        return self._latest


def _run(produce: Callable[..., Iterable[object]], args: tuple, pipe, told: object) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        try:
            for item in produce(*args, Inbox(pipe, told)):
                pipe.send(("item", item))
        except FupinError as exc:
            pipe.send(("refused", exc))
            return
        except Exception as exc:  # noqa: BLE001 - told to the parent, which raises it as a message
            pipe.send(("failed", f"{type(exc).__name__}: {exc}"))
            return
        pipe.send(("done", None))
    except OSError:
        return  # the parent stopped reading (it failed or was interrupted): nothing more to do
    finally:
        pipe.close()


class HelperProcess:
    """`produce(*args, inbox)`'s items, produced in a helper process (`inbox.latest()`: what it was last
    told, at first `told`); use in a `with` block, which ends the helper however the block ends. A
    FupinError raised by `produce` is raised here as it was."""

    def __init__(self, produce: Callable[..., Iterable[object]], *args: object, told: object = None,
                 what: str = "the helper"):
        self.what = what
        context = multiprocessing.get_context("spawn")
        self._pipe, theirs = context.Pipe()
        self.process = context.Process(target=_run, args=(produce, args, theirs, told), daemon=True)
        # The helper starts with Ctrl-C ignored (an interpreter keeps an ignored SIGINT ignored), so that
        # one pressed while it starts up prints no traceback of its own.
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
        try:
            self.process.start()
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)
            theirs.close()

    def __iter__(self) -> Iterator[object]:
        while True:
            try:
                kind, value = self._pipe.recv()
            except EOFError:
                self.process.join()
                raise FupinError(f"{self.what} ended unexpectedly (exit code {self.process.exitcode})") from None
            if kind == "item":
                yield value
            elif kind == "done":
                return
            elif kind == "refused":
                raise value
            else:
                raise FupinError(f"{self.what} failed: {value}")

    def ready(self) -> bool:
        """Whether the helper's next item (or its end) is already waiting: it is ahead of this process."""
        try:
            return self._pipe.poll()
        except OSError:
            return False

    def tell(self, message: object) -> None:
        try:
            self._pipe.send(message)
        except OSError:
            pass  # it has produced everything and ended: nothing left to tell it

    def close(self) -> None:
        """Ends the helper: done, or stopped early (a problem here, Ctrl-C), when what it still does is of no use."""
        self._pipe.close()
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()

    def __enter__(self) -> "HelperProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
