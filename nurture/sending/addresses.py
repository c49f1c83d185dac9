"""Addresses in any script, as SMTP and the message headers carry them (RFC 6531, 6532).

An internationalized domain (`bücher.de`) goes as its A-labels (`xn--bcher-kva.de`,
IDNA 2008 with the UTS 46 mapping, by the `idna` library), so an address whose local part
is ASCII needs nothing special of the mail server. A local part in another script
(`zoë@…`, `josé@…`) cannot be written in ASCII: it goes as UTF-8 in MAIL FROM, RCPT TO and
the From and To headers, which only a server that offers SMTPUTF8 accepts. A display name
that is not ASCII is an RFC 2047 encoded word, readable by every server.

ASCII addresses, nearly all of them, return at once: the send path pays one `isascii()`.
"""

from __future__ import annotations

import functools
import re
from email.header import Header
from email.utils import parseaddr, quote

import idna

# Display names with any of these must be quoted (RFC 5322 specials).
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')


@functools.lru_cache(maxsize=4096)
def wire(address: str) -> str:
    """The bare address `local@domain` as it goes on the wire: a domain that is not ASCII
    as its A-labels. A domain IDNA refuses is left as written; the server judges it."""
    if address.isascii():
        return address
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        return address
    return f"{local}@{domain}"


def needs_smtputf8(address: str) -> bool:
    """True when the address, in its wire form, can only travel with SMTPUTF8."""
    return not wire(address).isascii()


@functools.lru_cache(maxsize=1024)
def header(value: str) -> str:
    """A From or To header value (`a@b` or `Name <a@b>`) as the message carries it: the
    address in its wire form, a display name beyond ASCII as an RFC 2047 encoded word."""
    if value.isascii():
        return value
    name, address = parseaddr(value)
    if not address:
        return value
    address = wire(address)
    if not name:
        return address
    if not name.isascii():
        name = Header(name, "utf-8").encode(linesep="\r\n")
    elif _SPECIALS.search(name):
        name = f'"{quote(name)}"'
    return f"{name} <{address}>"
