"""`nurture users`: create people who sign in, list them, change a password, sign them out
everywhere, deactivate and reactivate.

A password is typed at a hidden prompt (twice), or read from stdin with `--password-stdin`
for scripts. There is no `--password` option: it would be kept in the shell's history and
shown to anyone who lists processes.

Commands use the runtime passed as the click context's `obj` when there is one (tests),
and otherwise build one from the environment.
"""

from __future__ import annotations

import sys

import click

from nurture.app.cli.ops import in_transaction
from nurture.app.cli.refusals import Group
from nurture.users import services
from nurture.users.errors import UserError
from nurture.users.models import ROLES


def _password(email: str, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.read().rstrip("\r\n")
    else:
        def policy(value: str) -> str:  # asked again at once, before the confirmation
            try:
                services.check_password(value, email)
            except UserError as exc:  # presentation: the prompt asks again
                raise click.UsageError(str(exc)) from None
            return value

        password = click.prompt("Password", hide_input=True, confirmation_prompt=True,
                                value_proc=policy)
    services.check_password(password, email)
    return password


def _email(email: str) -> str:
    return services.normalise_email(email)


PASSWORD_STDIN = click.option("--password-stdin", is_flag=True,
                              help="Read the password from stdin instead of a prompt.")


@click.group(cls=Group)
def users() -> None:
    """People who sign in: sales, marketers and admins."""


@users.command()
@click.option("--email", required=True, help="The address they sign in with.")
@click.option("--name", required=True, help="Their name, as the app shows it.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--vertical", "verticals", multiple=True,
              help="A vertical they cover (repeat for more; none: every vertical).")
@click.option("--territory", "territories", multiple=True,
              help="An ISO country code they cover, like GB (repeat; none: everywhere).")
@PASSWORD_STDIN
def create(email: str, name: str, role: str, verticals: tuple[str, ...],
           territories: tuple[str, ...], password_stdin: bool) -> None:
    """Create a user who can sign in."""
    address = _email(email)
    password = _password(address, password_stdin)
    user = in_transaction(lambda session, rt: services.create_user(
        session, address, name, role, password, verticals, territories, now=rt.clock.now()))
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@users.command("list")
@click.option("--role", type=click.Choice(ROLES), help="Only users with this role.")
def list_command(role: str | None) -> None:
    """Every user, inactive ones too."""
    rows = in_transaction(lambda session, _rt: services.list_users(session, role))
    if not rows:
        click.echo("No users yet: create one with `nurture users create`.")
    for user in rows:
        login = f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "never"
        click.echo(f"{user.id:>6}  {user.role:8}  {'active' if user.active else 'inactive':8}  "
                   f"{user.email}  {user.name}  verticals: {', '.join(user.verticals) or 'any'}"
                   f"  territories: {', '.join(user.territories) or 'any'}  last sign-in: "
                   f"{login}")


@users.command("set-password")
@click.argument("email")
@PASSWORD_STDIN
def set_password(email: str, password_stdin: bool) -> None:
    """Change a user's password; their open sessions end."""
    password = _password(email.strip().lower(), password_stdin)
    user = in_transaction(lambda session, _rt: services.set_password(session, email, password))
    click.echo(f"Changed the password of {user.email}.")


@users.command()
@click.argument("email")
def deactivate(email: str) -> None:
    """Stop a user from signing in; their open sessions end."""
    user = in_transaction(lambda session, _rt: services.deactivate(session, email))
    click.echo(f"Deactivated {user.email}: they can no longer sign in.")


@users.command()
@click.argument("email")
def activate(email: str) -> None:
    """Let a deactivated user sign in again."""
    user = in_transaction(lambda session, _rt: services.activate(session, email))
    click.echo(f"Activated {user.email}: they can sign in again.")


@users.command("sign-out")
@click.argument("email")
def sign_out(email: str) -> None:
    """End every session of a user, on every device (they can sign in again)."""
    user = in_transaction(lambda session, _rt: services.end_sessions(session, email))
    click.echo(f"Signed out {user.email} everywhere: every session they had has ended.")
