"""Test helpers, shared by every tier: a runtime on a clean database, journeys published from
text, contacts and events, the scheduler and worker run until nothing is due, and readers of
what the work left (rows, the outbox, pages); real processes for the slow tier, axe-core for
the browser tier.

What a test makes through the real app (sign-ups, referral customers, sales reps and
hand-offs, template folders) is in `tests/factories.py`. Fixtures are in `conftest.py`;
test modules import helpers from these two modules only, never from one another.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from textwrap import dedent
from typing import IO, TYPE_CHECKING, Any

import pytest
import redis
from click.testing import CliRunner, Result
from sqlalchemy import func, select, text

from journeys.loader import load_text
from journeys.models import Activity, Enrollment
from journeys.services import publish
from nurture.app.cli import main
from nurture.app.composition import build
from nurture.app.runtime import Runtime
from nurture.app.scheduler.loop import tick
from nurture.clock import FrozenClock
from nurture.config import PROJECT_ROOT, Settings
from nurture.contacts.models import Contact
from nurture.contacts.services import upsert_contacts
from nurture.db import Database
from nurture.events.bus import NewEvent
from nurture.events.models import Event
from nurture.events.services import record_many
from nurture.models import Base
from nurture.sending.models import Send
from nurture.users import services as users
from referral.models import Referral, ReferralSource, Reward, RewardTransition
from scoring.models import Handoff
from web import create_app

if TYPE_CHECKING:
    from flask.testing import FlaskClient
    from playwright.sync_api import Page

# ---- the runtime -------------------------------------------------------------------------

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, 10:00 UTC
# The broker of the tests' runtimes: Redis when NURTURE_TEST_REDIS_URL is set, else in-process.
REDIS_URL = os.environ.get("NURTURE_TEST_REDIS_URL", "")
# How often the tests' Redis consumers poll an idle queue: tests wait for the queues to drain
# hundreds of times, and production's 500 ms between polls made most of the suite's time.
TEST_POLL_MS = 10


def clean(db: Database) -> None:
    """Empty every table, so that a test starts from nothing."""
    tables = list(reversed(Base.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if db.is_postgres:
            names = ", ".join(t.name for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@contextmanager
def running(settings: Settings, clock: FrozenClock, workers: int = 4) -> Iterator[Runtime]:
    """A runtime on an empty database with its workers started, closed afterwards: the
    `rt` fixture, for tests that need other settings (`settings.with_(...)`)."""
    runtime = build(settings, clock=clock)
    clean(runtime.db)
    runtime.transport.start_worker(workers, poll_ms=TEST_POLL_MS)
    try:
        yield runtime
    finally:
        if runtime.transport is not None and not runtime.transport.in_process:
            runtime.transport.broker.flush_all()
        runtime.close()


# ---- journeys, contacts, events and the work they make ------------------------------------

# One transactional email on an event: the smallest journey that sends.
HELLO = """
    id: hi
    name: Hi
    entry: {event: custom.joined}
    steps:
      - {id: hello, send: trial-welcome, class: transactional}
"""


def publish_text(rt: Runtime, source: str) -> int:
    """Publish the journey written in `source` (YAML, indented as in a test); its version."""
    loaded = load_text(dedent(source), "test.yaml")
    assert not loaded.violations, loaded.violations
    with rt.db.transaction() as session:
        return publish(session, loaded).version


def contact(rt: Runtime, email: str = "ann@example.com", **fields: Any) -> int:
    """Add or update the contact with this address; its id."""
    with rt.db.transaction() as session:
        return upsert_contacts(session, [{"email": email, **fields}])[email.lower()]


def event(rt: Runtime, contact_id: int, type_: str, **properties: Any) -> None:
    """Record one event for the contact and run the work it makes due."""
    record_many(rt, [NewEvent(contact_id, type_, properties)])
    run_due(rt)


def record(rt: Runtime, cid: int, *types: str, **properties: Any) -> None:
    """Record one event of each type for the contact (the same properties on each), then run
    the work they make due."""
    record_many(rt, [NewEvent(cid, t, dict(properties)) for t in types])
    run_due(rt)


def run_due(rt: Runtime, rounds: int = 50) -> int:
    """Run the scheduler and the worker until nothing is due: the real path, end to end."""
    total = 0
    for _ in range(rounds):
        rt.transport.join(interval_ms=5)
        claimed = sum(tick(rt).values())
        rt.transport.join(interval_ms=5)
        if not claimed:
            return total
        total += claimed
    raise AssertionError("work kept coming due: a loop without a wait?")


def advance_clock(rt: Runtime, delta: timedelta, step: timedelta = timedelta(hours=1)) -> None:
    """Move time forward in steps, running due work at each step."""
    end = rt.clock.now() + delta
    while rt.clock.now() < end:
        rt.clock.advance(min(step, end - rt.clock.now()))
        run_due(rt)


# ---- what the work left --------------------------------------------------------------------

def sends(rt: Runtime, contact_id: int | None = None) -> list[Send]:
    """Every send (or the contact's), oldest first."""
    with rt.db.sessions() as session:
        query = select(Send).order_by(Send.id)
        if contact_id is not None:
            query = query.where(Send.contact_id == contact_id)
        return list(session.scalars(query))


def journey_sends(rt: Runtime, contact_id: int | None = None) -> list[Send]:
    """The sends journeys made (a purchase's activation email is not one), oldest first."""
    return [s for s in sends(rt, contact_id) if s.journey_id is not None]


def enrollments(rt: Runtime, contact_id: int | None = None) -> list[Enrollment]:
    """Every enrollment (or the contact's), oldest first."""
    with rt.db.sessions() as session:
        query = select(Enrollment).order_by(Enrollment.id)
        if contact_id is not None:
            query = query.where(Enrollment.contact_id == contact_id)
        return list(session.scalars(query))


def activity(rt: Runtime, kind: str) -> list[Activity]:
    """The journey activity of this kind, oldest first."""
    with rt.db.sessions() as session:
        return list(session.scalars(select(Activity).where(Activity.kind == kind)
                                    .order_by(Activity.id)))


def get_contact(rt: Runtime, contact_id: int) -> Contact:
    """The contact's row as it is now."""
    with rt.db.sessions() as session:
        return session.get(Contact, contact_id)


def count(rt: Runtime, model: Any, *where: Any) -> int:
    """How many rows of `model` match the conditions."""
    with rt.db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def rows(rt: Runtime, model: Any, *where: Any) -> list[Any]:
    """The rows of `model` that match the conditions, by id."""
    with rt.db.sessions() as session:
        return list(session.scalars(select(model).where(*where).order_by(model.id)))


def events(rt: Runtime, type_: str) -> list[Event]:
    """The recorded events of this type, oldest first."""
    with rt.db.sessions() as session:
        return list(session.scalars(select(Event).where(Event.type == type_)
                                    .order_by(Event.id)))


def language_of(rt: Runtime, email: str) -> str:
    """The language stored for the contact with this (lower-case) address."""
    with rt.db.sessions() as session:
        return session.scalar(select(Contact.language).where(Contact.email_key == email))


def outbox(rt: Runtime) -> list[EmailMessage]:
    """The messages in the file outbox, by file name."""
    return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
            for p in sorted(Path(rt.settings.outbox_dir).glob("*.eml"))]


def html_of(message: EmailMessage) -> str:
    """The HTML part of a message."""
    return message.get_body(("html",)).get_content()


def table_rows(page: str) -> list[list[str]]:
    """The text of each cell of each row in the page's table body."""
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(
        r"<td[^>]*>(.*?)</td>", row, re.S)] for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def referrals(rt: Runtime) -> list[Referral]:
    """Every referral, oldest first."""
    with rt.db.sessions() as session:
        return list(session.scalars(select(Referral).order_by(Referral.id)))


def rewards(rt: Runtime) -> list[Reward]:
    """Every referral reward, oldest first."""
    with rt.db.sessions() as session:
        return list(session.scalars(select(Reward).order_by(Reward.id)))


def transitions(rt: Runtime, reward_id: int) -> list[tuple[str, str, str]]:
    """The reward's audit trail: (from, to, actor) for each change, oldest first."""
    with rt.db.sessions() as session:
        return [(t.from_status, t.to_status, t.actor) for t in session.scalars(
            select(RewardTransition).where(RewardTransition.reward_id == reward_id)
            .order_by(RewardTransition.id))]


def source(rt: Runtime, code: str) -> ReferralSource:
    """The referral source that owns this code."""
    with rt.db.sessions() as session:
        return session.scalar(select(ReferralSource).where(ReferralSource.code == code))


def contact_id(rt: Runtime, email: str) -> int:
    """The id of the contact with this address."""
    with rt.db.sessions() as session:
        return session.scalar(select(Contact.id).where(Contact.email_key == email.lower()))


def handoffs(rt: Runtime, cid: int | None = None) -> list[Handoff]:
    """Every hand-off to sales (or the contact's), oldest first."""
    with rt.db.sessions() as session:
        query = select(Handoff).order_by(Handoff.id)
        if cid is not None:
            query = query.where(Handoff.contact_id == cid)
        return list(session.scalars(query))


def mail_to(rt: Runtime, address: str) -> list[EmailMessage]:
    """The messages in the file outbox addressed to `address`, by file name."""
    return [message for message in outbox(rt) if address in message["To"]]


def journey_mail_to(rt: Runtime, address: str) -> list[EmailMessage]:
    """`mail_to`, leaving out a purchase's activation email (sent by no journey)."""
    return [m for m in mail_to(rt, address)
            if not str(m["X-Nurture-Send"] or "").startswith("activation:")]


# ---- waiting -------------------------------------------------------------------------------

def wait_for(predicate: Callable[[], bool], seconds: float) -> None:
    """Poll until `predicate()` holds (real processes at work), or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"not done within {seconds}s")


def wait_for_a_lock_wait(rt: Runtime, seconds: float = 10.0) -> None:
    """Until a connection to this PostgreSQL database waits for a row lock."""
    deadline = time.monotonic() + seconds
    with rt.db.engine.connect() as conn:
        while time.monotonic() < deadline:
            if conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalar():
                return
            conn.rollback()
            time.sleep(0.02)
    raise AssertionError("nothing waited for a lock")


# ---- the web app and the command line ----------------------------------------------------

PASSWORD = "correct horse battery"


def tampered(token: str) -> str:
    """The token with one signature character changed. Not the last one: in base64 its low
    bits are padding, so some changes there decode to the same signature."""
    return token[:-5] + ("B" if token[-5] == "A" else "A") + token[-4:]


def csrf(page: str) -> str:
    """The CSRF token of the (first) form on the page."""
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def web_client(rt: Runtime) -> FlaskClient:
    """A web test client of the runtime's app, signed in as nobody."""
    return create_app(rt).test_client()


def signed_in(rt: Runtime, role: str) -> FlaskClient:
    """A web test client signed in as a new user with this role (`role@example.com`)."""
    with rt.db.transaction() as session:
        users.create_user(session, f"{role}@example.com", role.title(), role, PASSWORD,
                          now=rt.clock.now())
    client = web_client(rt)
    client.post("/login", data={"csrf_token": csrf(client.get("/login").text),
                                "email": f"{role}@example.com", "password": PASSWORD})
    return client


def invoke_cli(args: list[str], tmp_path: Path) -> Result:
    """Run `nurture ARGS` in this process, with a secret key and its var dir in `tmp_path`."""
    env = {"SECRET_KEY": "test-secret-key", "NURTURE_VAR_DIR": str(tmp_path / "var")}
    return CliRunner().invoke(main, args, env=env)


# ---- real processes (the slow tier) ------------------------------------------------------

# The Redis of the real scheduler and worker processes (flushed by the tests that kill them).
PROCESS_REDIS_URL = os.environ.get("NURTURE_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
# The reason of a send a killed worker was handing over (`nurture/sending`).
INTERRUPTED = "interrupted: outcome unknown"


class SmtpRecorder:
    """aiosmtpd handler (`python -m aiosmtpd -c tests.helpers.SmtpRecorder FILE`): one line
    per recipient, `recipient<TAB>Message-ID`, written and flushed before the server answers
    250."""

    MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)

    def __init__(self, path: str):
        self.file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives with the server

    @classmethod
    def from_cli(cls, parser: Any, *args: str) -> SmtpRecorder:
        return cls(*args)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = self.MESSAGE_ID.search(envelope.content)
        message_id = found.group(1).decode() if found else "-"
        self.file.writelines(f"{r}\t{message_id}\n" for r in envelope.rcpt_tos)
        self.file.flush()
        return "250 2.0.0 OK"


def redis_or_skip() -> None:
    """Skip (fail under NURTURE_REQUIRE_SERVICES) unless the processes' Redis answers."""
    try:
        redis.Redis.from_url(PROCESS_REDIS_URL).ping()
    except redis.RedisError:
        if os.environ.get("NURTURE_REQUIRE_SERVICES"):
            pytest.fail(f"Redis is required but not reachable at {PROCESS_REDIS_URL}.")
        pytest.skip(f"Redis is not reachable at {PROCESS_REDIS_URL}.")


def free_port() -> int:
    """A local TCP port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_aiosmtpd(port: int, received: Path, log: IO[str]) -> subprocess.Popen:
    """aiosmtpd on `port`, recording each recipient in `received`; once it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "tests.helpers.SmtpRecorder", str(received)],
        cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            assert proc.poll() is None, "aiosmtpd did not start; see processes.log"
            time.sleep(0.1)
    raise AssertionError("aiosmtpd did not start listening")


def received_lines(path: Path) -> list[tuple[str, str]]:
    """The complete `recipient, Message-ID` lines the SmtpRecorder has written so far."""
    written = path.read_text(encoding="utf-8")
    complete = written[:written.rfind("\n") + 1]
    return [tuple(line.split("\t")) for line in complete.splitlines()]


def spawn(args: list[str], env: dict[str, str], log: IO[str]) -> subprocess.Popen:
    """`nurture ARGS` in a process of its own, its output in `log`."""
    return subprocess.Popen([sys.executable, "-m", "nurture.app.cli", *args], env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def process_env(database_url: str, port: int, folder: Path, namespace: str) -> dict[str, str]:
    """The environment of the scheduler and workers: short leases and polls, so that a
    killed worker's work is claimed again within seconds, and mail to aiosmtpd on `port`."""
    return {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": PROCESS_REDIS_URL,
            "SMTP_URL": f"smtp://127.0.0.1:{port}", "NURTURE_VAR_DIR": str(folder),
            "NURTURE_QUEUE_NAMESPACE": namespace, "NURTURE_LEASE_SECONDS": "4",
            "NURTURE_POLL_SECONDS": "0.2", "SECRET_KEY": "kill-test",
            "PYTHONUNBUFFERED": "1"}


def stop(processes: list[subprocess.Popen], log: IO[str]) -> None:
    """Stop the processes, the last started first, and close their log."""
    for proc in reversed(processes):
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
    log.close()


# ---- the browser tier ----------------------------------------------------------------------

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"


@dataclass(frozen=True)
class Site:
    """The app served over HTTP: its runtime and its address (also `settings.base_url`)."""

    rt: Runtime
    url: str


def marketer_and_four_contacts(site: Site) -> None:
    """Mia the marketer (password PASSWORD) and four contacts: ann, cy and dee trying
    (ann and dee in retail, cy in healthcare), bob learning in retail."""
    rt = site.rt
    with rt.db.transaction() as session:
        users.create_user(session, "mia@nurture.example", "Mia Marketer", "marketer",
                          PASSWORD, now=rt.clock.now())
    for name, stage, industry in [("ann", "try", "retail"), ("bob", "learn", "retail"),
                                  ("cy", "try", "healthcare"), ("dee", "try", "retail")]:
        contact(rt, f"{name}@example.com", first_name=name.title(), last_name="Lee",
                stage=stage, industry=industry)


def sign_in_at(page: Page, site: Site, path: str, email: str = "mia@nurture.example") -> None:
    """Open `path` on the site and sign in on the page it sends a visitor to."""
    page.goto(f"{site.url}{path}")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def axe_violations(page: Page) -> list[dict]:
    """axe-core's violations on the page as it is now (all its default rules: WCAG 2.x A
    and AA, and best practices)."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html,
                                      summary: n.failureSummary}))}));
    }""")


def axe_report(results: dict[str, list[dict]]) -> str:
    """axe-core's violations per page, one readable line each, with the elements at fault."""
    lines = []
    for where, violations in results.items():
        for v in violations:
            lines.append(f"{where}: {v['id']} ({v['impact']}): {v['help']}")
            lines += [f"    {n['target']}  {n['html'][:160]}\n      "
                      + (n["summary"] or "").replace("\n", "\n      ") for n in v["nodes"]]
    return "\n".join(lines)


def chart_rows(page: str, key: str) -> dict[str, list[str]]:
    """The data table of the chart `key` on the page (web/charts.py): each row's heading
    and its figures. Fails when the chart or its labelled SVG is missing."""
    figure = re.search(rf'<figure class="chart" id="chart-{key}">(.*?)</figure>', page, re.S)
    assert figure, f"The page has no chart {key!r}."
    assert f'<svg role="img" aria-labelledby="chart-{key}-title"' in figure.group(1)
    body = re.search(r"<tbody>(.*?)</tbody>", figure.group(1), re.S).group(1)
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        head = re.search(r"<th[^>]*>(.*?)</th>", row, re.S)
        if head:
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            rows[re.sub(r"<[^>]+>", "", head.group(1)).strip()] = [
                re.sub(r"<[^>]+>", "", c).strip() for c in cells]
    return rows


def api_token(rt: Runtime, role: str = "admin", scope: str = "admin",
              email: str | None = None) -> str:
    """A new user of this role with an API token of this scope: the token's secret."""
    from nurture.apitokens import services as tokens
    from nurture.users import services as users
    with rt.db.transaction() as session:
        user = users.create_user(session, email or f"{role}-{scope}-api@example.com", "API",
                                 role, PASSWORD, now=rt.clock.now())
        return tokens.create_token(session, user.id, "tests", scope, now=rt.clock.now()).secret


class ApiClient:
    """A test client that sends a token with every call: `api.get("/api/v1/...")`."""

    def __init__(self, rt: Runtime, role: str = "admin", scope: str = "admin",
                 email: str | None = None):
        from web import create_app
        app = create_app(rt)
        app.config["RATELIMIT_ENABLED"] = False
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {api_token(rt, role, scope, email)}"}

    def _call(self, method: str, path: str, headers: dict[str, str] | None = None,
              **kwargs: Any) -> Any:
        return self.client.open(path, method=method, headers={**self.headers, **(headers or {})},
                                **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self._call("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self._call("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self._call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self._call("DELETE", path, **kwargs)


def problem_of(response: Any, status: int) -> dict[str, Any]:
    """The problem document of a refused API call, checked: its status, its media type and a
    whole-sentence detail."""
    assert response.status_code == status, response.text
    assert response.mimetype == "application/problem+json", response.text
    assert response.json["detail"].endswith((".", ".)")), response.json
    return dict(response.json)
