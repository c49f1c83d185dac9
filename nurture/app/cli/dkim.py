"""`nurture dkim keygen`: a DKIM key to sign with, and the DNS record to publish for it."""

from __future__ import annotations

import os
from pathlib import Path

import click

from nurture.app.cli.refusals import Group
from nurture.config import Settings
from nurture.sending import dkim as signing


@click.group(cls=Group)
def dkim() -> None:
    """DKIM signing keys."""


@dkim.command()
@click.option("--selector", required=True, help="The selector, e.g. nurture2026.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the private key; default: VAR_DIR/dkim-SELECTOR.pem.")
@click.option("--ed25519", "ed25519_key", is_flag=True,
              help="An Ed25519 key (RFC 8463) rather than RSA-2048; not every verifier "
                   "knows Ed25519 yet, so sign with RSA unless you also sign with it.")
@click.option("--domain", help="The signing domain; default: the From address's.")
def keygen(selector: str, out: Path | None, ed25519_key: bool, domain: str | None) -> None:
    """Write a new private key (readable by its owner only) and print the TXT record to
    publish; then set NURTURE_DKIM_SELECTOR and NURTURE_DKIM_PRIVATE_KEY."""
    if not signing.SELECTOR.match(selector):
        raise click.UsageError(f"A selector is letters, digits, dashes and dots, "
                               f"not {selector!r}.")
    settings = Settings.from_env()
    domain = domain or settings.mail_domain
    path = out or settings.var_dir / f"dkim-{selector}.pem"
    key = signing.generate(ed25519_key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{path} already exists: a key in use is never "
                                   "overwritten; choose another --out or selector.") from None
    except OSError as exc:
        raise click.ClickException(f"Could not write {path}: {exc.strerror or exc}.") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(signing.pem(key))
    click.echo(f'{selector}._domainkey.{domain}  TXT "{signing.txt_record(key)}"')
    click.echo(f"Wrote the private key to {path}. Publish the record above, then set "
               f"NURTURE_DKIM_SELECTOR={selector} and NURTURE_DKIM_PRIVATE_KEY={path}.",
               err=True)
