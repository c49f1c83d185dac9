"""Journeys in the console, for the views: the list, a journey's page (its diagram with live
counts, email figures, versions and splits), and what a marketer does there: pause and
resume (the guard's pausing), take a contact out, end a split's test with its winner; and
what the API adds: enter one contact."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from journeys import operations, report, rollups, winners
from journeys.draw import draw_svg
from journeys.loader import known_templates, load_text
from journeys.models import JourneyVersion
from journeys.services import publish
from journeys.subscriber import ADVANCE
from nurture.app.runtime import Runtime
from nurture.contacts import audit
from nurture.contacts.models import Contact
from nurture.contacts.services import email_key
from nurture.errors import Conflict, Invalid, NotFound


@dataclass(frozen=True)
class JourneyPage:
    page: report.Page
    diagram: str  # inline SVG
    splits: list[winners.SplitResult]


def listing(rt: Runtime, only: list[str] | None = None) -> list[report.Listed]:
    """The list of journeys (those in `only`, if given), with their counts."""
    now = rt.now()
    with rt.sessions() as session:
        return report.listing(session, rt.versions, now, rollups.read(session, now, only),
                              only)


def refresh_rollups(rt: Runtime) -> dict[str, int]:
    """The scheduler's round: measure the large journeys' counts for their pages."""
    with rt.transaction() as session:
        return {"rolled_up": rollups.refresh(session, rt.versions, rt.now())}


def _lines(counts: report.StepCounts | None, email: report.EmailCounts | None) -> list[str]:
    """A step's live counts, as lines of its box in the diagram."""
    c = counts or report.StepCounts()
    lines = [f"entered {c.entered:,} · waiting {c.waiting:,} · done {c.completed:,}"]
    exited = sum(c.exited.values())
    if exited:
        lines.append(f"exited {exited:,}" + (f" · converted {c.converted:,}"
                                             if c.converted else ""))
    if email is not None:
        lines.append(f"sent {email.sent:,} · opened {email.opened:,} · "
                     f"clicked {email.clicked:,}")
    return lines


def journey_page(rt: Runtime, journey_id: str, link: str) -> JourneyPage:
    """The page's figures; `link` is the address of a step's contacts, with `{step}`."""
    with rt.sessions() as session:
        rolled = rollups.read(session, rt.now(), [journey_id]).get(journey_id)
        page = report.page(session, rt.versions, journey_id,
                           rolled[0] if rolled is not None else None)
        if page is None:
            raise NotFound(f"No journey {journey_id[:120]!r} is published; choose one from "
                           "the list of journeys.")
        splits = winners.results(session, page.journey, [v.id for v in page.versions],
                                 page.figures.arms)
    counts = {step.id: _lines(page.steps.get(step.id), page.emails.get(step.id))
              for step in page.journey.steps}
    links = {step.id: link.replace("%7Bstep%7D", step.id) for step in page.journey.steps}
    svg = draw_svg(page.journey, counts, links).split("\n", 1)[1]  # no XML declaration
    return JourneyPage(page, svg, splits)


def contacts_at(rt: Runtime, journey_id: str, step_id: str) -> list[operations.AtStep]:
    with rt.sessions() as session:
        return operations.contacts_at(session, journey_id, step_id)


def take_out(rt: Runtime, journey_id: str, email: str, by: str) -> str:
    """End the contact's enrollment; returns their address as stored."""
    with rt.transaction() as session:
        row = session.execute(select(Contact.id, Contact.email)
                              .where(Contact.email_key == email_key(email))).first()
        if row is None:
            raise NotFound("There is no contact with this address: nothing was changed.")
        operations.take_out(session, journey_id, row.id, by, rt.now())
        return row.email


def contact_by_email(rt: Runtime, email: str) -> int:
    """The id of the contact with this address; NotFound otherwise."""
    with rt.sessions() as session:
        found = session.scalar(select(Contact.id).where(Contact.email_key == email_key(email)))
    if found is None:
        raise NotFound("There is no contact with this address: nothing was changed.")
    return int(found)


def enroll(rt: Runtime, journey_id: str, contact_id: int, by: str) -> int:
    """Enter the contact into the journey now, by the rules of the contact list's bulk
    action (`journeys.operations.enroll`), kept in the contact's audit trail; the
    enrollment's id. Its first step runs at once."""
    now = rt.now()
    with rt.work(now) as work:
        row, due = operations.enroll(work.session, rt.versions, journey_id, contact_id, now)
        work.due(ADVANCE, due)
        audit.record(work.session, [audit.Change(contact_id, "journey", None, journey_id)],
                     by, now)
        return row.id


def take_out_contact(rt: Runtime, journey_id: str, contact_id: int, by: str) -> int:
    """`take_out` by the contact's id; the ended enrollment's id."""
    with rt.transaction() as session:
        return operations.take_out(session, journey_id, contact_id, by, rt.now())


def diff(rt: Runtime, journey_id: str, old: int, new: int) -> list[str]:
    with rt.sessions() as session:
        return operations.diff(session, journey_id, old, new)


def end_test(rt: Runtime, journey_id: str, split_id: str, by: str) -> int:
    """Publish a new version whose split `split_id` sends everyone to its winner; the
    version number. Conflict when the test has no winner yet."""
    with rt.transaction() as session:
        newest = session.scalars(select(JourneyVersion).where(
            JourneyVersion.journey_id == journey_id)
            .order_by(JourneyVersion.version.desc()).limit(1)).first()
        if newest is None:
            raise NotFound(f"No journey {journey_id[:120]!r} is published.")
        journey = rt.versions.get(session, [newest.id])[newest.id]
        versions = list(session.scalars(select(JourneyVersion.id).where(
            JourneyVersion.journey_id == journey_id)))
        result = next((r for r in winners.results(session, journey, versions)
                       if r.step_id == split_id), None)
        if result is None:
            raise NotFound(f"The journey has no split {split_id[:120]!r}.")
        if result.ended or result.winner is None:
            raise Conflict(result.reason if not result.ended else
                           "This test was ended already: everyone goes to its winner.")
        source = winners.ended_source(newest.source, split_id, result.winner)
        loaded = load_text(source, f"{journey_id}.yaml", known_templates(
            rt.settings.templates_dir))
        if loaded.journey is None:
            raise Invalid(f"The journey without its test does not load: "
                          f"{loaded.violations[0]}")
        note = (f"Ended the test at {split_id}: everyone goes to {result.winner}. "
                f"{result.reason}")
        return publish(session, loaded, based_on=newest.version, by=by, note=note).version
