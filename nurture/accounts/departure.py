"""The rules of a customer's departure (seed 001: deprovision): service and billing stop
together, the data is kept for a retention period with a warning before deletion, and
nothing further is sent except those notices and, with marketing consent, a win-back.
Pure: plain values and `now` in, decisions out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DEPARTED_STAGE = "deprovisioned"
# What may still reach a contact whose service has ended: the end-of-service and deletion
# notices, the win-back (marketing: consent is checked as for any marketing email), and
# the confirmations of what the contact itself asks for (an opt-in, a new trial's sign-up:
# a new trial moves the contact out of this stage). A marketer who adds a win-back email
# adds its template here.
AFTER_DEPARTURE = frozenset({
    "account-end-of-service", "account-deletion-warning", "account-winback",
    "consent-confirm", "signup-confirm",
})
# Sends about the contact to our own people (the rep's hand-off, the owner's alert) are not
# mail to the customer: the rule does not hold them.
STAFF_ROLES = frozenset({"sales_rep", "account_owner", "source_owner"})
# The account statuses from which a customer can be deprovisioned.
SERVED = ("prospect", "trial", "customer")


@dataclass(frozen=True)
class Departure:
    """When a customer's service and billing stopped, and until when its data is kept."""

    account_id: int
    deprovisioned_at: datetime
    retention_until: datetime
    export_url: str = ""

    def attributes(self) -> dict[str, str]:
        """What the contact's `attributes.account` holds, for the notices and journeys."""
        return {"status": DEPARTED_STAGE, "deprovisioned_at": self.deprovisioned_at.isoformat(),
                "retention_until": self.retention_until.isoformat(),
                "export_url": self.export_url}


def retention_until(deprovisioned_at: datetime, days: int) -> datetime:
    """The day the account's data is deleted: `days` after service stopped."""
    return deprovisioned_at + timedelta(days=days)


def refusal(status: str) -> str | None:
    """Why an account in `status` cannot be deprovisioned; None when it can."""
    if status == "deprovisioned":
        return "This customer's service has already ended; it cannot be ended twice."
    if status == "deleted":
        return "This customer's data has already been deleted after its retention period."
    if status != "customer":
        return f"Only a customer's service can be ended, and this company is a {status}."
    return None


def send_refusal(stage: str | None, template: str, role: str = "contact") -> str | None:
    """Why a send of `template` about a contact in `stage`, to the recipient in `role`,
    must not go: after deprovisioning only the notices and the win-back reach the
    customer's people. None when it may go."""
    if stage == DEPARTED_STAGE and template not in AFTER_DEPARTURE and role not in STAFF_ROLES:
        return "departed"
    return None


def deletion_due(status: str, retention: datetime | None, now: datetime) -> bool:
    """Whether a deprovisioned account's data is due for deletion."""
    return status == "deprovisioned" and retention is not None and retention <= now
