"""DKIM: with a key configured, every message that leaves (a send, a preview) carries a
signature that a verifier (dkimpy) accepts against the published key, and that fails once
the message is changed on the way. dkimpy reads the key through its DNS hook: this machine
has no DNS."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import dkim as dkimpy
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec

from nurture.app.cli import main
from nurture.config import ConfigError, Settings
from nurture.sending import dkim
from tests.helpers import HELLO, contact, event, invoke_cli, publish_text, running

DOMAIN = "acme.example"


def _dns(records: dict[str, str]):
    """dkimpy's DNS hook answering TXT queries from `records` (name → value)."""
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        value = records.get(name.decode().rstrip("."))
        return value.encode() if value is not None else None
    return lookup


def _verifies(message: bytes, key: dkim.DkimKey, domain: str = DOMAIN) -> bool:
    return dkimpy.verify(message, dnsfunc=_dns(
        {f"{key.selector}._domainkey.{domain}": key.record()}))


@pytest.fixture(scope="module")
def key() -> dkim.DkimKey:
    return dkim.DkimKey("s2026", dkim.generate())


def _signing(settings: Settings, key: dkim.DkimKey) -> Settings:
    return settings.with_(from_address=f"Acme <hello@{DOMAIN}>",
                          sending=replace(settings.sending, dkim=key))


def test_a_message_sent_through_the_outbox_verifies_and_a_tampered_one_does_not(
        settings, clock, key):
    with running(_signing(settings, key), clock) as rt:
        publish_text(rt, HELLO)
        event(rt, contact(rt, "ann@example.com", first_name="Ann"), "custom.joined")
        [path] = list(rt.settings.outbox_dir.glob("*.eml"))
        sent = path.read_bytes()

    # The outbox records the envelope sender above the signature, as a mailbox would.
    return_path, _, signed_message = sent.partition(b"\r\n")
    assert return_path == f"Return-Path: <hello@{DOMAIN}>".encode()
    assert signed_message.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; "
                                     b"c=relaxed/relaxed; d=acme.example; s=s2026;")
    assert sent.count(b"DKIM-Signature:") == 1
    assert _verifies(sent, key)
    head, _, body = sent.partition(b"\r\n\r\n")
    signed = re.search(rb"h=([^;]+);", head).group(1).decode().split(":")
    assert signed[:3] == ["From", "To", "Subject"] and "Message-ID" in signed
    assert "List-Id" in signed or "List-Id:" not in head.decode()
    assert not _verifies(head + b"\r\n\r\n" + body.replace(b"A", b"B", 1), key)
    assert not _verifies(sent.replace(b"To: ann@example.com", b"To: bob@example.com"), key)


def test_marketing_mail_signs_its_unsubscribe_headers(settings, clock, key):
    message = dkim.sign(
        b"From: Acme <hello@acme.example>\r\nTo: ann@example.com\r\nSubject: News\r\n"
        b"List-Unsubscribe: <https://acme.example/u/1>\r\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        b"Reply-To:  team@acme.example \r\n\r\nHello  \r\n\r\n\r\n", key, DOMAIN)
    assert b"h=From:To:Subject:List-Unsubscribe:List-Unsubscribe-Post:Reply-To:From;" \
        in message.replace(b"\r\n ", b" ")
    assert _verifies(message, key)
    assert not _verifies(message.replace(b"One-Click", b"Two-Click"), key)


def test_without_a_key_nothing_is_signed(rt):
    publish_text(rt, HELLO)
    event(rt, contact(rt, "ann@example.com"), "custom.joined")
    [path] = list(rt.settings.outbox_dir.glob("*.eml"))
    assert b"DKIM-Signature" not in path.read_bytes()


def test_keygen_prints_a_record_that_verifies_what_the_preview_signs(tmp_path):
    env = {"SECRET_KEY": "k", "NURTURE_VAR_DIR": str(tmp_path / "var"),
           "NURTURE_FROM": f"Acme <hello@{DOMAIN}>"}
    made = CliRunner().invoke(main, ["dkim", "keygen", "--selector", "mail1"], env=env)
    assert made.exit_code == 0, made.output
    name, value = re.fullmatch(r'(\S+)  TXT "(v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+)"\n',
                               made.stdout).groups()
    assert name == f"mail1._domainkey.{DOMAIN}"
    pem = tmp_path / "var" / "dkim-mail1.pem"
    assert pem.stat().st_mode & 0o777 == 0o600

    (tmp_path / "ann.json").write_text(json.dumps({"email": "ann@example.com"}))
    shown = CliRunner().invoke(main, [
        "templates", "render", "trial-welcome", "--contact-json", str(tmp_path / "ann.json"),
        "--out", str(tmp_path / "out")], env={
        **env, "NURTURE_DKIM_SELECTOR": "mail1", "NURTURE_DKIM_PRIVATE_KEY": str(pem)})
    assert shown.exit_code == 0, shown.output
    message = (tmp_path / "out" / "message.eml").read_bytes()
    assert message.startswith(b"DKIM-Signature: ")
    assert dkimpy.verify(message, dnsfunc=_dns({name: value}))

    again = CliRunner().invoke(main, ["dkim", "keygen", "--selector", "mail1"], env=env)
    assert again.exit_code == 1 and "already exists" in again.output


def test_an_ed25519_key_signs_beside_the_rsa_key_and_each_signature_verifies(tmp_path):
    rsa_pem, ed_pem = tmp_path / "rsa.pem", tmp_path / "ed.pem"
    rsa_pem.write_bytes(dkim.pem(dkim.generate()))
    ed_pem.write_bytes(dkim.pem(dkim.generate(ed25519_key=True)))
    env = {"SECRET_KEY": "k", "NURTURE_VAR_DIR": str(tmp_path / "var"),
           "NURTURE_FROM": f"Acme <hello@{DOMAIN}>",
           "NURTURE_DKIM_SELECTOR": "rsa1", "NURTURE_DKIM_PRIVATE_KEY": str(rsa_pem),
           "NURTURE_DKIM_ED25519_SELECTOR": "ed1",
           "NURTURE_DKIM_ED25519_PRIVATE_KEY": str(ed_pem)}
    (tmp_path / "ann.json").write_text(json.dumps({"email": "ann@example.com"}))
    shown = CliRunner().invoke(main, [
        "templates", "render", "trial-welcome", "--contact-json", str(tmp_path / "ann.json"),
        "--out", str(tmp_path / "out")], env=env)
    assert shown.exit_code == 0, shown.output
    message = (tmp_path / "out" / "message.eml").read_bytes()
    assert message.count(b"DKIM-Signature: ") == 2
    assert b"a=ed25519-sha256;" in message and b"a=rsa-sha256;" in message

    printed = CliRunner().invoke(main, ["dns", "records"], env=env)
    published = dict(re.findall(r'^(\S+)\.  TXT  "(v=DKIM1;[^"]+)"$', printed.stdout, re.M))
    assert set(published) == {f"rsa1._domainkey.{DOMAIN}", f"ed1._domainkey.{DOMAIN}"}
    # A verifier checks each signature (dkimpy verifies Ed25519 with PyNaCl); one that
    # knows only RSA passes on the RSA one, whatever it makes of the other.
    verifier = dkimpy.DKIM(message)
    assert verifier.verify(idx=0, dnsfunc=_dns(published))
    assert verifier.verify(idx=1, dnsfunc=_dns(published))
    tampered = dkimpy.DKIM(message.replace(b"To: ann@example.com", b"To: bob@example.com"))
    assert not tampered.verify(idx=0, dnsfunc=_dns(published))
    assert not tampered.verify(idx=1, dnsfunc=_dns(published))


def test_a_second_key_that_is_not_ed25519_beside_rsa_is_refused_with_a_sentence(tmp_path):
    rsa_pem, ed_pem = tmp_path / "rsa.pem", tmp_path / "ed.pem"
    rsa_pem.write_bytes(dkim.pem(dkim.generate()))
    ed_pem.write_bytes(dkim.pem(dkim.generate(ed25519_key=True)))
    env = {"SECRET_KEY": "k", "NURTURE_VAR_DIR": str(tmp_path)}
    second = {"NURTURE_DKIM_ED25519_SELECTOR": "ed1",
              "NURTURE_DKIM_ED25519_PRIVATE_KEY": str(ed_pem)}
    first = {"NURTURE_DKIM_SELECTOR": "rsa1", "NURTURE_DKIM_PRIVATE_KEY": str(rsa_pem)}
    for given, sentence in (
            (second, "NURTURE_DKIM_ED25519_SELECTOR signs beside an RSA key, and "
                     "NURTURE_DKIM_SELECTOR names none: set the RSA key too, or give the "
                     "Ed25519 key as NURTURE_DKIM_SELECTOR alone."),
            ({**first, **second, "NURTURE_DKIM_ED25519_PRIVATE_KEY": str(rsa_pem)},
             "NURTURE_DKIM_ED25519_PRIVATE_KEY holds an RSA key: the second signature is "
             "an Ed25519 one (nurture dkim keygen --ed25519)."),
            ({**first, **second, "NURTURE_DKIM_ED25519_SELECTOR": "rsa1"},
             "Both DKIM keys use the selector 'rsa1': each key is published under its own "
             "selector."),
            ({**first, "NURTURE_DKIM_ED25519_SELECTOR": "ed1"},
             "NURTURE_DKIM_ED25519_SELECTOR is set but NURTURE_DKIM_ED25519_PRIVATE_KEY is "
             "not: DKIM signing needs both.")):
        with pytest.raises(ConfigError) as raised:
            Settings.from_env({**env, **given})
        assert str(raised.value) == sentence
    assert Settings.from_env({**env, **first, **second}).sending.dkim_keys[1].selector == "ed1"


def test_a_key_that_cannot_be_used_stops_the_start_up_with_a_sentence(tmp_path):
    env = {"SECRET_KEY": "k", "NURTURE_VAR_DIR": str(tmp_path), "NURTURE_DKIM_SELECTOR": "s1"}
    missing = tmp_path / "none.pem"
    not_a_key = tmp_path / "notes.pem"
    not_a_key.write_text("hello")
    elliptic = tmp_path / "ec.pem"
    elliptic.write_bytes(dkim.pem(ec.generate_private_key(ec.SECP256R1())))
    for path, sentence in (
            (elliptic, f"NURTURE_DKIM_PRIVATE_KEY cannot be used: {elliptic} holds a private "
                       "key of another kind (ECPrivateKey): DKIM signs with an RSA or an "
                       "Ed25519 key."),
            (missing, f"NURTURE_DKIM_PRIVATE_KEY cannot be used: {missing} cannot be read: "
                      "No such file or directory."),
            (not_a_key, f"NURTURE_DKIM_PRIVATE_KEY cannot be used: {not_a_key} holds no "
                        "unencrypted private key in PEM form.")):
        with pytest.raises(ConfigError) as raised:
            Settings.from_env({**env, "NURTURE_DKIM_PRIVATE_KEY": str(path)})
        assert str(raised.value) == sentence
    result = invoke_cli(["dkim", "keygen", "--selector", "bad selector"], tmp_path)
    assert result.exit_code != 0 and "letters, digits, dashes and dots" in result.output


def test_the_key_is_read_once_with_the_settings(tmp_path):
    pem = tmp_path / "k.pem"
    pem.write_bytes(dkim.pem(dkim.generate()))
    settings = Settings.from_env({"SECRET_KEY": "k", "NURTURE_VAR_DIR": str(tmp_path),
                                  "NURTURE_DKIM_SELECTOR": "s1",
                                  "NURTURE_DKIM_PRIVATE_KEY": str(pem)})
    pem.unlink()  # signing needs no file any more
    assert settings.sending.dkim is not None
    assert dkim.sign(b"From: a@b.example\r\n\r\n", settings.sending.dkim, "b.example")



@pytest.mark.parametrize("body", [
    b"", b"\r\n\r\n", b"x", b"x\r\n", b"a  b \t\r\n\r\n", b"a b \r\nc\t\t\r\n\r\n\r\n",
    b"a \r\n \r\n", b"end  ", b"x ", b"QUJD\r\nREVG\r\n\r\n", b"word " * 100 + b"\r\n",
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nQUJD\r\n"])
def test_the_body_is_canonicalized_as_verifiers_do(body):
    from dkim.canonicalization import Relaxed

    assert dkim.relaxed_body(body) == Relaxed.canonicalize_body(body)


def test_the_send_bench_reports_the_cost_of_signing(settings):
    from nurture.app.bench.dkim import measure_signing

    report = measure_signing(settings, count=20)
    assert report["off_us_per_message"] == 0 and not report["on_in_these_settings"]
    assert report["rsa_2048_signing_us_per_message"] > 0
    assert report["ed25519_signing_us_per_message"] > 0
    assert report["rsa_and_ed25519_signing_us_per_message"] > 0
