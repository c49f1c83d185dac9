"""One email as one contact would get it, without tracking: for `nurture templates render`
and the console's template preview. Links are signed for no contact, so a click in a
preview changes nobody's subscription."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from nurture.config import Settings
from nurture.sending import compose, dkim
from nurture.sending.mime import build_mime, message_id
from nurture.sending.render import TemplateStore
from nurture.tokens import Tokens

# Who a preview is for when the marketer names nobody.
SAMPLE = {"email": "ann.lee@example.com", "first_name": "Ann", "last_name": "Lee",
          "company": "Lee Retail", "role": "Head of IT", "industry": "retail",
          "stage": "try", "language": "", "attributes": {}}


@dataclass(frozen=True)
class Preview:
    folder: str  # the folder the variant rules chose
    subject: str
    html: str
    text: str
    message: bytes  # the whole MIME message, as it would be sent
    message_class: str  # transactional | service | marketing
    message_id: str = ""


def names(store: TemplateStore) -> dict[str, list[str]]:
    """Each template name with its variant folders (`name@variant`)."""
    out: dict[str, list[str]] = {}
    for folder in store.folders():
        name, _, variant = folder.partition("@")
        out.setdefault(name, []).extend([folder] if variant else [])
    return out


def languages(store: TemplateStore, folders: list[str]) -> list[str]:
    """The languages any of `folders` (a template and its variants) is translated into."""
    return sorted({tag for folder in folders for tag in store.translations(folder)})


def for_preview(contact: Any) -> SimpleNamespace:
    """A contact (a row or a mapping) reduced to what templates read, with no identity."""
    get = contact.get if isinstance(contact, dict) else lambda k: getattr(contact, k, None)
    fields = {k: get(k) for k in ("email", "first_name", "last_name", "company", "role",
                                  "industry", "stage", "language", "timezone")}
    return SimpleNamespace(id=0, email_key="preview", attributes=get("attributes") or {},
                           **fields)


def render_preview(store: TemplateStore, settings: Settings, name: str, contact: Any, *,
                   variant: str | None = None, vertical: str | None = None,
                   stage: str | None = None, language: str | None = None,
                   test_to: str | None = None) -> Preview:
    """Render template `name` for `contact` (see `for_preview`), choosing the folder as a
    send would: the contact's language (or `language`; "" for the default text), then the
    journey's `variant`, else the contact's vertical, else its stage. With
    `test_to` the message is a test for that address, its subject marked "[Test]". Raises
    TemplateError for a broken template; the caller checks that `name` exists."""
    domain = settings.mail_domain
    links = compose.Links(Tokens(settings.secret_key), settings.base_url, contact.id,
                          contact.email_key, login=settings.services.signin)
    template = store.resolve(name, variant=variant,
                             vertical=contact.industry if vertical is None else vertical,
                             stage=contact.stage if stage is None else stage,
                             language=contact.language if language is None else language)
    context = compose.context(contact, links, settings.postal_address, settings.company_name,
                              services=settings.services.for_templates())
    subject, html, text = template.render(context)
    msg_id = message_id(f"{'test' if test_to else 'preview'}:{uuid.uuid4()}", domain)
    message = build_mime(
        sender=settings.from_address, to=test_to or contact.email,
        subject=f"[Test] {subject}" if test_to else subject, html_body=html,
        text_body=text, msg_id=msg_id,
        headers=compose.list_headers(message_class=template.message_class, links=links,
                                     list_id=f"preview.{domain}", domain=domain,
                                     send_key=f"preview:{template.folder}",
                                     language=template.language,
                                     mailto=settings.reads_unsubscribe_mail))
    message = dkim.sign_all(message, settings.sending.dkim_keys, domain)  # as sent
    return Preview(template.folder, subject, html, text, message, template.message_class,
                   msg_id)
