"""A small, fast SMTP sink for development, tests and benchmarks.

It speaks enough ESMTP for smtplib and real clients (EHLO/HELO, MAIL, RCPT, DATA with
dot-unstuffing, RSET, NOOP, QUIT, PIPELINING), accepts every message and keeps count; it can
also write each message to a Maildir and append one JSON line per recipient to a log
(with the time it was accepted).
Faults can be injected for tests: a reply for recipients matching a pattern, or a connection
dropped after some messages. `XSTATS` answers with the counters, for a client in another
process. aiosmtpd's handler-based server tops out near 550 messages a second; this one is a
plain asyncio protocol with no per-command coroutines.
"""

from __future__ import annotations

import asyncio
import json
import mailbox
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

MAX_LINE = 4096
MAX_MESSAGE = 32 * 1024 * 1024
_ADDRESS = re.compile(rb"^\s*(?:FROM|TO):\s*<?([^<>\s]*)>?", re.IGNORECASE)
_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Faults:
    """Replies to inject: `replies` maps a recipient regex to a reply line given to RCPT
    (a 421 reply also closes the connection); `drop_after` closes each connection right
    after accepting that many messages on it; `vanish` keeps the messages of matching
    recipients but closes the connection instead of answering, so the client cannot know."""

    replies: tuple[tuple[re.Pattern[str], str], ...] = ()
    drop_after: int | None = None
    vanish: re.Pattern[str] | None = None

    @classmethod
    def parse(cls, rules: list[str], drop_after: int | None = None) -> Faults:
        """Rules written `PATTERN=REPLY`, e.g. `^bounce=550 5.1.1 No such user`."""
        replies = []
        for rule in rules:
            pattern, sep, reply = rule.rpartition("=")
            if not sep or not re.match(r"^[2-5]\d\d ", reply):
                raise ValueError(f"The fault {rule!r} must be written PATTERN=CODE TEXT.")
            replies.append((re.compile(pattern), reply))
        return cls(tuple(replies), drop_after)

    def reply_for(self, recipient: str) -> str | None:
        for pattern, reply in self.replies:
            if pattern.search(recipient):
                return reply
        return None


@dataclass
class Stats:
    connections: int = 0
    messages: int = 0
    recipients: int = 0
    refused: int = 0
    bytes: int = 0


@dataclass
class Store:
    """Where accepted messages go besides the counters."""

    maildir: Path | None = None
    log: Path | None = None
    _box: mailbox.Maildir | None = field(default=None, init=False, repr=False)

    @property
    def keeps(self) -> bool:
        return self.maildir is not None or self.log is not None

    def keep(self, recipients: list[str], data: bytes) -> None:
        if self.maildir is not None:
            if self._box is None:
                self._box = mailbox.Maildir(self.maildir, create=True)
            self._box.add(data)
        if self.log is not None:
            head_end = data.find(b"\r\n\r\n")
            found = _MESSAGE_ID.search(data, 0, head_end if head_end >= 0 else len(data))
            mid = found.group(1).decode("ascii", "replace") if found else None
            at = time.time()  # when it was accepted: what a latency is measured to
            with self.log.open("a", encoding="utf-8") as fh:
                fh.writelines(json.dumps({"recipient": r, "message_id": mid, "at": at}) + "\n"
                              for r in recipients)


class SMTPSession(asyncio.Protocol):
    """One client connection; commands are handled as lines arrive, so pipelining works."""

    def __init__(self, sink: SMTPSink):
        self.sink = sink
        self.buffer = bytearray()
        self.data: bytearray | None = None  # the DATA payload while it arrives
        self.sender: str | None = None
        self.recipients: list[str] = []
        self.accepted = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.sink.stats.connections += 1
        self.reply(f"220 {self.sink.hostname} ESMTP nurture sink")

    def reply(self, line: str) -> None:
        assert self.transport is not None
        self.transport.write(line.encode() + b"\r\n")

    def data_received(self, chunk: bytes) -> None:
        if self.data is not None:
            self._payload(chunk)
            return
        self.buffer += chunk
        while self.data is None and self.transport and not self.transport.is_closing():
            end = self.buffer.find(b"\r\n")
            if end < 0:
                if len(self.buffer) > MAX_LINE:
                    self.reply("500 5.5.6 Line too long")
                    self.transport.close()
                return
            line = bytes(self.buffer[:end])
            del self.buffer[:end + 2]
            self._command(line)
        if self.data is not None and self.buffer:
            rest, self.buffer = bytes(self.buffer), bytearray()
            self._payload(rest)

    def _command(self, line: bytes) -> None:
        verb, _, arg = line.partition(b" ")
        verb = verb.upper()
        if verb == b"EHLO":
            self.reply(f"250-{self.sink.hostname}\r\n250-PIPELINING\r\n250-8BITMIME\r\n"
                       f"250-SMTPUTF8\r\n250 SIZE {MAX_MESSAGE}")
        elif verb == b"HELO":
            self.reply(f"250 {self.sink.hostname}")
        elif verb == b"MAIL":
            self._mail(arg)
        elif verb == b"RCPT":
            self._rcpt(arg)
        elif verb == b"DATA":
            if not self.recipients:
                self.reply("503 5.5.1 Need RCPT first")
            else:
                self.data = bytearray(b"\r\n")  # so that the end marker is always CRLF.CRLF
                self.reply("354 End data with <CR><LF>.<CR><LF>")
        elif verb == b"RSET":
            self._reset()
            self.reply("250 2.0.0 OK")
        elif verb == b"NOOP":
            self.reply("250 2.0.0 OK")
        elif verb == b"QUIT":
            self.reply("221 2.0.0 Bye")
            self.transport.close()  # type: ignore[union-attr]
        elif verb == b"XSTATS":
            s = self.sink.stats
            self.reply(f"250 messages={s.messages} recipients={s.recipients} "
                       f"connections={s.connections} refused={s.refused}")
        elif verb == b"VRFY":
            self.reply("252 2.1.5 Cannot VRFY user")
        else:
            self.reply("502 5.5.2 Command not implemented")

    def _mail(self, arg: bytes) -> None:
        found = _ADDRESS.match(arg)
        if self.sender is not None:
            self.reply("503 5.5.1 Nested MAIL command")
        elif not found or not arg.upper().lstrip().startswith(b"FROM:"):
            self.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
        else:
            self.sender = found.group(1).decode("utf-8", "replace")
            self.reply("250 2.1.0 OK")

    def _rcpt(self, arg: bytes) -> None:
        found = _ADDRESS.match(arg)
        if self.sender is None:
            self.reply("503 5.5.1 Need MAIL first")
            return
        if not found or not arg.upper().lstrip().startswith(b"TO:"):
            self.reply("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        recipient = found.group(1).decode("utf-8", "replace")
        fault = self.sink.faults.reply_for(recipient)
        if fault is None:
            self.recipients.append(recipient)
            self.reply("250 2.1.5 OK")
            return
        self.sink.stats.refused += 1
        self.reply(fault)
        if fault.startswith("421"):
            self.transport.close()  # type: ignore[union-attr]

    def _payload(self, chunk: bytes) -> None:
        assert self.data is not None
        start = max(0, len(self.data) - 4)
        self.data += chunk
        end = self.data.find(b"\r\n.\r\n", start)
        if end < 0:
            if len(self.data) > MAX_MESSAGE:
                self.reply("552 5.3.4 Message too big")
                self.transport.close()  # type: ignore[union-attr]
            return
        # Unstuffed and copied only when something keeps it: counting is the sink's job
        # in a benchmark, and it shares the machine with what it measures.
        message = (bytes(self.data[:end + 2]).replace(b"\r\n..", b"\r\n.")[2:]
                   if self.sink.store.keeps else None)
        rest = bytes(self.data[end + 5:])
        self._accept(message, end)
        if rest and not self.transport.is_closing():  # type: ignore[union-attr]
            self.data_received(rest)

    def _accept(self, message: bytes | None, size: int) -> None:
        stats = self.sink.stats
        stats.messages += 1
        stats.recipients += len(self.recipients)
        stats.bytes += size  # as received, dots still doubled
        try:
            if message is not None:
                self.sink.store.keep(self.recipients, message)
        except OSError:
            self._reset()
            self.reply("451 4.3.0 Could not store the message")
            return
        vanish = self.sink.faults.vanish
        if vanish is not None and any(vanish.search(r) for r in self.recipients):
            self.transport.close()  # type: ignore[union-attr]
            return
        self._reset()
        self.accepted += 1
        self.reply("250 2.0.0 OK: queued")
        if self.sink.faults.drop_after and self.accepted >= self.sink.faults.drop_after:
            self.transport.close()  # type: ignore[union-attr]

    def _reset(self) -> None:
        self.sender, self.recipients, self.data = None, [], None


@dataclass
class SMTPSink:
    """The server: counters, a store and faults shared by every connection."""

    host: str = "127.0.0.1"
    port: int = 1025
    store: Store = field(default_factory=Store)
    faults: Faults = field(default_factory=Faults)
    hostname: str = "sink.nurture.localhost"
    stats: Stats = field(default_factory=Stats)
    server: asyncio.Server | None = None

    async def start(self) -> int:
        """Listen; returns the port (useful with port 0)."""
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: SMTPSession(self), self.host,
                                               self.port, backlog=1024)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def serve_forever(self) -> None:
        await self.start()
        assert self.server is not None
        await self.server.serve_forever()


class SinkThread:
    """A sink on its own event loop in a daemon thread, for tests in the same process."""

    def __init__(self, sink: SMTPSink):
        self.sink = sink
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True,
                                       name="smtp-sink")
        self.thread.start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.sink.start())
        ready.set()
        self.loop.run_forever()

    @property
    def port(self) -> int:
        return self.sink.port

    @property
    def stats(self) -> Stats:
        return self.sink.stats

    def stop(self) -> None:
        async def close() -> None:
            if self.sink.server is not None:
                self.sink.server.close()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
