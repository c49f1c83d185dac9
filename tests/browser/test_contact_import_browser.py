"""A marketer imports a trade-show file in a real browser: uploads it, maps a column the
suggestions did not know, follows the job to its report, reads why each bad row was left
out; and axe-core's verdict on the upload, mapping and report pages."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from nurture.users import services
from tests.helpers import Site, axe_report, axe_violations

PASSWORD = "correct horse battery"
FILE = ("E-Mail;Vorname;Firma;Schuhgröße;Stage\n"
        "ann@example.com;Ann;Müller GmbH;38;learn\n"
        "not-an-address;Bob;€uro AG;44;learn\n"
        "cid@example.com;Cid;Acme;40;asleep\n"
        "dee@example.com;Dee;Acme;39;try\n")


def _sign_in(page: Page, site: Site) -> None:
    with site.rt.db.transaction() as session:
        services.create_user(session, "mia@nurture.example", "Mia Marketer", "marketer",
                             PASSWORD, now=site.rt.clock.now())
    page.goto(f"{site.url}/contacts/import")
    page.get_by_label("Email address").fill("mia@nurture.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _import(page: Page, site: Site, tmp_path: Path, results: dict | None = None) -> None:
    path = tmp_path / "berlin-fair.csv"
    path.write_bytes(FILE.encode("cp1252"))
    _sign_in(page, site)
    expect(page.get_by_role("heading", name="Import contacts")).to_be_visible()
    if results is not None:
        results["upload page"] = axe_violations(page)
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and map the columns").click()
    expect(page.get_by_role("heading", name="Map the columns of berlin-fair.csv")).to_be_visible()
    expect(page.get_by_text("Read as cp1252, columns separated by semicolons")).to_be_visible()
    if results is not None:
        results["mapping page"] = axe_violations(page)
    page.get_by_label("Schuhgröße").select_option("attribute")
    page.get_by_label("How they consented").fill("Signed up at the Berlin fair")
    page.get_by_label("When they consented").fill("2026-02-20")
    page.get_by_label("Add them to the list").fill("Berlin fair")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("The import is done.")).to_be_visible()


def test_an_import_with_a_mapping_and_bad_rows_shows_its_error_report(site: Site, page: Page,
                                                                     tmp_path: Path):
    _import(page, site, tmp_path)
    expect(page.get_by_role("row", name="Created 2")).to_be_visible()
    expect(page.get_by_role("row", name="Rejected 2")).to_be_visible()
    expect(page.get_by_role("cell", name="Line 3: the email address 'not-an-address' is not "
                                          "valid.")).to_be_visible()
    expect(page.get_by_role("cell", name="Line 4, column 'Stage': the stage 'asleep' is "
                                          "unknown", exact=False)).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the 2 rejected rows as CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0] == "line,reason,E-Mail,Vorname,Firma,Schuhgröße,Stage"
    assert "not-an-address,Bob,€uro AG,44,learn" in text


def test_the_import_pages_pass_axe_core(site: Site, axe_page: Page, tmp_path: Path):
    results: dict[str, list] = {}
    _import(axe_page, site, tmp_path, results)
    results["report"] = axe_violations(axe_page)
    assert not any(results.values()), "axe-core violations:\n" + axe_report(results)
