"""Operations commands: init, run, web, scheduler, worker, demo, events, bench."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Any, TypeVar

import click
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.serving import run_simple

from nurture.app.cli.refusals import Command, Group
from nurture.app.composition import build
from nurture.app.heartbeats import keep_beating
from nurture.app.runtime import Runtime
from nurture.app.scheduler.loop import run as run_scheduler
from nurture.config import Settings
from nurture.events.catalog import EVENT_TYPES
from nurture.events.services import record_for_email
from nurture.migrate import upgrade

T = TypeVar("T")


def open_runtime(with_transport: bool = True) -> Runtime:
    return build(Settings.from_env(), with_transport=with_transport)


@contextmanager
def running(with_transport: bool = False) -> Iterator[Runtime]:
    """A runtime for one command, closed when it is done. A database that cannot be read
    (not created yet, unreachable) is a sentence, not a traceback."""
    rt = open_runtime(with_transport)
    try:
        yield rt
    except SQLAlchemyError as exc:
        reason = str(exc.orig if isinstance(exc, DBAPIError) else exc).splitlines()[0]
        raise click.ClickException(f"Nurture's database could not be read ({reason}); is it "
                                   "set up? `nurture init` creates it.") from None
    finally:
        rt.close()


@contextmanager
def command_runtime() -> Iterator[Runtime]:
    """The runtime given as the click context's object (tests), or one for this command."""
    given = click.get_current_context().find_object(Runtime)
    if given is not None:
        yield given
        return
    with running() as rt:
        yield rt


def in_transaction(work: Callable[[Session, Runtime], T]) -> T:
    """Run `work` in one transaction (a refusal is the command's sentence: `refusals`)."""
    with command_runtime() as rt, rt.db.transaction() as session:
        return work(session, rt)


@click.command(cls=Command)
def init() -> None:
    """Create or migrate the database to the newest schema."""
    rt = open_runtime(with_transport=False)
    upgrade(rt.db)
    click.echo(f"The database is ready: {rt.db.engine.url.render_as_string(hide_password=True)}")


def web_app(rt: Runtime) -> Any:
    """The web app on this runtime (`nurture run` shares its workers and scheduler with it),
    made by the factory installed as the `nurture.apps` entry point `web` (pyproject.toml).
    The CLI does not import the views: they load here, and only for a command that serves
    them."""
    found = entry_points(group="nurture.apps", name="web")
    if not found:
        raise click.ClickException("The web app is not installed with this copy of Nurture; "
                                   "`pip install -e .` installs it.")
    return next(iter(found)).load()(rt)


def _serve_web(rt: Runtime, host: str, port: int) -> None:
    run_simple(host, port, web_app(rt), threaded=True, use_reloader=False)


@click.command(cls=Command)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Embedded mode: web, scheduler and worker in one process."""
    rt = open_runtime()
    upgrade(rt.db)
    assert rt.transport is not None
    rt.transport.start_worker(rt.settings.worker_threads, rt.settings.priority_threads)
    stop = threading.Event()
    keep_beating(rt.db, "embedded", stop)
    threading.Thread(target=run_scheduler, args=(rt, stop), daemon=True,
                     name="scheduler").start()
    click.echo(f"Nurture is running on http://{host}:{port} "
               f"(database {rt.db.engine.url.render_as_string(hide_password=True)}, "
               f"{'Redis' if rt.settings.redis_url else 'in-process'} broker, "
               f"{'SMTP' if rt.settings.smtp_url else 'outbox ' + str(rt.settings.outbox_dir)}).")
    try:
        _serve_web(rt, host, port)
    finally:
        stop.set()
        rt.close()


@click.command(cls=Command)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def web(host: str, port: int) -> None:
    """The web app alone (for production, serve wsgi:app with gunicorn)."""
    _serve_web(open_runtime(), host, port)


@click.command(cls=Command)
def scheduler() -> None:
    """Claim due work and enqueue it; run one or several."""
    rt = open_runtime()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    keep_beating(rt.db, "scheduler", stop)
    try:
        run_scheduler(rt, stop)
    except KeyboardInterrupt:
        pass
    finally:
        rt.close()


@click.command(cls=Command)
@click.option("--threads", default=None, type=click.IntRange(1, 256),
              help="Worker threads (default: NURTURE_WORKER_THREADS or 8).")
@click.option("--priority-threads", default=None, type=click.IntRange(1, 64),
              help="More threads that serve only transactional and service mail and the "
                   "journeys that send it (default: NURTURE_PRIORITY_THREADS or 2).")
def worker(threads: int | None, priority_threads: int | None) -> None:
    """A dramatiq worker: advances journeys, delivers email and webhooks."""
    rt = open_runtime()
    assert rt.transport is not None
    if rt.transport.in_process:
        raise click.ClickException("A separate worker needs REDIS_URL; without it, "
                                   "`nurture run` runs the worker in-process.")
    count = threads or rt.settings.worker_threads
    lane = priority_threads or rt.settings.priority_threads
    rt.transport.start_worker(count, lane)
    click.echo(f"Worker started with {count} threads, and {lane} for the priority lane.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    keep_beating(rt.db, "worker", stop)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        rt.close()


@click.command(cls=Command)
@click.option("--contacts", default=200, show_default=True, type=click.IntRange(0, 100000))
@click.option("--seed", default=7, show_default=True, type=int)
def demo(contacts: int, seed: int) -> None:
    """Load demo contacts and publish the shipped journeys."""
    from nurture.app.demo import load_demo  # noqa: PLC0415 (heavy: loaded on use)

    rt = open_runtime()
    load_demo(rt, contacts, seed, echo=click.echo)
    rt.close()


@click.group(cls=Group)
def events() -> None:
    """Record events and list the event types."""


@events.command("types")
def event_types() -> None:
    """The catalogue of event types journeys may use."""
    for name, description in EVENT_TYPES.items():
        click.echo(f"{name:28} {description}")


@events.command("record")
@click.argument("email")
@click.argument("event_type")
@click.option("--prop", "props", multiple=True, help="A property as key=value (repeatable).")
def record(email: str, event_type: str, props: tuple[str, ...]) -> None:
    """Record one event for the contact with EMAIL."""
    properties = {}
    for item in props:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.ClickException(f"The property {item!r} must be written key=value.")
        properties[key] = _coerce(value)
    rt = open_runtime()
    try:
        event_id = record_for_email(rt, email, event_type, properties, source="cli")
    finally:
        rt.close()
    click.echo(f"Recorded event {event_id}.")


def _coerce(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value
