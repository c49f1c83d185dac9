"""The console's navigation bar: one declarative list of links, each shown to whom its view
lets in.

Whether a role sees a link is not declared here a second time: it is read from the
`login_required` of the link's view (`web.auth.may_open`), so the bar cannot drift from
what the routes allow. A link whose view does not exist (yet) is left out, so an area
added later appears in the bar by adding its line below, and only once its route exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g, request, url_for

from nurture.users.services import UserInfo
from web.auth import may_open


@dataclass(frozen=True)
class Link:
    """An entry of the bar: its label and the endpoint of the page it opens."""

    label: str
    endpoint: str


# In the order a marketer's day goes; one line per area.
NAV: tuple[Link, ...] = (
    Link("Home", "dashboard.index"),
    Link("Journeys", "journeys.index"),
    Link("Contacts", "contacts.lookup"),
    Link("Segments", "segments.index"),
    Link("Broadcasts", "broadcasts.index"),
    Link("Imports", "imports.start"),
    Link("Templates", "email_templates.index"),
    Link("Email performance", "insights.email_performance"),
    Link("Customer value", "insights.customer_value"),
    Link("Acquisition", "insights.acquisition_ceiling"),
    Link("NPS", "nps_report.page"),
    Link("Referrals", "referral.dashboard"),
    Link("Sales", "sales.index"),
    Link("Deliverability", "deliverability.index"),
    Link("Inbound", "inbound.index"),
    Link("Webhooks", "webhooks.index"),
    Link("Users", "account.users"),
)


@dataclass(frozen=True)
class Shown:
    """A link as the bar draws it for this request."""

    label: str
    url: str
    current: str | None  # aria-current: "page" on its own page, "true" on one beneath it


def links_for(app: Flask, user: UserInfo, path: str,
              nav: tuple[Link, ...] = NAV) -> list[Shown]:
    """The links `user` may open, the one whose address holds `path` marked current (the
    longest: /contacts/import is Imports, not Contacts). A page beneath a link's page
    (/referrals/sources) marks it "true", not "page": its own tabs mark the page."""
    allowed = [(link.label, url_for(link.endpoint)) for link in nav
               if may_open(user, app.view_functions.get(link.endpoint))]
    holding = [url for _, url in allowed
               if path == url or (url != "/" and path.startswith(url.rstrip("/") + "/"))]
    current = max(holding, key=len, default=None)
    return [Shown(label, url, None if url != current else "page" if url == path else "true")
            for label, url in allowed]


def init_app(app: Flask) -> None:
    app.context_processor(_bar)


def _bar() -> dict[str, object]:
    user: UserInfo | None = g.get("user")
    if user is None:
        return {"console_links": []}
    return {"console_links": links_for(current_app, user, request.path)}
