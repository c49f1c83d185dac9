"""Hand-built MIME bytes: the stdlib EmailMessage path manages about 440 messages a second
here; assembling the few headers and parts directly is some 30 times faster."""

from __future__ import annotations

import binascii
import functools
import hashlib
import time
from email.header import Header
from email.utils import formatdate

import numpy as np

from nurture.sending import addresses


def message_id(send_key: str, domain: str) -> str:
    return f"<{hashlib.sha256(send_key.encode()).hexdigest()[:32]}@{domain}>"


def _one_line(value: str) -> str:
    """A header value on one line: no CR or LF can start a header of its own."""
    return value.replace("\r", " ").replace("\n", " ")


def _header(value: str) -> str:
    """A free-text header value on one line, encoded and folded with CRLF if not ASCII."""
    value = _one_line(value)
    return value if value.isascii() else Header(value, "utf-8").encode(linesep="\r\n")


_CRLF = np.array([13, 10], dtype=np.uint8)


def _base64_lines(data: bytes) -> bytes:
    """Base64 in 76-character lines joined by CRLF (RFC 2045). The lines are cut as rows
    of a numpy array: slicing them one by one in Python cost more than the encoding."""
    encoded = binascii.b2a_base64(data, newline=False)
    full = len(encoded) // 76 * 76
    rows = np.empty((full // 76, 78), dtype=np.uint8)
    rows[:, :76] = np.frombuffer(encoded, dtype=np.uint8, count=full).reshape(-1, 76)
    rows[:, 76:] = _CRLF
    tail = encoded[full:]
    return rows.tobytes() + tail if tail else rows.tobytes()[:-2]


@functools.lru_cache(maxsize=2)
def _date(second: int) -> str:
    """The Date header for one second (RFC 5322 gives it to the second): made once a second
    rather than once a message."""
    return formatdate(second, localtime=False)


def build_mime(*, sender: str, to: str, subject: str, html_body: str, text_body: str,
               msg_id: str, headers: dict[str, str] | None = None) -> bytes:
    """The message as SMTP carries it: CRLF line ends only, both parts in base64, so no
    line starts with a dot (senders may skip their scan: `canonical=True`). Headers are
    UTF-8 (RFC 6532) only where an address's local part is not ASCII; a server must then
    offer SMTPUTF8, which the sender checks."""
    boundary = "=_" + hashlib.sha1(msg_id.encode()).hexdigest()
    lines = [
        f"From: {addresses.header(_one_line(sender))}",
        f"To: {addresses.header(_one_line(to))}",
        f"Subject: {_header(subject)}",
        f"Date: {_date(int(time.time()))}", f"Message-ID: {_one_line(msg_id)}",
        "MIME-Version: 1.0",
    ]
    lines += [f"{k}: {_one_line(v)}" for k, v in (headers or {}).items()]
    lines += [f'Content-Type: multipart/alternative; boundary="{boundary}"', "",
              f"--{boundary}", "Content-Type: text/plain; charset=utf-8",
              "Content-Transfer-Encoding: base64", "", ""]
    html_head = (f"\r\n--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n"
                 "Content-Transfer-Encoding: base64\r\n\r\n")
    return b"".join([
        "\r\n".join(lines).encode(), _base64_lines(text_body.encode()),
        html_head.encode("ascii"), _base64_lines(html_body.encode()),
        f"\r\n--{boundary}--\r\n".encode("ascii")])
