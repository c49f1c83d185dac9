"""The journey definition: frozen dataclasses, the contract between the loader and the engine.

Steps are a closed tagged union; the engine dispatches on them in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta

from nurture.contacts.stages import STAGES as STAGES  # journeys name stages as contacts do
from nurture.sending.classes import MARKETING, TRANSACTIONAL
from nurture.sending.classes import MESSAGE_CLASSES as MESSAGE_CLASSES

# What a journey's marketing email is about; subscribers choose topics in the preference center.
TOPICS = {
    "product": "Product news and tips",
    "guides": "Guides and industry insights",
    "events": "Events and webinars",
    "customer": "Customer success: onboarding, reviews and renewals",
    "surveys": "Surveys about your experience",
}



@dataclass(frozen=True)
class EventTrigger:
    """Enter when an event of `event` type is recorded and `where` (if any) holds."""

    event: str
    where: str | None = None


@dataclass(frozen=True)
class ConditionTrigger:
    """Enter when the contact's facts satisfy `when` (checked whenever the contact changes)."""

    when: str


@dataclass(frozen=True)
class DateTrigger:
    """Enter at a date relative to a contact date attribute, e.g. `trial.ends_at - 5d`."""

    attribute: str
    offset: timedelta


@dataclass(frozen=True)
class SegmentTrigger:
    """Enter when the contact enters (or leaves) the saved segment called `segment`:
    noticed on the events and changes of the contact, and by a periodic sweep."""

    segment: str
    on: str = "enter"  # enter | leave


Trigger = EventTrigger | ConditionTrigger | DateTrigger | SegmentTrigger


@dataclass(frozen=True)
class ReEntry:
    """once: never again; after: again once `after` has passed since the last entry;
    always: every time the trigger fires."""

    mode: str = "once"
    after: timedelta | None = None


@dataclass(frozen=True)
class ExitGoal:
    event: str
    where: str | None = None


@dataclass(frozen=True)
class Variant:
    template: str
    weight: int = 1


@dataclass(frozen=True)
class Send:
    """Send a template. `message_class` (transactional, service or marketing) overrides the
    template's own `class.txt`; None until `with_classes` fills it in from the templates."""

    id: str
    template: str
    variants: tuple[Variant, ...] = ()
    to: tuple[str, ...] = ("contact",)
    message_class: str | None = None
    next: str | None = None

    @property
    def marketing(self) -> bool:
        """Whether the email needs marketing consent (the sending layer checks it)."""
        return self.message_class in (None, MARKETING)

    @property
    def capped(self) -> bool:
        """Whether pacing (the frequency cap across journeys, quiet hours) applies: to every
        email but log-in instructions and other transactional mail, which go at once."""
        return self.message_class != TRANSACTIONAL


@dataclass(frozen=True)
class Wait:
    """Wait a duration, until a weekday/time in the contact's zone, or until a contact date."""

    id: str
    duration: timedelta | None = None
    weekday: int | None = None  # 0 = Monday
    at: tuple[int, int] | None = None  # (hour, minute) local time
    until_date: DateTrigger | None = None
    next: str | None = None


@dataclass(frozen=True)
class WaitFor:
    id: str
    event: str
    timeout: timedelta
    on_event: str
    on_timeout: str
    where: str | None = None
    next: str | None = None


@dataclass(frozen=True)
class Case:
    when: str
    goto: str


@dataclass(frozen=True)
class Branch:
    id: str
    cases: tuple[Case, ...]
    default: str
    next: str | None = None


@dataclass(frozen=True)
class Path:
    weight: int
    goto: str


SPLIT_METRICS = ("goal", "clicks")  # what a split's arms are judged on (journeys/winners.py)


@dataclass(frozen=True)
class Split:
    """Contacts go down one of the paths by weight. A path of weight 0 is an arm whose test
    ended: a single path left with a weight is the winner, where everyone goes. `metric`
    names what decides the test: the journey's exit goals ("goal") or clicks on each
    arm's email ("clicks"); None: the goal if there is one."""

    id: str
    paths: tuple[Path, ...]
    next: str | None = None
    metric: str | None = None


@dataclass(frozen=True)
class SetFields:
    id: str
    stage: str | None = None
    attributes: tuple[tuple[str, object], ...] = ()
    next: str | None = None


@dataclass(frozen=True)
class Handoff:
    id: str
    reason: str = ""
    next: str | None = None


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    event: str = ""
    next: str | None = None


@dataclass(frozen=True)
class Exit:
    id: str
    reason: str = "exit"
    next: str | None = None


Step = Send | Wait | WaitFor | Branch | Split | SetFields | Handoff | Webhook | Exit
KINDS: dict[type, str] = {
    Send: "send", Wait: "wait", WaitFor: "wait_for", Branch: "branch", Split: "split",
    SetFields: "set", Handoff: "handoff", Webhook: "webhook", Exit: "exit"}  # as in a file


@dataclass(frozen=True)
class Journey:
    id: str
    name: str
    trigger: Trigger
    steps: tuple[Step, ...]
    stages: tuple[str, ...] = ()
    vertical: str | None = None
    topic: str = ""
    description: str = ""
    reentry: ReEntry = field(default_factory=ReEntry)
    exit_goals: tuple[ExitGoal, ...] = ()
    # Who is emailed when the guard pauses it (nurture/sending/pauses.py); none: the admins.
    owner: str | None = None

    @property
    def first_step(self) -> str:
        return self.steps[0].id

    def step(self, step_id: str) -> Step:
        return self.step_map[step_id]

    @property
    def step_map(self) -> dict[str, Step]:
        # Cached on first use: definitions are immutable.
        cached = self.__dict__.get("_step_map")
        if cached is None:
            cached = {s.id: s for s in self.steps}
            object.__setattr__(self, "_step_map", cached)
        return cached

    def next_of(self, step_id: str) -> str | None:
        """Where a step goes when it finishes normally: its `next`, or the following step."""
        step = self.step_map[step_id]
        if step.next is not None:
            return step.next
        ids = [s.id for s in self.steps]
        index = ids.index(step_id)
        return ids[index + 1] if index + 1 < len(ids) else None


def successors(journey: Journey, step: Step) -> list[str]:
    """Every step a step can lead to, for validation and drawing."""
    match step:
        case WaitFor():
            return [step.on_event, step.on_timeout]
        case Branch():
            return [c.goto for c in step.cases] + [step.default]
        case Split():
            return [p.goto for p in step.paths]
        case Exit():
            return []
        case _:
            nxt = journey.next_of(step.id)
            return [nxt] if nxt else []


def with_classes(journey: Journey, class_of: Callable[[str], str]) -> Journey:
    """The journey with each send step's class decided: its own `class`, else the class
    its template declares (`class_of(template)`)."""
    steps = tuple(replace(step, message_class=class_of(step.template))
                  if isinstance(step, Send) and step.message_class is None else step
                  for step in journey.steps)
    if steps == journey.steps:
        return journey
    return replace(journey, steps=steps)


def step_names(step: Step) -> set[str]:
    """What a behaviour rule's `after` may call a step: its id, kind or templates."""
    names = {step.id, KINDS[type(step)]}
    if isinstance(step, Send):
        names |= {step.template, *(v.template for v in step.variants)}
    return names
