"""Every model, imported in one place so that metadata (and Alembic) sees all tables."""

from journeys.models import Activity, Enrollment, JourneyVersion
from nurture.consent.models import ConsentRecord, Suppression
from nurture.contacts.models import Contact, StageChange
from nurture.db import Base
from nurture.events.models import Event
from nurture.landing.models import LandingPage
from nurture.nps.models import NPSResponse
from nurture.sending.models import Send
from nurture.trials.models import Trial
from nurture.webhooks.models import WebhookDelivery

__all__ = [
    "Activity", "Base", "ConsentRecord", "Contact", "Enrollment", "Event", "JourneyVersion",
    "LandingPage", "NPSResponse", "Send", "StageChange", "Suppression", "Trial",
    "WebhookDelivery",
]
