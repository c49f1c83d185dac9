"""`nurture dns records|check`: the SPF, DKIM and DMARC records the sending domain needs,
and findings about what is published, read through a stub resolver (this machine has no
DNS)."""

from __future__ import annotations

import importlib

import pytest
from click.testing import CliRunner

from nurture.app.cli import main
from nurture.sending import dkim, dnsrecords

# The command's module (the package's `dns` attribute is the command group itself).
dns_cli = importlib.import_module("nurture.app.cli.dns")


@pytest.fixture(scope="module")
def pem_and_record(tmp_path_factory):
    key = dkim.generate()
    path = tmp_path_factory.mktemp("dkim") / "s1.pem"
    path.write_bytes(dkim.pem(key))
    return path, dkim.txt_record(key)


def _run(tmp_path, args, published=None, **env):
    """`nurture ARGS` for the domain acme.example, DNS answering from `published`
    (name → TXT strings); None: DNS cannot be reached."""
    def resolve(name: str) -> list[str]:
        if published is None:
            raise dnsrecords.Unreachable("no nameserver answered")
        return published.get(name, [])

    original = dns_cli.RESOLVER
    dns_cli.RESOLVER = lambda timeout: resolve
    try:
        return CliRunner().invoke(main, ["dns", *args], env={
            "SECRET_KEY": "k", "NURTURE_VAR_DIR": str(tmp_path),
            "NURTURE_FROM": "Acme <hello@acme.example>", **env})
    finally:
        dns_cli.RESOLVER = original


def test_records_print_spf_dkim_and_dmarc_with_placeholders_said_to_be_so(
        tmp_path, pem_and_record):
    pem, record = pem_and_record
    result = _run(tmp_path, ["records"], NURTURE_DKIM_SELECTOR="s1",
                  NURTURE_DKIM_PRIVATE_KEY=str(pem))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert 'acme.example.  TXT  "v=spf1 include:YOUR-RELAY.example ~all"' in lines
    assert "is a placeholder, not a record to publish as is" in result.output
    assert f's1._domainkey.acme.example.  TXT  "{record}"' in lines
    assert ('_dmarc.acme.example.  TXT  "v=DMARC1; p=none; '
            'rua=mailto:dmarc-reports@acme.example; adkim=r; aspf=r"') in lines
    assert "move to p=quarantine, then to p=reject" in result.output


def test_records_use_the_relay_and_report_mailbox_set(tmp_path):
    result = _run(tmp_path, ["records"], NURTURE_SPF="include:amazonses.com",
                  NURTURE_DMARC_RUA="dmarc@reports.acme.example")
    assert result.exit_code == 0, result.output
    assert '"v=spf1 include:amazonses.com ~all"' in result.output
    assert "rua=mailto:dmarc@reports.acme.example;" in result.output
    assert "placeholder" not in result.output and "_domainkey" not in result.output


def test_check_passes_when_everything_is_published(tmp_path, pem_and_record):
    pem, record = pem_and_record
    result = _run(tmp_path, ["check"], {
        "acme.example": ["google-site-verification=x", "v=spf1 include:amazonses.com -all"],
        "s1._domainkey.acme.example": [record],
        "_dmarc.acme.example": ["v=DMARC1; p=quarantine; rua=mailto:d@acme.example"],
    }, NURTURE_SPF="include:amazonses.com", NURTURE_DKIM_SELECTOR="s1",
        NURTURE_DKIM_PRIVATE_KEY=str(pem))
    assert result.exit_code == 0, result.output
    assert "ok: acme.example publishes one SPF record and names NURTURE_SPF's mechanisms." \
        in result.output
    assert ("ok: The DKIM key at s1._domainkey.acme.example matches the key Nurture signs "
            "with.") in result.output
    assert "ok: DMARC at acme.example asks receivers to quarantine mail that fails." \
        in result.output
    assert "PROBLEM" not in result.output


def test_check_names_each_problem_in_a_sentence(tmp_path, pem_and_record):
    pem, _ = pem_and_record
    other = dkim.txt_record(dkim.generate(ed25519_key=True))
    result = _run(tmp_path, ["check"], {
        "acme.example": ["v=spf1 mx ~all", "v=spf1 include:amazonses.com ~all"],
        "s1._domainkey.acme.example": [other],
        "_dmarc.acme.example": ["v=DMARC1; p=none"],
    }, NURTURE_DKIM_SELECTOR="s1", NURTURE_DKIM_PRIVATE_KEY=str(pem))
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("PROBLEM: ")]
    assert problems == [
        "PROBLEM: acme.example publishes 2 SPF records, which receivers treat as an error "
        "(permerror): merge them into one.",
        "PROBLEM: The DKIM key published at s1._domainkey.acme.example is not the key "
        "Nurture signs with: every message fails DKIM. Publish the record above, or set the "
        "key that matches.",
        "PROBLEM: The DMARC record of acme.example has no rua: no aggregate reports come "
        "back to show what passes and what fails.",
    ]
    assert "ok: DMARC at acme.example only monitors (p=none)" in result.output


def test_check_says_what_is_missing(tmp_path):
    result = _run(tmp_path, ["check"], {"acme.example": ["v=spf1 +all"]},
                  NURTURE_SPF="include:amazonses.com")
    assert result.exit_code == 1
    assert ("PROBLEM: The SPF record of acme.example lacks include:amazonses.com "
            "(NURTURE_SPF): add it, or mail from Nurture fails SPF.") in result.output
    assert "ends in +all, which lets any server send as the domain" in result.output
    assert "ok: Nurture does not sign (NURTURE_DKIM_SELECTOR is unset)" in result.output
    assert ("PROBLEM: _dmarc.acme.example publishes no DMARC record, which Gmail and Yahoo "
            "require of bulk senders: publish the one above.") in result.output


def test_without_dns_the_check_prints_the_records_and_says_nothing_was_checked(tmp_path):
    result = _run(tmp_path, ["check"], None)
    assert result.exit_code == 1
    assert '_dmarc.acme.example.  TXT  "v=DMARC1; p=none;' in result.output
    assert ("PROBLEM: DNS could not be reached (no nameserver answered): nothing was "
            "checked; publish the records above and run this again where DNS answers.") \
        in result.output
