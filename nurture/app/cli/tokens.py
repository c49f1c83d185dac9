"""`nurture tokens`: API tokens of users: create one (shown once), list them, revoke one."""

from __future__ import annotations

from datetime import datetime

import click
from sqlalchemy.orm import Session

from nurture.apitokens import services
from nurture.apitokens.scopes import SCOPES
from nurture.app.cli.ops import in_transaction
from nurture.app.cli.refusals import Group
from nurture.app.runtime import Runtime
from nurture.users.errors import UserNotFound
from nurture.users.services import list_users, normalise_email


@click.group(cls=Group)
def tokens() -> None:
    """API tokens: each acts as its user, with a scope, until revoked or expired."""


def _user_id(session: Session, email: str) -> int:
    address = normalise_email(email)
    for user in list_users(session):
        if user.email == address:
            return user.id
    raise UserNotFound(f"There is no user with the email address {address}.")


@tokens.command()
@click.option("--user", "email", required=True, help="The email address of its user.")
@click.option("--scope", required=True, type=click.Choice(SCOPES))
@click.option("--expires", default="", help="Days until it expires, like 90d (none: never).")
@click.option("--name", default="CLI token", help="What uses it, as lists show it.")
def create(email: str, scope: str, expires: str, name: str) -> None:
    """Create a token; it is printed once and stored only as a digest."""
    days = services.parse_expiry(expires)
    new = in_transaction(lambda session, rt: services.create_token(
        session, _user_id(session, email), name, scope, now=rt.clock.now(), days=days))
    click.echo(f"Created token {new.info.id} ({new.info.scope}) for {new.info.user_email}. "
               "Copy it now: it is not shown again.")
    click.echo(new.secret)


@tokens.command("list")
@click.option("--user", "email", default=None, help="Only this user's tokens.")
def list_command(email: str | None) -> None:
    """Tokens, newest first, with their last use."""
    def work(session: Session, rt: Runtime) -> tuple[list[services.TokenInfo], datetime]:
        user_id = _user_id(session, email) if email else None
        return services.list_tokens(session, user_id), rt.clock.now()

    rows, now = in_transaction(work)
    if not rows:
        click.echo("No API tokens yet: create one with `nurture tokens create`.")
    for token in rows:
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        expires = f"{token.expires_at:%Y-%m-%d}" if token.expires_at else "never"
        click.echo(f"{token.id:>6}  nt_{token.prefix}_…  {token.scope:5}  "
                   f"{token.state(now):7}  {token.user_email}  {token.name}  "
                   f"expires: {expires}  last used: {used}")


@tokens.command()
@click.argument("token_id", type=int)
def revoke(token_id: int) -> None:
    """Revoke a token: requests with it are refused from now on."""
    token = in_transaction(lambda session, rt: services.revoke(session, token_id,
                                                               now=rt.clock.now()))
    click.echo(f"Revoked token {token.id} (nt_{token.prefix}_…) of {token.user_email}.")
