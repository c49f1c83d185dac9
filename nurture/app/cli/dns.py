"""`nurture dns records|check`: the SPF, DKIM and DMARC records the sending domain needs,
and whether they are published."""

from __future__ import annotations

import sys

import click

from nurture.app.cli.refusals import Group
from nurture.config import Settings
from nurture.sending import dnsrecords


@click.group(cls=Group)
def dns() -> None:
    """The DNS records of the sending domain: SPF, DKIM, DMARC."""


def _records(settings: Settings) -> list[dnsrecords.Record]:
    sending = settings.sending
    return [*dnsrecords.needed(settings.mail_domain, sending.dkim_keys, sending.spf,
                               sending.dmarc_rua),
            *dnsrecords.bounce_records(settings.verp_domain, settings.mail_domain,
                                       sending.spf)]


def _print(records: list[dnsrecords.Record]) -> None:
    for record in records:
        click.echo(record.zone_line())
        click.echo(f"    {record.note}")


@dns.command()
def records() -> None:
    """Print the records to publish for the From address's domain, each with a note."""
    _print(_records(Settings.from_env()))


@dns.command()
@click.option("--timeout", default=5.0, show_default=True, type=float,
              help="Seconds to wait for each DNS answer.")
def check(timeout: float) -> None:
    """Print the records to publish, then what is published, as findings; exit 1 when a
    record is missing or wrong (or DNS cannot be reached)."""
    settings = Settings.from_env()
    _print(_records(settings))
    click.echo("")
    findings = dnsrecords.check(settings.mail_domain, settings.sending.dkim_keys,
                                settings.sending.spf, RESOLVER(timeout))
    for finding in findings:
        click.echo(f"{'ok' if finding.ok else 'PROBLEM'}: {finding.sentence}")
    sys.exit(0 if all(f.ok for f in findings) else 1)


# The resolver the check asks; tests put a stub in its place.
RESOLVER = dnsrecords.resolver
