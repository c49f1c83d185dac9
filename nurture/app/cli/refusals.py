"""A command that is refused ends with its sentence and exit status 1, never a traceback.

Services refuse with a member of the one error family (`nurture.errors`); settings that
cannot be used raise `ConfigError` at start-up. Both are mapped here, once, for every
command: `Group` and `Command` are the classes each `nurture` group and command is made
with, so a group or command run on its own (as the tests do) answers the same way as
`nurture ...`. A command keeps a local `except` only to say more than the sentence (which
of several files it was reading), or to ask again at a prompt.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from nurture.config import ConfigError
from nurture.errors import NurtureError


@contextmanager
def sentences() -> Iterator[None]:
    """Turn a refusal into click's own error: "Error: <sentence>" on stderr, status 1."""
    try:
        yield
    except ConfigError as exc:
        raise click.ClickException(f"The configuration cannot be used: {exc}") from None
    except NurtureError as exc:
        raise click.ClickException(exc.sentence) from None


class Command(click.Command):
    """A command whose refusals end with their sentence."""

    def invoke(self, ctx: click.Context) -> Any:
        with sentences():
            return super().invoke(ctx)


class Group(click.Group):
    """A group whose commands, and subgroups, are made and answer the same way."""

    command_class = Command
    group_class = type  # a subgroup is a Group too

    def invoke(self, ctx: click.Context) -> Any:
        with sentences():
            return super().invoke(ctx)
