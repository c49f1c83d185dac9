"""One bench send's personalization, as `deliver` does it before the MIME: a synthetic
contact, signed links, the context, the render and click tracking. Shared by the send
bench and the DKIM cost bench."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from nurture.config import Settings
from nurture.sending import compose
from nurture.sending.render import Template


def _contact(i: int) -> SimpleNamespace:
    return SimpleNamespace(
        id=i, email=f"ann{i}@example.com", email_key=f"ann{i}@example.com", first_name="Ann",
        last_name="Lee", company="Acme", role="admin", industry="retail", stage="try",
        consent_marketing=True, attributes={"trial": {"ends_at": "2026-04-01T00:00:00+00:00"}})


def _personalize(settings: Settings, tokens: Any, template: Template, i: int,
                 full: bool = True) -> tuple[str, str, str, list[str]]:
    """What `deliver` does per send before the MIME: signed links, context, render, track."""
    contact = _contact(i)
    links = compose.Links(tokens, settings.base_url, contact.id, contact.email_key, i)
    tracker = compose.Tracker(settings.base_url, tokens.sign("track", i),
                              template.html.links)
    context = compose.context(contact, links, settings.postal_address, settings.company_name,
                              tracker)
    if not full:
        return "", template.html.render(context), "", tracker.links
    subject, html, text = template.render(context)
    return subject, html, text, tracker.links
