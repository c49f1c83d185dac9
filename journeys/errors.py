"""What journey services refuse, each as a whole sentence."""

from __future__ import annotations

from nurture.errors import Conflict, Invalid


class StaleBase(Conflict):
    """Raised when a journey is published from a version that is no longer the newest."""

    title = "The journey changed since you started"

    def __init__(self, journey_id: str, based_on: int | None, newest: int,
                 by: str | None = None):
        self.based_on, self.newest = based_on, newest
        if based_on is None:  # a file that does not say, over an edit made in the console
            super().__init__(
                f"The journey '{journey_id}' was not published: version {newest} was "
                f"published in the console by {by}, and this file does not say which "
                "version it was edited from. Run `nurture journeys export "
                f"{journey_id}` to get version {newest}, bring your changes into it, and "
                f"publish it with --based-on {newest}.")
            return
        start = (f"version {based_on}" if based_on else "no version (a new journey)")
        super().__init__(
            f"The journey '{journey_id}' was not published: you started from {start}, but "
            f"version {newest} has been published since. Open version {newest}, bring your "
            "changes into it, and publish again.")


class NotValid(Invalid):
    """Raised when a journey that has violations is published."""

    title = "The journey is not valid"
