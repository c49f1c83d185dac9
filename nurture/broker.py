"""The message transport: Redis when REDIS_URL is set, else an in-process broker.

Redis only carries ids; the database holds the work. Actors are declared on whichever broker
is installed, so nothing depends on import order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

from nurture.config import Settings

log = logging.getLogger(__name__)

QUEUES = {"advance_enrollments": "journeys", "deliver_priority_sends": "sending_priority",
          "deliver_sends": "sending", "deliver_webhooks": "webhooks",
          "escalate_handoffs": "sales", "run_imports": "imports"}
# The lane's queues (`nurture.sending.lanes`), served by threads of their own that bulk mail
# never occupies: a worker busy with a broadcast's batches of 500 holds each thread for
# seconds. The lane carries a triggered email end to end: the journey advance an event
# made due (a sign-up entering the trial journey), then the send that step wrote. Journeys
# are the lane's alone: a pool that also delivers bulk mail takes an advance into its
# prefetch and holds it there, behind a batch of 500 (measured: the welcome went out
# 500th of 601).
LANE_QUEUES = frozenset({"sending_priority", "journeys"})


@dataclass
class Transport:
    broker: dramatiq.Broker
    actors: dict[str, dramatiq.Actor] = field(default_factory=dict)
    worker: Worker | None = None  # every queue but the lane's
    lane_worker: Worker | None = None  # the lane's queues (LANE_QUEUES), its own threads

    @property
    def in_process(self) -> bool:
        return isinstance(self.broker, StubBroker)

    @property
    def runs_work(self) -> bool:
        """Whether what is sent here will be run: Redis is read by workers anywhere; the
        in-process broker only by a worker this process started."""
        return not self.in_process or self.worker is not None

    def send(self, actor: str, ids: Sequence[Any], chunk: int = 500) -> int:
        """Enqueue ids in messages of `chunk`; returns the number of messages."""
        messages = 0
        for start in range(0, len(ids), chunk):
            self.actors[actor].send(list(ids[start:start + chunk]))
            messages += 1
        return messages

    def start_worker(self, threads: int, lane_threads: int = 2,
                     poll_ms: int | None = None) -> Worker:
        """Start `threads` worker threads on every queue but the lane's, and
        `lane_threads` more on the lane's queues alone; returns the first pool."""
        others = set(QUEUES.values()) - LANE_QUEUES
        self.lane_worker = self._pool(LANE_QUEUES, lane_threads, poll_ms)
        self.worker = self._pool(others, threads, poll_ms)
        return self.worker

    def _pool(self, queues: Collection[str], threads: int, poll_ms: int | None) -> Worker:
        # How long an idle queue's consumer sleeps between polls, at most. In process it is
        # a queue wait; on Redis each poll is a round trip and a script, so an idle worker
        # polling its eight queues every 100 ms spent 7% of a core doing nothing. Tests,
        # which wait for the queues to drain hundreds of times, poll faster (`poll_ms`).
        timeout = poll_ms or (100 if self.in_process else 500)
        worker = Worker(self.broker, queues=set(queues), worker_threads=threads,
                        worker_timeout=timeout)
        # One prefetched message per thread: each message is a batch of hundreds of ids,
        # so a deeper prefetch would only park work behind a busy thread.
        worker.queue_prefetch = threads
        worker.start()
        return worker

    def stop(self) -> None:
        for worker in (self.worker, self.lane_worker):
            if worker is not None:
                worker.stop()
        self.worker = self.lane_worker = None
        self.broker.close()

    def join(self, timeout_ms: int = 60000, interval_ms: int = 100) -> None:
        """Wait until the queues are empty and the local workers are idle."""
        for queue in sorted(set(QUEUES.values())):
            if queue in self.broker.get_declared_queues():
                if self.in_process:
                    self.broker.join(queue, timeout=timeout_ms)
                else:  # RedisBroker's join polls the queue's length every `interval` ms
                    self.broker.join(  # type: ignore[call-arg]
                        queue, timeout=timeout_ms, interval=interval_ms)
        for worker in (self.lane_worker, self.worker):
            if worker is not None:
                worker.join()


def _two_pools(record: logging.LogRecord) -> bool:
    """Both thread pools (`Transport.start_worker`) add dramatiq's worker middleware to the
    one broker, as dramatiq allows; its warning that a middleware came twice is expected."""
    return "_WorkerMiddleware" not in record.getMessage()


def make_transport(settings: Settings, handlers: dict[str, Callable[..., None]]) -> Transport:
    if settings.redis_url:
        # Imported only where a Redis URL is set: a process without one is spared its 0.2 s.
        from dramatiq.brokers.redis import RedisBroker  # noqa: PLC0415

        broker: dramatiq.Broker = RedisBroker(url=settings.redis_url,
                                              namespace=settings.queue_namespace)
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    broker.logger.addFilter(_two_pools)
    transport = Transport(broker)
    for name, fn in handlers.items():
        transport.actors[name] = dramatiq.actor(
            actor_name=name, queue_name=QUEUES[name], broker=broker,
            max_retries=5, min_backoff=1000, max_backoff=60000, time_limit=600000,
        )(fn)
    return transport
