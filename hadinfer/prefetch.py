"""Run a producer in a background thread, a bounded number of items ahead."""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
_DONE = object()


class Slots:
    """How many produced items a pipeline holds at once, wherever they are in it.

    :func:`prefetch` takes a slot before producing each item, and the item gives it back
    when it is no longer needed (the pipeline ties that to the read window's memory being
    freed, :func:`weakref.finalize`), so a pipeline of several threaded stages holds at
    most ``count`` items (read windows: 26 to 38 MB each) however its stages race.  Without
    it the peak depended on how the threads happened to interleave, and grew with the
    number of tiles.

    Parameters
    ----------
    count : int
        At least 1.  It must cover every item a stage holds while it waits for the next
        (e.g. a batch being formed), or the producer waits for nothing.
    patience : float
        Seconds the producer waits for a slot before it goes on without one (counted, and
        paid back by the next slot given back): a missed give-back slows the pipeline and
        loosens the bound, but can never hang a run.
    """

    def __init__(self, count: int, patience: float = 30.0):
        if count < 1:
            raise ValueError(f"Slots: count must be at least 1, got {count}")
        self.patience = patience
        self.overdrawn = 0
        self._free = threading.Semaphore(count)
        self._lock = threading.Lock()

    def take(self, stop: threading.Event) -> bool:
        """Wait for a free slot; False once ``stop`` is set (the consumer went away)."""
        deadline = time.monotonic() + self.patience
        while not stop.is_set():
            if self._free.acquire(timeout=0.1):
                return True
            if time.monotonic() >= deadline:
                with self._lock:
                    self.overdrawn += 1
                return True
        return False

    def give_back(self) -> None:
        """Free the slot of one item no stage needs any more."""
        with self._lock:
            if self.overdrawn:
                self.overdrawn -= 1
                return
        self._free.release()


def prefetch(produce: Callable[[], Iterable[T]], depth: int = 2, slots: Slots | None = None) -> Iterator[T]:
    """Yield what ``produce()`` yields, computed in a thread up to ``depth`` items ahead.

    Memory stays bounded by ``depth`` items, or with ``slots`` by the slots' count over
    the whole pipeline (one slot is taken before each item is produced).  An exception in
    the producer is re-raised in the consumer; a consumer that stops early (error,
    Ctrl-C) stops the producer.  The thread starts when the first item is asked for; a
    :class:`ReadAhead` starts it at once.
    """
    yield from ReadAhead(produce, depth, slots)  # its iteration closes it, however it ends


class ReadAhead:
    """:func:`prefetch`'s thread, started when this is made, before anyone asks for an item.

    For work whose input does not depend on what runs first: the scoring pass's read
    windows are read while the detector is fitted on the statistics (the fit ran on the
    main thread with both cores otherwise idle, and the first tiles then waited for their
    windows).  Iterate it once; :meth:`close` (also called when the iteration ends, fails
    or is abandoned) stops the thread, which otherwise waits for a consumer, holding up to
    ``depth`` items.
    """

    def __init__(self, produce: Callable[[], Iterable[T]], depth: int = 2, slots: Slots | None = None):
        self._items: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(produce, slots), name="hadinfer-prefetch",
                                        daemon=True)
        try:
            self._thread.start()  # inside the try: Ctrl-C or SIGTERM can land while it waits for the thread
        except BaseException:
            self.close()
            raise

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, produce, slots) -> None:
        try:
            produced = iter(produce())
            while slots is None or slots.take(self._stop):
                item = next(produced, _DONE)
                if item is _DONE:
                    break
                if not self._put((item, None)):
                    return
                del item  # handed on: not kept alive while the next one is produced
            self._put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put((_DONE, exc))

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                item, error = self._items.get()
                if error is not None:
                    raise error
                if item is _DONE:
                    return
                yield item
                del item  # the consumer has it: not kept alive while waiting for the next one
        finally:
            self.close()

    def close(self) -> None:
        """Stop the thread and wait for it (items it still holds are dropped)."""
        self._stop.set()
        _join(self._thread, timeout=5.0)


def ordered_map(function: Callable[[T], R], items: Iterable[T], workers: int, name: str) -> Iterator[R]:
    """Yield ``function(item)`` for each item, in order, computed in ``workers`` threads.

    At most ``workers`` items are in flight, so memory stays bounded; each result is
    yielded as soon as it and those before it are done.
    """
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(function, item))
            del item  # held by its task until done, not by this loop while it waits
            while len(pending) >= workers or (pending and pending[0].done()):
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _join(thread: threading.Thread, timeout: float) -> None:
    """Wait for ``thread`` to end, even if its ``start()`` was interrupted.

    An interrupt inside ``start()`` leaves a thread that runs but has not yet said so,
    and ``join`` refuses such a thread; returning without it would let the producer
    read a scene that the caller is about to close.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
            return
        except RuntimeError:  # not started yet, or start() itself failed
            if time.monotonic() >= deadline:
                return
            time.sleep(0.001)


class BackgroundSink:
    """Consume items in a thread (e.g. write tiles) while the caller computes the next.

    Parameters
    ----------
    consume : callable
        Called with each item, in order, in the background thread.
    depth : int
        Items queued at most; :meth:`put` blocks beyond that (bounded memory).
    """

    def __init__(self, consume: Callable[[T], None], depth: int = 2):
        self._consume = consume
        self._items: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hadinfer-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._items.get()
            if item is _DONE:
                return
            if self._error is None:
                try:
                    self._consume(item)
                except BaseException as exc:  # re-raised in the caller's thread
                    self._error = exc

    def put(self, item: T) -> None:
        """Queue an item; re-raise an earlier failure of ``consume``."""
        if self._error is not None:
            raise self._error
        self._items.put(item)

    def close(self) -> None:
        """Wait until everything is consumed; re-raise a failure of ``consume``."""
        self._items.put(_DONE)
        self._thread.join()
        if self._error is not None:
            raise self._error
