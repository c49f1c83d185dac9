"""Email templates in the console: a marketer lists the templates with their variants and
problems, and sees one email as a given contact would get it, with the email's HTML served
in a sandbox; bad input is answered with a sentence."""

from __future__ import annotations

import email
import re
import shutil
from email import policy

from nurture.config import PROJECT_ROOT
from nurture.contacts.services import upsert_contacts
from tests.helpers import csrf, running, signed_in


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_list_shows_every_template_with_its_variants_and_no_problems(rt):
    client = signed_in(rt, "marketer")
    page = client.get("/templates")
    assert page.status_code == 200
    text = _text(page.text)
    for name in ("trial-welcome", "renewal-quote", "nps-survey", "referral-ask"):
        assert f'href="/templates/{name}"' in page.text
    row = re.search(r'<tr><td><a href="/templates/prospect-case-study">.*?</tr>', page.text,
                    re.S).group(0)
    assert [v for v in ("healthcare", "retail", "try") if f">{v}</a>" in row] == [
        "healthcare", "retail", "try"]
    assert "How a 40-person firm moved its everyday tools" in text
    assert 'class="error"' not in page.text, "the shipped templates have no problems"


def test_a_preview_renders_for_a_real_contact_and_picks_their_vertical(rt):
    with rt.db.transaction() as session:
        upsert_contacts(session, [{"email": "ann@example.com", "industry": "retail",
                                   "first_name": "<script>alert(1)</script>"}])
    client = signed_in(rt, "marketer")
    page = client.get("/templates/prospect-case-study?email=ANN@example.com")
    assert page.status_code == 200
    assert "templates/email/prospect-case-study@retail" in page.text
    assert "<script>alert" not in page.text
    frame = re.search(r'<iframe title="prospect-case-study on a phone" sandbox src="([^"]+)"',
                      page.text).group(1).replace("&amp;", "&")
    body = client.get(frame)
    assert body.status_code == 200
    assert "fourteen garden and home stores" in body.text
    assert "Hi &lt;script&gt;alert(1)&lt;/script&gt;," in body.text
    policy_ = body.headers["Content-Security-Policy"]
    assert policy_.startswith("sandbox;") and "script-src" not in policy_
    assert "default-src 'none'" in policy_


def test_a_preview_for_the_sample_contact_shows_subject_kind_and_plain_text(rt):
    client = signed_in(rt, "marketer")
    page = client.get("/templates/trial-welcome")
    assert page.status_code == 200
    subject = re.search(r'<dd id="subject">(.*?)</dd>', page.text).group(1)
    assert subject.endswith("trial is ready, Ann")
    assert '<dd id="message-class">transactional: always sent' in page.text
    assert "Plain-text part" in page.text and "Hi Ann," in page.text
    service = client.get("/templates/renewal-quote?variant=&vertical=&stage=")
    assert service.status_code == 200
    assert '<dd id="message-class">service: sent to customers and trialists' in service.text
    marketing = client.get("/templates/prospect-case-study?variant=&vertical=&stage=")
    assert '<dd id="message-class">marketing: needs consent' in marketing.text


def test_bad_input_is_a_sentence_and_a_4xx(rt):
    client = signed_in(rt, "marketer")
    unknown = client.get("/templates/no-such-email")
    assert unknown.status_code == 404
    assert "There is no email template named no-such-email." in unknown.text
    bad = client.get("/templates/trial-welcome?email=not-an-address")
    assert bad.status_code == 422 and "Enter a whole email address" in bad.text
    nobody = client.get("/templates/trial-welcome?email=nobody@example.com")
    assert nobody.status_code == 404
    assert "There is no contact with the address nobody@example.com." in nobody.text
    other = client.get("/templates/trial-welcome?variant=prospect-case-study@retail")
    assert other.status_code == 422
    assert "prospect-case-study@retail is not a variant of trial-welcome." in other.text
    long = client.get("/templates/trial-welcome/body.html?stage=" + "x" * 200)
    assert long.status_code == 422 and "at most 120 characters" in long.text


def test_only_marketers_and_admins_see_templates(rt):
    assert signed_in(rt, "sales").get("/templates").status_code == 403
    assert signed_in(rt, "admin").get("/templates/trial-welcome").status_code == 200
    from web import create_app

    anonymous = create_app(rt).test_client().get("/templates/trial-welcome/body.html")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_a_broken_template_is_listed_with_its_file_and_line_and_its_preview_says_so(
        rt, settings, clock, tmp_path):
    root = tmp_path / "templates"
    shutil.copytree(PROJECT_ROOT / "templates" / "email", root / "email")
    broken = root / "email" / "trial-welcome" / "subject.txt"
    broken.write_text("Welcome {{ contact.first_name \n", encoding="utf-8")
    with running(settings.with_(templates_dir=root), clock) as rt2:
        client = signed_in(rt2, "marketer")
        listed = client.get("/templates")
        assert listed.status_code == 200
        assert "Template trial-welcome, subject.txt line 1:" in listed.text
        page = client.get("/templates/trial-welcome")
        assert page.status_code == 422
        assert "Template trial-welcome, subject.txt line 1:" in page.text
        assert client.get("/templates/renewal-quote").status_code == 200


def test_the_cli_preview_writes_the_same_message(rt, tmp_path):
    """`nurture templates render` and the console share one path: the CLI's message parses
    and carries the subject the console shows."""
    from click.testing import CliRunner

    from nurture.app.cli.templates import templates

    contact = tmp_path / "ann.json"
    contact.write_text('{"email": "ann@example.com", "first_name": "Ann"}', encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(templates, ["--dir", str(PROJECT_ROOT / "templates"), "render",
                                            "trial-welcome", "--contact-json", str(contact),
                                            "--out", str(out)])
    assert result.exit_code == 0, result.output
    message = email.message_from_bytes((out / "message.eml").read_bytes(),
                                       policy=policy.default)
    page = signed_in(rt, "marketer").get("/templates/trial-welcome")
    shown = re.search(r'<dd id="subject">(.*?)</dd>', page.text).group(1)
    assert message["Subject"] == shown.replace("&#39;", "'")


def test_a_marketer_sends_a_test_to_themselves_and_nothing_is_recorded(rt):
    from sqlalchemy import func, select

    from nurture.sending.models import Send

    with rt.db.transaction() as session:
        upsert_contacts(session, [{"email": "ann@example.com", "industry": "retail",
                                   "first_name": "Annie"}])
    client = signed_in(rt, "marketer")
    page = client.get("/templates/prospect-case-study?email=ann@example.com")
    sent = client.post("/templates/prospect-case-study/test", data={
        "csrf_token": csrf(page.text), "email": "ann@example.com"})
    assert sent.status_code == 303
    after = client.get(sent.headers["Location"])
    assert "Sent a test of prospect-case-study@retail to marketer@example.com." in after.text
    [eml] = list(rt.settings.outbox_dir.glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == "marketer@example.com"
    assert message["Subject"] == ("[Test] How a 14-store retailer got through peak season "
                                  "without the IT scramble")
    html = message.get_body(("html",)).get_content()
    assert "Hi Annie," in html and "fourteen garden and home stores" in html
    with rt.db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Send)) == 0


def test_a_test_send_needs_the_form_token_and_a_marketer(rt):
    client = signed_in(rt, "marketer")
    assert client.post("/templates/trial-welcome/test").status_code == 400
    sales = signed_in(rt, "sales")
    token = csrf(sales.get("/sales").text)
    assert sales.post("/templates/trial-welcome/test",
                      data={"csrf_token": token}).status_code == 403
    assert list(rt.settings.outbox_dir.glob("*.eml")) == []


def test_a_test_send_the_mail_server_refuses_is_a_sentence(rt, settings, clock):
    from nurture.sending.sink import Faults, SinkThread, SMTPSink, Store

    sink = SinkThread(SMTPSink(port=0, store=Store(), faults=Faults.parse(
        ["^marketer@=550 5.7.1 Relaying denied"])))
    try:
        with running(settings.with_(smtp_url=f"smtp://127.0.0.1:{sink.port}"), clock) as rt2:
            client = signed_in(rt2, "marketer")
            page = client.get("/templates/trial-welcome")
            refused = client.post("/templates/trial-welcome/test",
                                  data={"csrf_token": csrf(page.text)})
        assert refused.status_code == 502
        assert "The test could not be sent to marketer@example.com:" in refused.text
        assert "Relaying denied" in refused.text
        assert 'id="subject"' in refused.text, "the preview is still shown"
    finally:
        sink.stop()


def test_test_sends_are_limited_per_user_with_a_sentence(rt):
    client = signed_in(rt, "marketer")
    client.application.config["TEST_SEND_RATE_LIMIT"] = "2 per hour"
    token = csrf(client.get("/templates/trial-welcome").text)
    codes = [client.post("/templates/trial-welcome/test", data={"csrf_token": token})
             for _ in range(3)]
    assert [c.status_code for c in codes] == [303, 303, 429]
    assert "You have sent as many tests as you may in an hour (2 per hour)." in codes[2].text
    assert 'id="subject"' in codes[2].text
    assert len(list(rt.settings.outbox_dir.glob("*.eml"))) == 2
