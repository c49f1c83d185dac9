"""UTM tags for the links in an email, so that analytics (and Nurture's own sign-up
attribution) can tell which journey and email brought a visitor. Tags are added when a
person clicks, on the way through the click redirect: the send path pays nothing, and a
marketer who wrote their own `utm_` tags on a link keeps them as written."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from nurture.config import SendingSettings


def email_tags(sending: SendingSettings, journey: str | None, template: str
               ) -> dict[str, str] | None:
    """The tags for a click on an email of `template` sent by `journey` (None for email
    outside journeys), or None when the installation turned tagging off
    (NURTURE_EMAIL_UTM=off)."""
    if not sending.utm:
        return None
    return {"utm_source": sending.utm_source, "utm_medium": "email",
            "utm_campaign": journey or template, "utm_content": template}


def tagged(url: str, tags: Mapping[str, str] | None) -> str:
    """`url` with `tags` added to its query, unless it is not a web link or already carries
    any `utm_` tag. The rest of the URL (its own query, the fragment) is kept byte for
    byte."""
    if not tags:
        return url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return url
    if any(key.lower().startswith("utm_") for key, _ in
           parse_qsl(parts.query, keep_blank_values=True)):
        return url
    added = urlencode([(key, value) for key, value in tags.items() if value])
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit(parts._replace(query=query))
