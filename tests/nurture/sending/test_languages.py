"""Content in the contact's language: a translation sits beside each template as a
subfolder named by a language tag; a send picks the contact's language before the variant,
falls back from a region to its language and then to the default text, and the contact's
language comes from the browser at sign-up, an import or the API, checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nurture.config import PROJECT_ROOT
from nurture.contacts.errors import ContactError
from nurture.contacts.services import upsert_contacts
from nurture.sending.render import TemplateError, TemplateStore
from tests.factories import (
    CONTEXT,
    IP,
    VALID,
    confirm_from_email,
    publish_trial_journey,
    write_template,
)
from tests.helpers import (
    contact,
    event,
    invoke_cli,
    language_of,
    outbox,
    publish_text,
    run_due,
    sends,
    signed_in,
)
from web import create_app

AUTH = {"Authorization": "Bearer test-api-key"}


def _translate(root: Path, folder: str, tag: str, subject: str, lang: str | None = None
               ) -> TemplateStore:
    path = root / "email" / folder / tag
    path.mkdir(parents=True)
    (path / "subject.txt").write_text(subject, encoding="utf-8")
    declared = f' lang="{lang or tag}"' if lang != "" else ""
    (path / "body.mjml").write_text(
        f"<mjml{declared}>\n  <mj-body>\n    <mj-section>\n      <mj-column>\n"
        "        <mj-text>{{ footer.postal_address }} {{ links.unsubscribe }}</mj-text>\n"
        "      </mj-column>\n    </mj-section>\n  </mj-body>\n</mjml>\n", encoding="utf-8")
    return TemplateStore(root)


def test_the_shipped_welcome_is_in_french_and_german_and_a_region_falls_back():
    store = TemplateStore(PROJECT_ROOT / "templates")

    def folder(language: str) -> str:
        return store.resolve("trial-welcome", language=language).folder

    assert folder("fr-CH") == folder("FR") == "trial-welcome/fr"
    assert folder("de_AT") == "trial-welcome/de"
    assert folder("pt-BR") == folder("en") == folder("") == folder("../fr") == "trial-welcome"
    french = store.resolve("trial-welcome", language="fr")
    # log-in instructions, as its folder
    assert french.language == "fr" and french.message_class == "transactional"
    to_ann = CONTEXT | {"recipient": CONTEXT["contact"]}  # the welcome greets its reader
    assert french.subject.render(to_ann) == "Ann, votre essai Nurture est prêt"
    assert "Bonjour Ann," in french.text.render(to_ann)
    assert store.translations("trial-welcome") == ["de", "fr"]


def test_the_language_comes_before_the_variant_and_the_region_before_the_language(tmp_path):
    write_template(tmp_path, "case", "<mj-text>{{ footer.postal_address }}</mj-text>", "Case")
    write_template(tmp_path, "case@retail", "<mj-text>{{ footer.postal_address }}</mj-text>",
                   "Retail case")
    store = _translate(tmp_path, "case", "fr", "Étude de cas")

    def subject(**kw) -> str:
        return store.resolve("case", **kw).subject.render(CONTEXT)

    # A French reader gets French before retail-specific English.
    assert subject(vertical="retail", language="fr-FR") == "Étude de cas"
    assert subject(vertical="retail", language="de") == "Retail case"
    _translate(tmp_path, "case@retail", "fr", "Étude de cas, commerce")
    _translate(tmp_path, "case", "pt", "Estudo de caso")
    store = _translate(tmp_path, "case", "pt-br", "Estudo de caso (Brasil)")
    assert subject(vertical="retail", language="fr") == "Étude de cas, commerce"
    assert subject(language="pt-BR") == "Estudo de caso (Brasil)"
    assert subject(language="pt-PT") == "Estudo de caso"


def test_a_translation_is_checked_like_a_template_and_its_errors_name_its_folder(tmp_path):
    write_template(tmp_path, "hello", "<mj-text>{{ footer.postal_address }} "
                                 "{{ links.unsubscribe }}</mj-text>")
    store = _translate(tmp_path, "hello", "fr", "Bonjour {{ contact.first_name ", lang="")
    with pytest.raises(TemplateError) as raised:
        store.resolve("hello", language="fr")
    assert (raised.value.template, raised.value.file, raised.value.line) == (
        "hello/fr", "subject.txt", 1)
    (tmp_path / "email" / "hello" / "fr" / "subject.txt").write_text("Bonjour", "utf-8")
    [problem] = store.check("hello/fr")
    assert "a translation declares its language" in str(problem)
    assert problem.file == "body.mjml"

    result = invoke_cli(["templates", "--dir", str(tmp_path), "check"], tmp_path)
    assert result.exit_code == 1
    assert re.search(r"hello/fr/body\.mjml:1: A translation declares its language: start "
                     r'it with <mjml lang="fr">', result.output), result.output
    assert "1 of 2 templates are fine" in result.output


def test_a_french_browser_signs_up_and_gets_the_welcome_in_french(rt):
    publish_trial_journey(rt)
    client = create_app(rt).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/l/trial").text)
    response = client.post("/l/trial", data={**VALID, "csrf_token": token.group(1)},
                           environ_base=IP,
                           headers={"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.8"})
    assert response.status_code == 303
    assert language_of(rt, "ann@example.com") == "fr-CH"

    run_due(rt)
    messages = outbox(rt)
    assert len(messages) == 2  # Ann and her technical contact, in the trial's language
    for message in messages:
        name = "Ann" if message["To"] == "Ann@Example.com" else "Tom"  # each their own name
        assert message["Subject"] == f"{name}, votre essai Nurture est prêt"
        assert message["Content-Language"] == "fr"
        assert '<html lang="fr"' in message.get_body(("html",)).get_content()
        assert f"Bonjour {name}," in message.get_body(("plain",)).get_content()


def test_a_language_already_known_is_kept_when_the_browser_says_another(rt):
    publish_trial_journey(rt)
    contact(rt, "ann@example.com", language="de")
    client = create_app(rt).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/l/trial").text)
    client.post("/l/trial", data={**VALID, "csrf_token": token.group(1)}, environ_base=IP,
                headers={"Accept-Language": "fr"})
    assert language_of(rt, "ann@example.com") == "de"
    # Ann is known: the link to confirm comes first, in her language, then the welcome.
    run_due(rt)
    assert {m["Subject"] for m in outbox(rt)} == {
        "Bitte bestätigen Sie Ihre Anmeldung bei Nurture"}
    confirm_from_email(rt, client)
    assert language_of(rt, "ann@example.com") == "de"
    run_due(rt)
    assert {m["Subject"] for m in outbox(rt)} == {
        "Bitte bestätigen Sie Ihre Anmeldung bei Nurture", "Ihre Testphase bei Nurture ist bereit"}


def test_a_language_from_an_import_or_the_api_is_checked_and_kept_in_standard_form(rt):
    with rt.db.transaction() as session, pytest.raises(ContactError) as raised:
        upsert_contacts(session, [{"email": "bad@example.com", "language": "Klingon!"}])
    assert str(raised.value) == ("The language 'Klingon!' is not a language tag; use one "
                                 "such as 'fr', 'de' or 'pt-BR'.")
    contact(rt, "ann@example.com", language="de")
    client = create_app(rt).test_client()

    def update(language):
        return client.post("/api/events", headers=AUTH, json={
            "email": "ann@example.com", "type": "contact.updated",
            "properties": {"language": language}})

    refused = update("english")
    assert refused.status_code == 422
    assert "not a language tag" in refused.get_json()["detail"]
    assert language_of(rt, "ann@example.com") == "de"  # unchanged
    assert update("pt_br").status_code == 201
    run_due(rt)
    assert language_of(rt, "ann@example.com") == "pt-BR"
    assert update("").status_code == 201  # cleared: the default text
    run_due(rt)
    assert language_of(rt, "ann@example.com") == ""


def test_the_console_lists_the_languages_and_previews_each(rt):
    contact(rt, "anne@example.fr", first_name="Anne", language="fr")
    contact(rt, "luc@example.ch", language="fr-CH")
    contact(rt, "keiko@example.jp", language="ja")
    client = signed_in(rt, "marketer")
    listing = client.get("/templates")
    coverage = re.search(r'<table id="coverage">.*?</table>', listing.text, re.S).group(0)
    rows = re.findall(r'<td lang="(\w+)">\w+</td><td class="num">(\d+)</td>\s*<td>([^<]*)',
                      coverage)
    total = len(re.findall(r'<tr><td><a href="/templates/', listing.text))
    french = len(re.findall(r'lang="fr">fr</a>', listing.text))  # rows with a French link
    assert french >= 2
    assert [(lang, n, text.split(";")[0]) for lang, n, text in rows] == [
        ("fr", "2", f"{french} of {total}"),
        ("ja", "1", "none: these contacts get every email in the default text")]
    row = re.search(r'<tr><td><a href="/templates/trial-welcome">.*?</tr>', listing.text,
                    re.S).group(0)
    assert re.findall(r'lang="(\w+)">', row) == ["de", "fr"]

    def subject(query: str) -> str:
        page = client.get(f"/templates/trial-welcome?{query}")
        assert page.status_code == 200, page.text
        return re.search(r'<dd id="subject">(.*?)</dd>', page.text).group(1)

    assert subject("email=anne@example.fr") == "Anne, votre essai Nurture est prêt"
    assert subject("email=anne@example.fr&language=default").startswith("Your Nurture trial")
    assert subject("language=de") == "Ihre Testphase bei Nurture ist bereit"
    assert "emails in fr" in client.get("/contacts?email=anne@example.fr").text
    bad = client.get("/templates/trial-welcome?language=zz-!")
    assert bad.status_code == 422
    assert "The language &#39;zz-!&#39; is not a language tag" in bad.text


def test_a_journey_branches_on_the_language_without_its_region(rt):
    publish_text(rt, """
        id: by-language
        name: By language
        entry: {event: trial.started}
        steps:
          - id: route
            branch:
              - {when: "language == 'fr'", goto: french}
            default: others
          - {id: french, send: trial-welcome, class: transactional, next: done}
          - {id: others, send: consent-confirm, class: transactional}
          - {id: done, exit: done}
    """)
    swiss = contact(rt, "anne@example.ch", language="fr-CH")
    german = contact(rt, "jonas@example.de", language="de")
    unknown = contact(rt, "sam@example.com")
    for who in (swiss, german, unknown):
        event(rt, who, "trial.started")
    assert [s.step_id for s in sends(rt, swiss)] == ["french"]
    assert [s.step_id for s in sends(rt, german)] == ["others"]
    assert [s.step_id for s in sends(rt, unknown)] == ["others"]
