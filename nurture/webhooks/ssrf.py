"""The one way out to a webhook target: resolve the host, refuse addresses inside the
network (loopback, link-local, private, multicast, reserved) unless NURTURE_WEBHOOK_ALLOW
names them, and connect to the very address that was checked. Connecting by name again
would resolve a second time, and a name that answered a public address to the check could
answer 127.0.0.1 to the connection (DNS rebinding)."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from nurture.webhooks.errors import Refused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """Where a request goes: the URL's parts and the checked address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def _inside(ip: Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def _allowed(host: str, ip: Address, allow: Sequence[str]) -> bool:
    for entry in allow:
        if entry.lower() == host.lower():
            return True
        try:
            if ip in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue  # a host name, compared above
    return False


def resolve(url: str, allow: Sequence[str] = ()) -> Target:
    """The checked target of `url`; raises Refused with a sentence when it may not be
    reached. Every address the name resolves to must pass, not only the first."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(f"The address {url!r} is not an http or https URL.")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        raise Refused(f"The host {host} could not be resolved ({exc}).") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    _refuse_inside(host, addresses, allow)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, host, port, path, addresses[0])


def _refuse_inside(host: str, addresses: Sequence[str], allow: Sequence[str]) -> None:
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        if _inside(ip) and not _allowed(host, ip, allow):
            raise Refused(f"The host {host} resolves to {ip}, an address inside the network; "
                          "add it to NURTURE_WEBHOOK_ALLOW to deliver there.")


def check(url: str, allow: Sequence[str] = ()) -> None:
    """When an endpoint is saved: refuse a URL whose host is, or resolves to, an address
    inside the network, by the rule every delivery applies (`resolve`), so that the user
    hears it now rather than from a log of failed deliveries. A name that does not resolve
    yet is accepted (its DNS may come later); each delivery checks again."""
    parts = urlsplit(url)
    if not parts.hostname:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, type=socket.SOCK_STREAM)
    except (OSError, ValueError):
        return
    _refuse_inside(parts.hostname, [str(info[4][0]) for info in infos], allow)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout,
                         context=ssl.create_default_context())
        self._address = target.address

    def connect(self) -> None:
        # The certificate is checked against the name, the socket goes to the address.
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            sock, server_hostname=self.host)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float = 10.0
         ) -> Response:
    """POST to the pinned address; redirects are not followed (they would leave the
    guard). Raises OSError (http.client errors included) when no answer came."""
    conn: http.client.HTTPConnection = (
        _PinnedHTTPS(target, timeout) if target.scheme == "https"
        else _PinnedHTTP(target, timeout))
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        return Response(response.status, response.read(4096))
    except http.client.HTTPException as exc:
        raise OSError(f"bad HTTP answer: {exc!r}") from exc
    finally:
        conn.close()
