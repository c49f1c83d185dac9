"""What journey services refuse, each as a whole sentence."""

from __future__ import annotations

from nurture.errors import Conflict, Invalid


class StaleBase(Conflict):
    """Raised when a journey is published from a version that is no longer the newest."""

    title = "The journey changed since you started"

    def __init__(self, journey_id: str, based_on: int, newest: int):
        self.based_on, self.newest = based_on, newest
        start = (f"version {based_on}" if based_on else "no version (a new journey)")
        super().__init__(
            f"The journey '{journey_id}' was not published: you started from {start}, but "
            f"version {newest} has been published since. Open version {newest}, bring your "
            "changes into it, and publish again.")


class NotValid(Invalid):
    """Raised when a journey that has violations is published."""

    title = "The journey is not valid"
