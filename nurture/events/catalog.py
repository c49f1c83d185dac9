"""Known event types. Journeys and scoring rules may only name these (or `custom.*`).

Each entry says what the event means; `effects.py` says how some of them move a contact.
"""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    # Contact and consent
    "contact.created": "A contact was added (import, form or API).",
    "contact.updated": "Contact fields or attributes changed; properties hold the new values "
                       "(timezone: an IANA zone; account: the company's name, which the "
                       "contact joins; roles: the roles they hold there, a list of "
                       "activation, administrator, technical, billing, notices).",
    "consent.given": "The contact confirmed consent to marketing email (double opt-in).",
    "consent.withdrawn": "The contact withdrew consent to marketing email.",
    # Web and content
    "page.visited": "A tracked page was visited.",
    "form.submitted": "A form was submitted.",
    "content.downloaded": "A piece of gated content was downloaded.",
    "webinar.attended": "The contact attended a webinar.",
    "demo.requested": "The contact asked for a demo (a hand-raiser).",
    # Email
    "email.sent": "A journey email was accepted by the mail server.",
    "email.opened": "An email was opened.",
    "email.clicked": "A link in an email was clicked.",
    "email.bounced": "An email bounced (properties.kind: hard or soft).",
    "email.complained": "The recipient marked an email as spam.",
    "email.unsubscribed": "The contact unsubscribed from marketing email.",
    # Trial
    "trial.started": "A 30-day trial began (properties: seats, services, days).",
    "trial.requested": "A customer asked for a trial from the sign-up form; no trial starts "
                       "and the account owner is told (properties: services, seats).",
    "trial.seat_activated": "A trial seat (account) was activated.",
    "trial.service_used": "A trial service was used.",
    "trial.converted": "The trial converted to a paid subscription (properties: trial_id, "
                       "services, seats, keep_data); the account becomes a customer and "
                       "the activation email goes to its activation contact.",
    "trial.expired": "The trial ended without converting; services are disabled.",
    "trial.data_deleted": "The expired trial's data was deleted after the retention period.",
    # Customer
    "purchase.completed": "A purchase was made (properties: amount, currency, product, "
                          "services, seats, seat_limit, commitment_months (default "
                          "NURTURE_COMMITMENT_MONTHS) or commitment_ends_at, account); it "
                          "records the account's subscription and sends the activation "
                          "email.",
    "subscription.renewed": "A subscription commitment was renewed (properties: "
                            "commitment_ends_at); the account's subscription renews then.",
    "subscription.cancelled": "A subscription was cancelled.",
    "account.deprovisioned": "The customer left: service and billing stopped together for "
                             "the contact's account (properties, all optional: account_id, "
                             "reason, ended_at, retention_until, export_url).",
    "onboarding.completed": "The customer finished onboarding.",
    # Customer trigger events (seed 002: an offer or an action for each)
    "support.ticket_opened": "The customer opened a support ticket (properties: ticket_id, "
                             "required; subject, priority).",
    "support.ticket_closed": "A support ticket was closed (properties: ticket_id, required; "
                             "resolution).",
    "usage.dropped": "Usage fell noticeably, from the product (properties: metric, "
                     "drop_percent 0-100, required; period_days, previous, current).",
    "usage.grew": "Usage grew noticeably, from the product (properties: metric, "
                  "growth_percent, required; period_days, previous, current).",
    "usage.seats": "Seats in use against the subscription's seat limit, from the product "
                   "(properties: seats, limit, required; an expansion trigger at 80%).",
    # Touches (seed 001): every service, support, billing or sales contact with the customer
    "touch.recorded": "A person at the company was in touch with the contact (properties: "
                      "kind, one of service, support, billing, sales, required; channel, "
                      "note, by).",
    # Feedback and referral
    "nps.answered": "An NPS answer (properties: score 0-10, category, reason).",
    "referral.clicked": "A referral share link was visited.",
    "referral.signed_up": "A referred prospect signed up.",
    "referral.converted": "A referred prospect became a customer.",
    "reward.approved": "A referral reward was approved.",
    "reward.fulfilled": "A thank-you, a referral back, a feature or a gift was fulfilled "
                        "for the referrer (properties: kind, rule, note, by).",
    # Sales
    "sales.handoff": "The lead was handed to sales.",
    "sales.accepted": "Sales accepted the lead.",
    "sales.rejected": "Sales sent the lead back to nurture (properties.reason).",
    "sales.won": "Sales won the deal.",
    "sales.lost": "Sales lost the deal.",
}

CUSTOM_PREFIX = "custom."


def is_known(event_type: str) -> bool:
    return event_type in EVENT_TYPES or (
        event_type.startswith(CUSTOM_PREFIX) and len(event_type) > len(CUSTOM_PREFIX)
    )
