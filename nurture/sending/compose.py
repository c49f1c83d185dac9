"""What goes into one personalized email: the Jinja context (with signed links, made only
when a template uses them), tracked links and the open pixel, and the list headers."""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup

from nurture.sending.classes import MARKETING
from nurture.tokens import Tokens

HREF = re.compile(r'href="([^"]*)"')
EXPR = re.compile(r"\{\{(.*?)\}\}")
# Links that must reach their page directly: never wrapped in a click redirect.
UNTRACKED_EXPR = ("links.unsubscribe", "links.preferences", "links.confirm", "links.nps",
                  "links.convert", "links.signup")
NPS_SCORES = range(11)  # 0 to 10


class _once:  # a decorator, named like functools.cached_property
    """A value computed on first access and then kept on the instance. Unlike
    functools.cached_property (3.11), it takes no lock: one message is one thread's."""

    def __init__(self, fn: Callable[[Any], Any]):
        self.fn, self.name = fn, fn.__name__

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


class Links:
    """`links.*` in templates. Each signed link is built the first time a template asks."""

    def __init__(self, tokens: Tokens, base_url: str, contact_id: int, email_key: str,
                 send_id: int | None = None, login: str = ""):
        self._tokens, self._base = tokens, base_url
        self._contact, self._key, self._send = contact_id, email_key, send_id
        # Where the reader signs in to their services: the catalogue's customer portal.
        # Nurture's own /login is the staff console, never a link for customers.
        self.login = login or f"{base_url}/login"
        self.trial = f"{base_url}/l/trial"
        self.referral = f"{base_url}/r/"

    @_once
    def unsubscribe(self) -> str:
        return f"{self._base}/u/{self._subscription}"

    @_once
    def preferences(self) -> str:
        return f"{self._base}/p/{self._subscription}"

    @_once
    def _subscription(self) -> str:
        return self._sign("subscription")

    @_once
    def confirm(self) -> str:
        return f"{self._base}/confirm/{self._sign('confirm')}"

    @_once
    def nps(self) -> list[str]:
        survey = self._send or 0
        return [f"{self._base}/nps/{self._tokens.sign('nps', [self._contact, survey, score])}"
                for score in NPS_SCORES]

    @_once
    def convert(self) -> str:
        """The trial conversion page for the contact's latest trial (see trials.lifecycle)."""
        token = self._tokens.sign("trial", [self._contact, self._key])
        return f"{self._base}/trial/{token}/convert"

    @_once
    def signup(self) -> str:
        """The page that confirms a sign-up's pending change, which names this send."""
        return f"{self._base}/signup/confirm/{self._sign('signup')}"

    def _sign(self, purpose: str) -> str:
        return self._tokens.sign(purpose, [self._contact, self._key, self._send])

    def for_templates(self) -> dict[str, Any]:
        """The links as a plain dict (the sandbox's fast path); signed ones stay lazy."""
        return {"login": self.login, "trial": self.trial, "referral": self.referral,
                "unsubscribe": _Link(self, "unsubscribe"),
                "preferences": _Link(self, "preferences"), "confirm": _Link(self, "confirm"),
                "convert": _Link(self, "convert"), "signup": _Link(self, "signup"),
                "nps": _Survey(self)}


class _Link:
    """One signed link of `Links`, signed when a template prints it."""

    __slots__ = ("_links", "_name")

    def __init__(self, links: Links, name: str):
        self._links, self._name = links, name

    def __str__(self) -> str:
        return getattr(self._links, self._name)

    def __html__(self) -> str:
        return html.escape(str(self))


class _Survey:
    """`links.nps`: the eleven score links, signed when a template first asks for one."""

    __slots__ = ("_links",)

    def __init__(self, links: Links):
        self._links = links

    def __getitem__(self, index: int) -> str:
        return self._links.nps[index]

    def __len__(self) -> int:
        return len(NPS_SCORES)

    def __iter__(self) -> Any:
        return iter(self._links.nps)


def context(contact: Any, links: Links, postal_address: str, company: str,
            tracker: Tracker | None = None, *, services: Mapping[str, Any] | None = None,
            recipient: Mapping[str, str] | None = None,
            account: Mapping[str, Any] | None = None,
            notice: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What templates see. Without a tracker (previews) links stay as they are written.
    `recipient` is the person the message is addressed to, when not the contact (a
    technical contact reads their own name, not the signer's); `services` the catalogue
    by id, with each service's sign-in address; `account` the contact's company and its
    current subscription; `notice` what a notice to staff is about (a pause)."""
    tracking = {} if tracker is None else {"track": tracker, "track_base": tracker.base,
                                           "track_pixel": tracker.pixel}
    person = {"first_name": contact.first_name, "last_name": contact.last_name,
              "company": contact.company, "email": contact.email,
              "role": contact.role, "industry": contact.industry,
              "language": getattr(contact, "language", "") or "",
              "timezone": getattr(contact, "timezone", "") or "",
              "attributes": contact.attributes or {}}
    return {
        **tracking,
        "contact": person,
        "recipient": dict(recipient) if recipient is not None else {
            "first_name": contact.first_name, "last_name": contact.last_name,
            "email": contact.email},
        "services": dict(services or {}),
        "account": dict(account or {}),
        "links": links.for_templates(),
        "company": {"name": company},
        "footer": {"postal_address": postal_address},
        "notice": dict(notice or {}),
    }


class Tracker:
    """Tracking for one message of a template rewritten by `add_tracking`. Links written
    in the template are known at compile time (`static`); links built from the context
    (`url | track`) are added as the message renders. The redirect for index i goes to
    `links[i]` and nowhere else."""

    def __init__(self, base_url: str, token: str, static: tuple[str, ...] = ()):
        # Every tracked message has the open pixel, so its token is made at once rather than
        # lazily. The base and the pixel are Markup, escaped once here, since a template
        # prints the base once per link (a token is URL-safe base64 and dots: only the base
        # URL can need escaping). Links made as the message renders use the raw base.
        self.token = token
        self.links: list[str] = list(static)
        escaped = _escaped(base_url)
        self._redirect = f"{base_url}/t/{token}"
        self.base = Markup(f"{escaped}/t/{token}")
        self.pixel = Markup(
            f'<img src="{escaped}/o/{token}.gif" width="1" height="1" alt="" '
            'style="display:block;border:0;width:1px;height:1px">')

    def __call__(self, url: Any) -> str:
        url = str(url)
        if not url.startswith(("http://", "https://")):
            return url
        self.links.append(url)
        return f"{self._redirect}/{len(self.links) - 1}"


@functools.lru_cache(maxsize=16)
def _escaped(base_url: str) -> str:
    return html.escape(base_url)


def add_tracking(compiled_html: str) -> tuple[str, tuple[str, ...]]:
    """Rewrite a compiled template once, so that rendering it tracks its links. A link
    written in the template becomes `{{ track_base }}/<n>` (its URL is returned, in order);
    one built from the context becomes `{{ (<its url>) | track }}`; the open pixel goes before
    `</body>`. Per message this costs a few lookups, not a regex pass over the HTML."""
    static: list[str] = []

    def wrap(match: re.Match[str]) -> str:
        value = match.group(1)
        pieces = EXPR.split(value)  # literal, expression, literal, ...
        expressions = pieces[1::2]
        if "{%" in value or any(e.strip().startswith(UNTRACKED_EXPR) for e in expressions):
            return match.group(0)
        literal = html.unescape(pieces[0])
        if not expressions:
            if not literal.startswith(("http://", "https://")):
                return match.group(0)  # mailto:, anchors, relative links
            static.append(literal)
            return f'href="{{{{ track_base }}}}/{len(static) - 1}"'
        parts = [f"({p.strip()})" if i % 2 else repr(html.unescape(p))
                 for i, p in enumerate(pieces) if p.strip() or i % 2]
        return f'href="{{{{ ({" ~ ".join(parts)}) | track }}}}"'

    tracked = HREF.sub(wrap, compiled_html)
    at = tracked.rfind("</body>")
    pixel = "{{ track_pixel }}"
    tracked = tracked[:at] + pixel + tracked[at:] if at >= 0 else tracked + pixel
    return tracked, tuple(static)


def list_headers(*, message_class: str, links: Links, list_id: str, domain: str,
                 send_key: str, language: str | None = None,
                 mailto: bool = False) -> dict[str, str]:
    """The headers beside the message's own: the send key, a translation's
    Content-Language, the message's class and, for marketing email only, the list and
    one-click unsubscribe (service and transactional mail is no list one leaves). The
    mailto unsubscribe is offered only when `mailto` says something reads that mailbox
    (`Settings.reads_unsubscribe_mail`): an unread address would be a broken promise."""
    headers = {"X-Nurture-Send": send_key}
    if language:
        headers["Content-Language"] = language
    headers["X-Nurture-Category"] = message_class
    if message_class != MARKETING:
        return headers
    unsubscribe = links.unsubscribe
    offered = f"<{unsubscribe}>"
    if mailto:
        offered += f", <mailto:unsubscribe@{domain}?subject={unsubscribe.rsplit('/', 1)[-1]}>"
    headers |= {
        "List-Id": f"<{list_id}>",
        "List-Unsubscribe": offered,
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return headers


_FIELD = re.compile(r"[^A-Za-z0-9._-]+")


def feedback_id(source: str | None, template: str, message_class: str) -> dict[str, str]:
    """Gmail's `Feedback-ID: source:template:class:nurture` on mail that has a source, so
    that Postmaster Tools' complaint figures name the journey (or broadcast) and template.
    Fields hold no colons (each is cut to what Gmail reads as one field)."""
    if not source:
        return {}
    fields = [_FIELD.sub("-", value).strip("-")[:60] or "none"
              for value in (source, template, message_class)]
    return {"Feedback-ID": ":".join([*fields, "nurture"])}
