"""The SSRF guard: inside addresses are refused unless allowed, and the request goes to
the address that was checked."""

from __future__ import annotations

import pytest

from nurture.webhooks import ssrf
from nurture.webhooks.errors import Refused
from tests.nurture.webhooks.webhook_receiver import receiving


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook",  # loopback
    "http://10.1.2.3/hook",  # private
    "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service, link-local
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # loopback dressed as IPv6
    "http://224.0.0.1/hook",  # multicast
    "http://0.0.0.0/hook",
    "http://localhost/hook",  # a name that resolves to loopback
])
def test_addresses_inside_the_network_are_refused(url):
    with pytest.raises(Refused, match="inside the network"):
        ssrf.resolve(url)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "http:///x"])
def test_other_schemes_are_refused(url):
    with pytest.raises(Refused, match="not an http or https URL"):
        ssrf.resolve(url)


def test_the_allow_list_names_hosts_or_networks():
    assert ssrf.resolve("http://127.0.0.1:9/x", ["127.0.0.1"]).address == "127.0.0.1"
    assert ssrf.resolve("http://10.1.2.3/x", ["10.0.0.0/8"]).address == "10.1.2.3"
    assert ssrf.resolve("http://localhost:9/x", ["localhost"]).port == 9
    with pytest.raises(Refused):
        ssrf.resolve("http://10.1.2.3/x", ["192.168.0.0/16", "127.0.0.1"])


def test_the_request_goes_to_the_checked_address_not_to_a_second_lookup():
    with receiving() as receiver:
        port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
        # A name nobody can resolve: only the pinned address can be reached.
        target = ssrf.Target("http", "hooks.example.invalid", port, "/hook?a=1", "127.0.0.1")
        response = ssrf.post(target, b"{}", {"Content-Type": "application/json"})
    assert response.status == 200
    [(headers, body)] = receiver.received
    assert headers["host"] == f"hooks.example.invalid:{port}" and body == b"{}"
