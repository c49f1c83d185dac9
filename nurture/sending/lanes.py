"""The two lanes of outgoing mail, so that a person waiting for an email never waits behind
a campaign.

- priority: transactional and service mail (log-in instructions, the opt-in confirmation,
  a hand-off to a sales rep, trial and account notices). Someone asked for it, or is
  waiting on it, one message at a time.
- bulk: marketing. It comes by the thousand (a broadcast, a drip step due for a whole
  segment) and may take minutes to drain.

A send's lane is stored on its row, from its class, when the row is written. Each lane is
its own kind of due work (claimed with its own partial index, the priority lane first and
between bulk rounds) and its own queue, served by worker threads of its own
(`nurture.broker`).

The rule is the class alone. A marketing email that a journey sends right after an event
(a download's thank-you) stays bulk: events arrive in bulk too (an import of a list, a
bulk action, a batch posted to the API), and a lane that one import can fill no longer
keeps anyone's log-in instructions from waiting.
"""

from __future__ import annotations

from nurture.sending.classes import MARKETING

PRIORITY, BULK = "priority", "bulk"
LANES = (PRIORITY, BULK)

# Each lane's kind of due work: the actor that delivers it, and the scheduler's name for it.
KINDS = {PRIORITY: "deliver_priority_sends", BULK: "deliver_sends"}
SEND_KINDS = frozenset(KINDS.values())

# The rows of the priority lane that are due and that no one holds: its partial index's
# condition, and its claim's (written as a literal: SQLite uses a partial index only when
# the query repeats its terms, and a bound parameter does not).
PRIORITY_ONLY = f"lane = '{PRIORITY}'"
BULK_ONLY = f"lane = '{BULK}'"


def lane_of(message_class: str | None) -> str:
    """The lane a message of this class goes in: bulk for marketing (or no class, which
    sending treats as marketing), priority for the rest."""
    return BULK if (message_class or MARKETING) == MARKETING else PRIORITY
