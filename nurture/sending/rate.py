"""A cap on messages per second across every worker (`NURTURE_SEND_RATE`), for a mail relay
that allows so many (Amazon SES, a provider's plan, a warming-up IP). Over the cap a relay
answers 4xx, and every refused send waits minutes for its retry; under it, a worker waits
the fraction of a second the cap asks.

Counted in one-second windows: in the database's Redis when there is one, so that every
worker process counts together, otherwise in this process. Without the setting, senders
are not wrapped and nothing is counted. The setting is read and checked with the others
(`Settings.sending.rate`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Counter = Callable[[int], int]  # window (whole seconds) -> messages counted in it, this one too


class Gate:
    """Lets `rate` messages through per one-second window; `wait()` blocks until this one
    may go. Time and sleep are parameters, so tests run it on a virtual clock."""

    def __init__(self, rate: int, count: Counter, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep):
        self.rate, self.count, self.clock, self.sleep = rate, count, clock, sleep

    def wait(self) -> float:
        """Block until a message may go; returns the seconds waited."""
        waited = 0.0
        while True:
            now = self.clock()
            window = int(now)
            if self.count(window) <= self.rate:
                return waited
            pause = window + 1 - now
            self.sleep(pause)
            waited += pause


def memory_counter() -> Counter:
    """Counts in this process (the embedded default: one process sends)."""
    lock = threading.Lock()
    counts: dict[int, int] = {}

    def count(window: int) -> int:
        with lock:
            for old in [w for w in counts if w < window]:
                del counts[old]
            counts[window] = counts.get(window, 0) + 1
            return counts[window]

    return count


def redis_counter(url: str, namespace: str) -> Counter:
    """Counts in Redis, shared by every worker process: one round trip a message."""
    # Imported only where a Redis URL is set: a process without one is spared its 0.2 s.
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(url)

    def count(window: int) -> int:
        key = f"{namespace}:send-rate:{window}"
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, 5)
        return int(pipe.execute()[0])

    return count
