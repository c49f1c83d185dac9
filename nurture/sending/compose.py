"""What goes into one personalized email: the Jinja context (with signed links, made only
when a template uses them), tracked links and the open pixel, and the list headers."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from nurture.tokens import Tokens

HREF = re.compile(r'href="(https?://[^"]+)"')
# Links that must reach their page directly: never wrapped in a click redirect.
UNTRACKED = ("/u/", "/p/", "/confirm/", "/nps/")


class Links:
    """`links.*` in templates. Each signed link is built the first time a template asks."""

    def __init__(self, tokens: Tokens, base_url: str, contact_id: int, email_key: str,
                 send_id: int | None = None):
        self._tokens, self._base = tokens, base_url
        self._contact, self._key, self._send = contact_id, email_key, send_id
        self.login = f"{base_url}/login"
        self.trial = f"{base_url}/l/trial"
        self.referral = f"{base_url}/r/"

    @cached_property
    def unsubscribe(self) -> str:
        return f"{self._base}/u/{self._sign('unsubscribe')}"

    @cached_property
    def preferences(self) -> str:
        return f"{self._base}/p/{self._sign('preferences')}"

    @cached_property
    def confirm(self) -> str:
        return f"{self._base}/confirm/{self._sign('confirm')}"

    @cached_property
    def nps(self) -> list[str]:
        survey = self._send or 0
        return [f"{self._base}/nps/{self._tokens.sign('nps', [self._contact, survey, score])}"
                for score in range(11)]

    def _sign(self, purpose: str) -> str:
        return self._tokens.sign(purpose, [self._contact, self._key, self._send])


def context(contact: Any, links: Links, postal_address: str, company: str) -> dict[str, Any]:
    return {
        "contact": {"first_name": contact.first_name, "last_name": contact.last_name,
                    "company": contact.company, "email": contact.email,
                    "role": contact.role, "industry": contact.industry,
                    "attributes": contact.attributes or {}},
        "links": links,
        "company": {"name": company},
        "footer": {"postal_address": postal_address},
    }


def track(html: str, base_url: str, token: str) -> tuple[str, list[str]]:
    """Wrap outgoing links in click redirects and add the open pixel. Returns the new HTML
    and the links in order: the redirect for index i goes to links[i] and nowhere else."""
    links: list[str] = []

    def wrap(match: re.Match[str]) -> str:
        url = match.group(1)
        if url.startswith(base_url) and any(p in url for p in UNTRACKED):
            return match.group(0)
        links.append(url.replace("&amp;", "&"))
        return f'href="{base_url}/t/{token}/{len(links) - 1}"'

    html = HREF.sub(wrap, html)
    pixel = (f'<img src="{base_url}/o/{token}.gif" width="1" height="1" alt="" '
             'style="display:block;border:0;width:1px;height:1px">')
    at = html.rfind("</body>")
    html = html[:at] + pixel + html[at:] if at >= 0 else html + pixel
    return html, links


def list_headers(*, transactional: bool, links: Links, list_id: str, domain: str,
                 send_key: str) -> dict[str, str]:
    headers = {"X-Nurture-Send": send_key}
    if transactional:
        headers["X-Nurture-Category"] = "transactional"
        return headers
    unsubscribe = links.unsubscribe
    token = unsubscribe.rsplit("/", 1)[-1]
    headers |= {
        "List-Id": f"<{list_id}>",
        "List-Unsubscribe": f"<{unsubscribe}>, <mailto:unsubscribe@{domain}?subject={token}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "X-Nurture-Category": "marketing",
    }
    return headers

