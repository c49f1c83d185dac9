"""Journeys' subscriber to recorded events, registered by the composition root.

For each batch, in its transaction: end the enrollments whose goal an event reached, wake
the `wait_for` steps an event answered, and enter contacts into the journeys whose event
trigger fired or whose condition the batch made true (a stage, a score, an attribute
changed by the events or by the subscribers before this one). Woken and new enrollments
are answered as due now. Contacts an import created enter nothing, by event or by
condition, unless the marketer chose so at import (`entry.held_back`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from journeys.entry import held_back
from journeys.facts import EventRecord
from journeys.repository import VersionCache, load_facts
from journeys.services import Entries, all_history_types, react_to_events
from nurture.events.bus import CreatedBatch, Reaction, RecordedBatch

ADVANCE = "advance_enrollments"


@dataclass(frozen=True)
class JourneySubscriber:
    versions: VersionCache
    window: timedelta = timedelta(days=7)  # the send history the facts hold

    def on_created(self, session: Session, batch: CreatedBatch) -> Reaction:
        """New contacts (the bulk path): an import's enter nothing unless the marketer
        chose so; then, and for contacts created otherwise, the usual way."""
        held = {e.contact_id for e in batch.events
                if held_back(e.type, e.source, e.properties)}
        if all(e.contact_id in held for e in batch.events) and batch.changed <= held:
            return Reaction()  # as `__call__` answers them: nothing to enter or wake
        return self(session, batch.recorded())

    def __call__(self, session: Session, batch: RecordedBatch) -> Reaction:
        held = {e.contact_id for e in batch.events
                if held_back(e.type, e.source, e.properties)}
        if all(e.contact_id in held for e in batch.events):
            return Reaction()  # new contacts of an import: no enrollment, nothing to enter
        now, contacts = batch.now, dict(batch.contacts)
        live = self.versions.live(session)
        facts = load_facts(session, contacts, all_history_types(live.values()), now,
                           self.window)
        for event in batch.events:  # later events in the batch see earlier ones
            facts[event.contact_id].events.append(
                EventRecord(event.type, event.occurred_at, dict(event.properties)))
        triples = [(e.contact_id, e.type, dict(e.properties)) for e in batch.events]
        reaction = Reaction()
        reaction.make_due(ADVANCE, react_to_events(session, self.versions, facts, triples,
                                                   now))
        entries = Entries(session, live, now)
        entries.load_history(set(contacts) - held)
        for contact_id, type_, properties in triples:
            if contact_id not in held:
                entries.on_event(facts[contact_id], type_, properties)
        for contact_id in batch.changed - held:
            entries.on_change(facts[contact_id])
        reaction.make_due(ADVANCE, entries.flush())
        return reaction
