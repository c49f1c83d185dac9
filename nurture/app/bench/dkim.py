"""`nurture bench send`'s DKIM part: the cost of signing alone, in µs per message, over
~2000 messages built as a send builds them (a shipped template, personalized), with an
RSA-2048 key (the configured one when DKIM is on) and with Ed25519; MIME building beside
it, for scale. The end-to-end tick of the same bench signs when DKIM is configured."""

from __future__ import annotations

import time
from typing import Any

from nurture.app.bench.personalize import _personalize
from nurture.app.composition import build
from nurture.config import Settings
from nurture.sending import dkim
from nurture.sending.mime import build_mime, message_id
from nurture.sending.render import TemplateStore

MESSAGES = 2000


def _us_per_message(fn: Any, messages: list[bytes], rounds: int = 3) -> float:
    """The best of `rounds` passes over `messages`, in µs per message (the best, since a
    busy moment of a shared machine only ever adds time)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for message in messages:
            fn(message)
        best = min(best, time.perf_counter() - started)
    return best / len(messages) * 1e6


def measure_signing(settings: Settings, count: int = MESSAGES) -> dict[str, Any]:
    rt = build(settings, with_transport=False)
    template = TemplateStore(settings.templates_dir).get("trial-welcome")
    domain = settings.mail_domain
    bodies = [_personalize(settings, rt.tokens, template, i) for i in range(20)]
    rt.db.dispose()

    def mime(i: int) -> bytes:
        subject, html, text, _ = bodies[i % len(bodies)]
        return build_mime(sender=settings.from_address, to=f"ann{i}@example.com",
                          subject=subject, html_body=html, text_body=text,
                          msg_id=message_id(f"bench-dkim:{i}", domain),
                          headers={"List-Unsubscribe": f"<{settings.base_url}/u/{i}>",
                                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})

    started = time.perf_counter()
    messages = [mime(i) for i in range(count)]
    mime_us = (time.perf_counter() - started) / count * 1e6
    configured = settings.sending.dkim
    rsa_key = configured if configured is not None and configured.algorithm == "rsa-sha256" \
        else dkim.DkimKey("bench", dkim.generate())
    ed_key = dkim.DkimKey("bench-ed", dkim.generate(ed25519_key=True))
    rsa_us = _us_per_message(lambda m: dkim.sign(m, rsa_key, domain), messages)
    ed_us = _us_per_message(lambda m: dkim.sign(m, ed_key, domain), messages)
    both_us = _us_per_message(lambda m: dkim.sign_all(m, (rsa_key, ed_key), domain), messages)
    return {
        "on_in_these_settings": configured is not None,
        "messages": count, "message_bytes": len(messages[0]),
        "off_us_per_message": 0,
        "rsa_2048_signing_us_per_message": round(rsa_us, 1),
        "ed25519_signing_us_per_message": round(ed_us, 1),
        "rsa_and_ed25519_signing_us_per_message": round(both_us, 1),
        "mime_build_us_per_message": round(mime_us, 1),
    }
