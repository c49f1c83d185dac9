"""The email to an endpoint's owner when the engine disables it: a transactional notice to
a user (not a contact), sent straight through the installation's sender."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.config import Settings
from nurture.sending.senders import Sender, SendError
from nurture.users.models import User
from nurture.webhooks.services import Disabled

log = logging.getLogger(__name__)


def notify_disabled(session: Session, sender: Sender, settings: Settings,
                    disabled: Sequence[Disabled]) -> int:
    """Tell each owner which endpoint was disabled and why. Returns how many went; a send
    that fails is logged, not raised: the endpoint stays disabled either way and shows
    its reason in the console."""
    owners = {u.id: u.email for u in session.scalars(select(User).where(
        User.id.in_({d.owner_id for d in disabled if d.owner_id is not None})))}
    sent = 0
    for item in disabled:
        if (address := owners.get(item.owner_id or 0)) is None:
            continue
        message = EmailMessage()
        message["From"], message["To"] = settings.from_address, address
        message["Subject"] = "A webhook endpoint was disabled"
        message["Message-ID"] = make_msgid(domain=settings.mail_domain)
        message.set_content(
            f"The webhook endpoint {item.url} was disabled: {item.reason}\n\n"
            "No more events are delivered to it. Once the receiver answers again, enable it "
            f"again at {settings.base_url.rstrip('/')}/webhooks.\n")
        try:
            sender.send(settings.from_address, address, message["Message-ID"],
                        message.as_bytes())
            sent += 1
        except SendError as exc:
            log.warning("webhook notice to %s not sent: %s", address, exc)
    return sent
