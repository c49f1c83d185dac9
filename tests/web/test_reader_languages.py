"""The pages a reader reaches from an email (unsubscribe, preferences, confirmation, a bad
link) speak the reader's language: the contact's own, else the browser's, else English;
every string they show has a translation in every catalog."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import select

from journeys.definition import TOPICS
from nurture.config import PROJECT_ROOT
from nurture.contacts.models import Contact
from nurture.sending import compose
from tests.helpers import contact, get_contact, language_of
from web import create_app
from web.email_links import FREQUENCIES
from web.i18n import SOURCE, languages
from web.nps import REASON_TOO_LONG


def _shown_strings() -> set[str]:
    """What the reader pages can show: the templates' marked strings, and the sentences
    and labels the views hand them."""
    found = {message for folder in ("email", "nps")
             for _file, _line, message, _comments, _context in extract_from_dir(
                 PROJECT_ROOT / "templates" / "web" / folder, [("**.html", "jinja2")])}
    code = "".join((PROJECT_ROOT / p).read_text() for p in ("web/email_links.py",
                                                              "web/nps.py", "nurture/tokens.py"))
    sentences = set(re.findall(r'"((?:This link|Please choose)[^"]*\.)"', code))
    return (found | sentences | set(TOPICS.values()) | set(FREQUENCIES.values())
            | {REASON_TOO_LONG})


@pytest.mark.parametrize("language", [tag for tag in languages() if tag != "en"])
def test_every_string_a_reader_sees_is_translated(language):
    with (SOURCE / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    shown = _shown_strings()
    assert len(shown) > 30
    assert not shown - translated, f"{language} lacks: {sorted(shown - translated)}"
    for message in catalog:  # a placeholder lost in translation would crash the page
        if message.id and message.string:
            assert re.findall(r"%\(\w+\)s", message.id) == re.findall(r"%\(\w+\)s",
                                                                      message.string)


def _links(rt, email: str) -> compose.Links:
    with rt.db.sessions() as session:
        row = session.scalar(select(Contact).where(Contact.email_key == email))
    return compose.Links(rt.tokens, "", row.id, row.email_key, 1)


def test_a_french_reader_unsubscribes_in_french_whatever_the_browser(rt):
    ann = contact(rt, "ann@example.com", consent_marketing=True, language="fr-CH")
    url = _links(rt, "ann@example.com").unsubscribe
    client = create_app(rt).test_client()
    page = client.get(url, headers={"Accept-Language": "de"})
    assert page.status_code == 200
    assert '<html lang="fr">' in page.text
    assert "Désabonner ann@example.com ?" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = client.post(url, data={"csrf_token": token})
    assert "Vous êtes désabonné" in done.text
    assert get_contact(rt, ann).consent_marketing is False


def test_a_reader_of_unknown_language_gets_the_browsers_and_mistakes_in_it(rt):
    contact(rt, "jonas@example.com", consent_marketing=True)
    url = _links(rt, "jonas@example.com").preferences
    client = create_app(rt).test_client()
    german = {"Accept-Language": "de-AT, de;q=0.9, en;q=0.5"}
    page = client.get(url, headers=german)
    assert '<html lang="de">' in page.text
    assert "E-Mail-Einstellungen für jonas@example.com" in page.text
    assert "Produktneuigkeiten und Tipps" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    refused = client.post(url, headers=german,
                          data={"csrf_token": token, "marketing": "yes", "frequency": "daily"})
    assert refused.status_code == 400
    assert "Bitte wählen Sie mindestens ein Thema oder gar keine Marketing-E-Mails." in (
        refused.text)
    english = client.get(url, headers={"Accept-Language": "ja"})
    assert '<html lang="en">' in english.text and "Email preferences for" in english.text


def test_a_bad_link_is_explained_in_the_browsers_language(rt):
    client = create_app(rt).test_client()
    page = client.get("/u/not-a-token", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert page.status_code == 400
    assert '<html lang="fr">' in page.text
    assert "Ce lien n\N{RIGHT SINGLE QUOTATION MARK}est pas valide." in page.text


def test_other_pages_stay_in_english(rt):
    client = create_app(rt).test_client()
    page = client.get("/l/trial", headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    assert '<html lang="en">' in page.text


def test_catalogs_compile_into_the_var_folder_once(rt, tmp_path):
    create_app(rt)
    compiled = Path(rt.settings.var_dir) / "translations" / "fr" / "LC_MESSAGES" / "messages.mo"
    assert compiled.is_file()
    before = compiled.stat().st_mtime_ns
    create_app(rt)
    assert compiled.stat().st_mtime_ns == before


def test_a_survey_answer_page_is_in_the_readers_language(rt):
    anne = contact(rt, "anne@example.fr", language="fr")
    token = rt.tokens.sign("nps", [anne, 77, 3])
    client = create_app(rt).test_client()
    page = client.get(f"/nps/{token}", headers={"User-Agent": "Mozilla/5.0 (Macintosh)"})
    assert page.status_code == 200
    assert "Nous avons enregistré 3 sur 10." in page.text
    form = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    refused = client.post(f"/nps/{token}", data={"csrf_token": form, "score": "11"})
    assert refused.status_code == 400
    assert "Merci de choisir une note de 0 à 10." in refused.text
    thanks = client.post(f"/nps/{token}", data={"csrf_token": form, "score": "2",
                                                "reason": "Trop lent <b>"})
    assert "Votre note : 2 sur 10." in thanks.text
    assert "Trop lent &lt;b&gt;" in thanks.text
    assert "Nous sommes désolés de vous avoir déçu." in thanks.text


def test_a_reader_chooses_the_language_of_their_emails_in_the_preference_center(rt):
    contact(rt, "anne@example.ch", consent_marketing=True, language="fr-CH")
    url = _links(rt, "anne@example.ch").preferences
    client = create_app(rt).test_client()
    page = client.get(url)
    options = re.findall(r'<option value="([\w-]*)" lang="[\w-]+"( selected)?>([^<]+)</option>',
                         page.text)
    assert [(key, name) for key, _chosen, name in options] == [
        ("", "English"), ("de", "Deutsch"), ("fr", "Français")]
    assert [key for key, chosen, _name in options if chosen] == ["fr"]
    form = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1),
            "marketing": "yes", "topics": list(TOPICS), "frequency": "normal"}

    client.post(url, data={**form, "language": "fr"})
    assert language_of(rt, "anne@example.ch") == "fr-CH", "French kept as it was, region too"
    saved = client.post(url, data={**form, "language": "de"})
    assert saved.status_code == 200
    assert '<html lang="de">' in saved.text and "Ihre Einstellungen sind gespeichert." in (
        saved.text)
    assert language_of(rt, "anne@example.ch") == "de"
    refused = client.post(url, data={**form, "language": "klingon"})
    assert refused.status_code == 400
    assert "Bitte wählen Sie eine Sprache aus der Liste." in refused.text
    assert language_of(rt, "anne@example.ch") == "de"
    client.post(url, data={**form, "language": ""})
    assert language_of(rt, "anne@example.ch") == ""
