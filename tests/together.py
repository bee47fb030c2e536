"""Whether requests were in flight at the same time, told without a clock."""

from __future__ import annotations

import threading


class Together:
    """Until `count` requests are in flight at once, each request that reaches `wait()`
    waits there for the others, at most `patience` seconds (then it goes on, no longer in
    flight: asked one after another, requests never overlap). `met`: whether `count`
    were in flight at once, which is what "at the same time" means; once met, no request
    waits. `patience` must be shorter than the client's own timeout, so that a client
    that gave up and asked again is not counted twice."""

    def __init__(self, count: int, patience: float = 10.0):
        self.count, self.patience = count, patience
        self.in_flight = 0
        self._lock = threading.Lock()
        self._met = threading.Event()

    def wait(self) -> None:
        with self._lock:
            if self._met.is_set():
                return
            self.in_flight += 1
            if self.in_flight >= self.count:
                self._met.set()
        self._met.wait(self.patience)
        with self._lock:
            self.in_flight -= 1

    @property
    def met(self) -> bool:
        return self._met.is_set()
