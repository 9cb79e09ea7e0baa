"""Bounded pipelines: prefetch with slots never holds more items than its slots, and stops cleanly."""

import threading
import time

import numpy as np
import pytest

from hadinfer.detectors import GlobalRX
from hadinfer.io import ArrayScene
from hadinfer.pipeline import run_detector
from hadinfer.prefetch import ReadAhead, Slots, ordered_map, prefetch


def test_items_alive_never_exceed_the_slots_however_slow_the_consumer():
    slots, lock = Slots(3), threading.Lock()
    alive, most = [0], [0]

    def produce():
        for i in range(30):
            with lock:
                alive[0] += 1
                most[0] = max(most[0], alive[0])
            yield i

    def consume(item):
        time.sleep(0.002 * (item % 3))  # workers finish out of order
        with lock:
            alive[0] -= 1
        slots.give_back()
        return item

    got = list(ordered_map(consume, prefetch(produce, depth=5, slots=slots), 2, "test"))
    assert got == list(range(30))
    assert most[0] <= 3


def test_a_consumer_that_stops_early_releases_a_producer_waiting_for_a_slot():
    slots = Slots(1)
    items = prefetch(lambda: iter(range(10)), depth=2, slots=slots)
    assert next(items) == 0  # the producer now waits for a slot nobody gives back
    start = time.perf_counter()
    items.close()
    assert time.perf_counter() - start < 1.0


def test_slots_refuse_a_count_below_one():
    with pytest.raises(ValueError, match="at least 1"):
        Slots(0)


def test_a_slot_never_given_back_slows_the_producer_but_never_hangs_it():
    slots = Slots(1, patience=0.2)
    start = time.perf_counter()
    assert list(prefetch(lambda: iter(range(4)), depth=2, slots=slots)) == [0, 1, 2, 3]
    assert 0.5 < time.perf_counter() - start < 5 and slots.overdrawn == 4  # three items and the end
    for _ in range(5):
        slots.give_back()  # four late give-backs repay the overdraft; the fifth frees the one slot
    assert slots.overdrawn == 0 and slots.take(threading.Event()) and slots.overdrawn == 0


class SlowGRX(GlobalRX):
    """GRX whose tiles take a while, counting them: the reader, left alone, would run far ahead."""

    def __init__(self):
        super().__init__()
        self.done, self.lock = 0, threading.Lock()

    def score(self, cube, valid, core=None, arrays=None):
        time.sleep(0.01)
        scores = super().score(cube, valid, core, arrays)
        with self.lock:
            self.done += 1
        return scores


def test_the_scoring_pass_holds_a_bounded_number_of_read_windows():
    cube = np.random.default_rng(0).normal(size=(160, 160, 6)).astype(np.float32)
    scene, detector, reads, most = ArrayScene(cube), SlowGRX(), [0], [0]
    read_window = scene.read_window

    def counting_read(window):
        if window.height <= 16 and window.width <= 16:  # a scoring tile's read, not the statistics window
            reads[0] += 1
            most[0] = max(most[0], reads[0] - detector.done)
        return read_window(window)

    scene.read_window = counting_read
    run_detector(scene, detector, sink=lambda tile, scores: None, tile_size=16, workers=2)
    assert detector.done == 100
    # (2 workers + 1) x 1 tile per batch + 2 preparers; without the slots the reader ran
    # ahead by its queue and every stage's hand-off (8 here)
    assert most[0] <= 5, most[0]


def test_a_read_ahead_reads_before_anyone_asks():
    started = threading.Event()

    def produce():
        started.set()
        yield from range(5)

    reader = ReadAhead(produce, depth=2)
    assert started.wait(2.0)  # nothing has iterated it yet
    assert list(reader) == [0, 1, 2, 3, 4]


def test_a_read_ahead_never_iterated_stops_when_closed():
    def endless():
        i = 0
        while True:
            yield i
            i += 1

    reader = ReadAhead(endless, depth=2)
    time.sleep(0.05)  # its queue is full: the thread waits for a consumer
    start = time.perf_counter()
    reader.close()
    assert time.perf_counter() - start < 1.0 and not reader._thread.is_alive()


class UnfittableGRX(GlobalRX):
    def fit(self, stats):
        raise RuntimeError("no fit")


def test_a_failing_fit_stops_the_scoring_pass_reader_started_beside_it():
    cube = np.random.default_rng(0).normal(size=(64, 64, 6)).astype(np.float32)
    with pytest.raises(RuntimeError, match="no fit"):
        run_detector(ArrayScene(cube), UnfittableGRX(), sink=lambda tile, scores: None, tile_size=16, workers=2)
    assert not [t for t in threading.enumerate() if t.name == "hadinfer-prefetch" and t.is_alive()]
