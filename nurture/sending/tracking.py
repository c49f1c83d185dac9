"""Opens and clicks: which hits are people and which are machines.

Mail-privacy proxies and security scanners fetch images and follow links without a person
reading: Apple Mail Privacy Protection preloads every image from Apple's network, Gmail and
Yahoo fetch through their image proxies, and link scanners click within seconds of delivery.
Those hits are still recorded, flagged `machine`, so engagement scoring can ignore them.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime

PROXY_AGENTS = ("GoogleImageProxy", "YahooMailProxy", "ggpht.com", "Yahoo Mail Proxy",
                "Outlook-iOS-Android/1.0 ImageProxy")
SCANNER_AGENTS = ("Barracuda", "Mimecast", "Proofpoint", "python-requests", "curl/", "Go-http",
                  "HeadlessChrome", "bot", "Bot", "spider", "scanner")
APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")
SCANNER_SECONDS = 5  # a click this soon after delivery is a scanner, not a reader


def machine_reason(user_agent: str, ip: str, sent_at: datetime | None,
                   now: datetime) -> str | None:
    """Why a hit looks automated (a short tag), or None when it looks like a person."""
    agent = user_agent or ""
    if any(token in agent for token in PROXY_AGENTS):
        return "image_proxy"
    try:
        if ipaddress.ip_address(ip) in APPLE_NETWORK:
            return "apple_privacy_protection"
    except ValueError:
        pass
    if agent.strip() in ("", "Mozilla/5.0"):
        return "no_user_agent"
    if any(token in agent for token in SCANNER_AGENTS):
        return "scanner"
    if sent_at is not None and (now - sent_at).total_seconds() < SCANNER_SECONDS:
        return "too_soon_after_delivery"
    return None
