"""`nurture smtp-sink`: a local SMTP server that accepts every message, for development."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from nurture.app.cli.refusals import Command
from nurture.sending.sink import Faults, SMTPSink, Store


@click.command("smtp-sink", cls=Command)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=1025, show_default=True, type=click.IntRange(0, 65535),
              help="0 picks a free port (printed on start).")
@click.option("--maildir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep every message in this Maildir.")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Append one JSON line per recipient: recipient, Message-ID and "
                   "when it was accepted (Unix time).")
@click.option("--reply", "replies", multiple=True, metavar="PATTERN=REPLY",
              help="Answer recipients matching PATTERN with REPLY, e.g. "
                   "'^bounce=550 5.1.1 No such user' (repeatable).")
@click.option("--drop-after", type=click.IntRange(1), default=None,
              help="Close each connection after accepting this many messages.")
def smtp_sink(host: str, port: int, maildir: Path | None, log_path: Path | None,
              replies: tuple[str, ...], drop_after: int | None) -> None:
    """Accept mail on HOST:PORT and count it (point SMTP_URL=smtp://HOST:PORT at it)."""
    try:
        faults = Faults.parse(list(replies), drop_after)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--reply") from None
    sink = SMTPSink(host, port, Store(maildir, log_path), faults)

    async def serve() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await sink.start()
        click.echo(f"SMTP sink listening on {host}:{sink.port}", err=True)
        click.echo(f"SMTP_URL=smtp://{host}:{sink.port}")
        await stop.wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    finally:
        s = sink.stats
        click.echo(f"Received {s.messages} messages for {s.recipients} recipients over "
                   f"{s.connections} connections.", err=True)
