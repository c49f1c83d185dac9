"""The scheduler loop: every tick, claim due rows of each kind and enqueue their ids."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from nurture.accounts.services import run_account_jobs
from nurture.app.guard import run_guard_jobs
from nurture.app.journeys_console import refresh_rollups
from nurture.app.runtime import Runtime
from nurture.app.scheduler.claims import DUE_WORK, PRIORITY_SENDS, claim_due, release_expired
from nurture.audiences.triggers import run_segment_jobs
from nurture.broadcasts.services import due_winners
from nurture.errors import NurtureError
from nurture.idempotency.services import run_idempotency_jobs
from nurture.inbound.imap import poll_mailbox
from nurture.inbound.services import forget_old
from nurture.sending.retention import run_send_jobs
from nurture.stages import stage
from nurture.trials.lifecycle import run_trial_jobs
from referral.services import run_referral_jobs
from scoring.services import run_scoring_jobs

log = logging.getLogger(__name__)


def claim_and_enqueue(rt: Runtime, kind: str, max_rounds: int = 100,
                      between: Callable[[], object] | None = None) -> int:
    """Claim every due row of one kind, a batch per statement, and enqueue the ids. On
    PostgreSQL, when a batch comes back full, more threads join in: SKIP LOCKED keeps
    them off each other's rows, and the per-row cost of writing leases is shared by cores.
    `between` runs after each full round (the tick claims the priority lane there)."""
    with rt.db.transaction() as session:
        released = release_expired(session, kind, rt.clock.now())
    if released:
        log.warning("scheduler: %d %s leases ran out; their work is claimed again",
                    released, kind)
    first = _rounds(rt, kind, 1, between)
    if first < rt.settings.claim_batch:
        return first
    threads = rt.settings.claim_threads if rt.db.is_postgres else 1
    if threads == 1:
        return first + _rounds(rt, kind, max_rounds - 1, between)
    with ThreadPoolExecutor(threads) as pool:
        return first + sum(pool.map(lambda n: _rounds(rt, kind, n, between),
                                    [max_rounds // threads] * threads))


def _rounds(rt: Runtime, kind: str, limit: int,
            between: Callable[[], object] | None = None) -> int:
    """Up to `limit` claims of a batch each, until one comes back short."""
    total = 0
    for _ in range(limit):
        began = time.perf_counter()
        with stage("claim"), rt.db.transaction() as session:
            ids = claim_due(session, kind, rt.clock.now(), rt.lease, rt.settings.claim_batch)
        if ids:  # how long each claim takes as tables grow (`nurture bench scale` reads it)
            log.info("scheduler: claimed %d %s in %.1f ms", len(ids), kind,
                     (time.perf_counter() - began) * 1000)
        # Enqueued after the commit: if we die in between, the lease runs out and the
        # rows are claimed again.
        rt.kick(kind, ids)
        total += len(ids)
        if len(ids) < rt.settings.claim_batch:
            break
        if between is not None:  # a backlog: more rounds follow
            between()
    return total


def tick(rt: Runtime, max_rounds: int = 100) -> dict[str, int]:
    """One pass: returns how many ids of each kind were claimed and enqueued.

    The priority lane (`nurture.sending.lanes`) is claimed first, and again after every
    full round of every other kind: a broadcast's 100,000 sends take twenty rounds to
    claim, and a log-in email due meanwhile (a retry, a lease run out) does not wait for
    them."""
    claimed = dict.fromkeys(DUE_WORK, 0)
    lock = threading.Lock()  # on PostgreSQL, rounds run on several threads

    def priority() -> None:
        count = _rounds(rt, PRIORITY_SENDS, 1)
        with lock:
            claimed[PRIORITY_SENDS] += count

    claimed[PRIORITY_SENDS] = claim_and_enqueue(rt, PRIORITY_SENDS, max_rounds)
    for kind in DUE_WORK:
        if kind != PRIORITY_SENDS:
            count = claim_and_enqueue(rt, kind, max_rounds, between=priority)
            with lock:
                claimed[kind] += count
    return claimed


JOBS_EVERY = 60.0  # seconds between runs of the periodic jobs (trial expiry, data deletion)
SCORING_EVERY = 3600.0  # decay moves scores slowly: hourly keeps them to the point


def _poll_inbound(rt: Runtime) -> None:
    """The unsubscribe mailbox and bounces, when NURTURE_INBOUND_IMAP_URL is set; a mailbox
    that cannot be read is logged and tried again at the next run of the jobs."""
    forgotten = forget_old(rt)  # what either inbound path handled long ago
    if forgotten:
        log.info("scheduler: inbound mail: %d old messages forgotten", forgotten)
    if rt.settings.inbound.imap_url is None:
        return
    try:
        polled = poll_mailbox(rt, rt.settings)
    except NurtureError as exc:
        log.warning("scheduler: inbound mail: %s", exc)
        return
    if polled:
        log.info("scheduler: inbound mail %s", polled)


def run(rt: Runtime, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    log.info("scheduler: polling every %.1fs", rt.settings.poll_seconds)
    if not rt.settings.reads_unsubscribe_mail:
        log.warning("Marketing email offers only the one-click unsubscribe link, no mailto: "
                    "nothing reads unsubscribe@%s. Set NURTURE_INBOUND_IMAP_URL to the "
                    "mailbox that receives it, or NURTURE_INBOUND_WEBHOOK=1 with "
                    "NURTURE_API_KEY when a relay forwards it to POST /api/inbound "
                    "(docs/delivery.md).", rt.settings.mail_domain)
    jobs_due = scoring_due = time.monotonic()
    while not stop.is_set():
        started = time.monotonic()
        try:
            claimed = tick(rt)
            if any(claimed.values()):
                log.info("scheduler: enqueued %s", claimed)
            if started >= jobs_due:  # safe on several schedulers at once: conditional updates
                jobs_due = started + JOBS_EVERY
                done = run_trial_jobs(rt, rt.settings)
                if any(done.values()):
                    log.info("scheduler: trials %s", done)
                erased = run_account_jobs(rt)  # departed accounts past their retention
                if any(erased.values()):
                    log.info("scheduler: accounts %s", erased)
                rewarded = run_referral_jobs(rt)  # rewards past their hold period
                if any(rewarded.values()):
                    log.info("scheduler: referrals %s", rewarded)
                guarded = run_guard_jobs(rt)  # journeys past a complaint or bounce rate
                if any(guarded.values()):
                    log.warning("scheduler: guard %s", guarded)
                refresh_rollups(rt)  # large journeys' counts, for their console pages
                entered = run_segment_jobs(rt.db, rt.versions, rt.clock.now())
                if any(entered.values()):
                    log.info("scheduler: segments %s", entered)
                # A/B tests whose window ended: the winner goes to the rest.
                winners = due_winners(rt.db, rt.clock.now(), rt.settings.timezone)
                if any(winners.values()):
                    log.info("scheduler: broadcasts %s", winners)
                pruned = run_send_jobs(rt, rt.settings)  # sends older than their links
                if any(pruned.values()):
                    log.info("scheduler: sends %s", pruned)
                forgotten = run_idempotency_jobs(rt)  # API idempotency keys past a day
                if any(forgotten.values()):
                    log.info("scheduler: idempotency keys %s", forgotten)
                _poll_inbound(rt)
            if started >= scoring_due:
                scoring_due = started + SCORING_EVERY
                scored = run_scoring_jobs(rt, rt.settings, rt.db)
                if any(scored.values()):
                    log.info("scheduler: scoring %s", scored)
        except Exception:  # a database hiccup must not end the scheduler
            log.exception("scheduler tick failed; retrying")
        stop.wait(max(0.0, rt.settings.poll_seconds - (time.monotonic() - started)))
