"""Importing contacts from CSV: what a marketer's file becomes, row by row, whatever the
spreadsheet that wrote it; duplicates, consent, events and journeys; a crash halfway."""

from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from nurture.app.cli import main
from nurture.consent.models import ConsentRecord
from nurture.contacts.imports import queries, service
from nurture.contacts.imports.mapping import suggest
from nurture.contacts.imports.models import ImportJob
from nurture.contacts.imports.options import Options
from nurture.contacts.imports.seen import MERGE_EVERY, Seen
from nurture.contacts.lists import summaries
from nurture.contacts.models import Contact
from scoring.models import ContactScore
from tests.helpers import (
    contact,
    count,
    enrollments,
    event,
    events,
    publish_text,
    rows,
    run_due,
    sends,
)

GOOD_AND_BAD = (
    "E-Mail,Vorname,Last Name,Firma,Stage,Shoe size,Notes\n"
    "ann@example.com,Ann,Lee,Acme,learn,38,first\n"
    "not-an-address,Bob,Bad,Acme,learn,44,\n"
    "cid@example.com,Cid,Stage,Acme,sleeping,40,\n"
    "dee@example.com,Dee,Null,Ac\x00me,learn,39,\n"
    f"eve@example.com,{'E' * 121},Long,Acme,learn,37,\n"
    "fay@example.com,Fay,Fine,Acme,TRY,36,\n"
)


def _import(rt, path, *args: str):
    return CliRunner().invoke(main, ["contacts", "import", str(path), *args], obj=rt)


def _file(tmp_path, text: str, encoding: str = "utf-8", name: str = "people.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _contacts(rt) -> dict[str, Contact]:
    with rt.db.sessions() as session:
        return {c.email_key: c for c in session.scalars(select(Contact))}


def test_a_mapped_file_brings_in_the_good_rows_and_reports_each_bad_one_by_line(rt, tmp_path):
    path = _file(tmp_path, GOOD_AND_BAD)
    out = tmp_path / "rejects.csv"
    result = _import(rt, path, "--map", "Shoe size=attribute:shoe", "--list", "Fair 2026",
                     "--rejects-out", str(out))
    assert result.exit_code == 0, result.output
    assert "6 rows read: 2 created, 0 updated, 0 skipped (already there), 0 repeated in " \
           "the file, 4 rejected" in result.output
    found = _contacts(rt)
    assert set(found) == {"ann@example.com", "fay@example.com"}
    ann = found["ann@example.com"]
    assert (ann.first_name, ann.last_name, ann.company, ann.stage) == ("Ann", "Lee", "Acme",
                                                                      "learn")
    assert ann.attributes == {"shoe": "38"}  # Notes was not chosen: left out
    assert found["fay@example.com"].stage == "try"
    with rt.db.sessions() as session:
        assert [(s.name, s.members) for s in summaries(session)] == [("Fair 2026", 2)]
    with out.open(newline="", encoding="utf-8") as handle:
        written = list(csv.reader(handle))
    assert written[0] == ["line", "reason", "E-Mail", "Vorname", "Last Name", "Firma",
                          "Stage", "Shoe size", "Notes"]
    assert [(r[0], r[1]) for r in written[1:]] == [
        ("3", "Line 3: the email address 'not-an-address' is not valid."),
        ("4", "Line 4, column 'Stage': the stage 'sleeping' is unknown; stages are learn, "
              "try, buy, onboard, adopt, renew, expand, churned, deprovisioned."),
        ("5", "Line 5, column 'Firma': the text contains a NUL character (at position 3), "
              "which cannot be stored; remove it and try again."),
        ("6", "Line 6, column 'Vorname': the first name is 121 characters long; at most "
              "120 fit."),
    ]
    assert written[3][2:] == ["dee@example.com", "Dee", "Null", "Ac\ufffdme", "learn", "39", ""]


def test_a_file_where_nothing_can_be_imported_ends_with_status_one(rt, tmp_path):
    path = _file(tmp_path, "email,first_name\nnobody,Ann\nstill nobody,Bob\n")
    result = _import(rt, path)
    assert result.exit_code == 1
    assert "Nothing could be imported." in result.output
    assert count(rt, Contact) == 0


def test_a_file_without_an_email_column_is_refused_with_a_sentence(rt, tmp_path):
    path = _file(tmp_path, "name,company\nAnn,Acme\n")
    result = _import(rt, path)
    assert result.exit_code == 1
    assert "No column is mapped to the email address; every contact needs one." in \
        result.output


@pytest.mark.parametrize(("encoding", "prefix"), [
    ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b""), ("latin-1", b"")])
def test_names_and_symbols_survive_every_usual_encoding(rt, tmp_path, encoding, prefix):
    symbol = "€" if encoding != "latin-1" else "£"
    text = f"Email;Nachname;Firma\nann@example.com;Müller;{symbol} Bank\n" \
           'bob@example.com;"Groß\nHaus";Søren ApS\n'
    path = tmp_path / "people.csv"
    path.write_bytes(prefix + text.encode(encoding))
    result = _import(rt, path)
    assert result.exit_code == 0, result.output
    found = _contacts(rt)
    assert (found["ann@example.com"].last_name, found["ann@example.com"].company) == (
        "Müller", f"{symbol} Bank")
    assert found["bob@example.com"].last_name == "Groß\nHaus"  # a quoted newline
    assert found["bob@example.com"].company == "Søren ApS"


def test_suggestions_know_the_usual_column_names():
    header = ["E-mail", "Email Address", "First Name", "Nachname", "Firma", "Job Title",
              "Employees", "Time zone", "Lifecycle Stage", "Favourite colour"]
    assert suggest(header) == {
        "E-mail": "email", "Email Address": "", "First Name": "first_name",
        "Nachname": "last_name", "Firma": "company", "Job Title": "role",
        "Employees": "company_size", "Time zone": "timezone", "Lifecycle Stage": "stage",
        "Favourite colour": ""}


def test_an_address_twice_in_the_file_keeps_the_first_and_reports_the_second(rt, tmp_path):
    path = _file(tmp_path, "email,first_name\nAnn@Example.com,Ann\nann@example.com,Annie\n")
    result = _import(rt, path)
    assert result.exit_code == 0, result.output
    assert _contacts(rt)["ann@example.com"].first_name == "Ann"
    with rt.db.sessions():
        view = queries.job(rt, 1)
    assert (view.created, view.duplicates, view.rejected) == (1, 1, 0)
    assert [r.reason for r in view.rejects] == [
        "Line 3: the address 'ann@example.com' is already on an earlier line of the file; "
        "the first one is kept."]


@pytest.mark.parametrize(("flag", "first", "company", "role"), [
    ("--update", "Annie", "New Co", "CTO"),
    ("--fill", "Ann", "New Co", "CTO"),
    ("--skip-existing", "Ann", "", "")])
def test_existing_contacts_follow_the_chosen_policy(rt, tmp_path, flag, first, company, role):
    contact(rt, "ann@example.com", first_name="Ann")
    path = _file(tmp_path, "email,first_name,company,role\nANN@example.com,Annie,New Co,CTO\n"
                           "bob@example.com,Bob,,\n")
    result = _import(rt, path, flag)
    assert result.exit_code == 0, result.output
    found = _contacts(rt)
    ann = found["ann@example.com"]
    assert (ann.first_name, ann.company, ann.role) == (first, company, role)
    assert "bob@example.com" in found
    assert count(rt, Contact) == 2


def test_a_consent_basis_is_kept_as_proof_and_without_one_no_marketing_is_sent(rt, tmp_path):
    publish_text(rt, """
        id: mixed
        name: Mixed
        entry: {event: custom.joined}
        steps:
          - {id: offer, send: prospect-case-study, class: marketing}
          - {id: note, send: onboarding-welcome}
    """)
    consented = _file(tmp_path, "email,stage\nfair@example.com,onboard\n", name="fair.csv")
    plain = _file(tmp_path, "email,stage\ncold@example.com,onboard\n", name="cold.csv")
    assert _import(rt, consented, "--consent-basis", "Signed up at the Berlin fair",
                   "--consented-at", "2026-02-20").exit_code == 0
    assert _import(rt, plain).exit_code == 0
    found = _contacts(rt)
    fair, cold = found["fair@example.com"], found["cold@example.com"]
    assert (fair.consent_marketing, cold.consent_marketing) == (True, False)
    proof = rows(rt, ConsentRecord)
    assert [(p.contact_id, p.action, p.page, p.at.date().isoformat()) for p in proof] == [
        (fair.id, "confirmed", "Signed up at the Berlin fair", "2026-02-20")]
    for cid in (fair.id, cold.id):
        event(rt, cid, "custom.joined")
    run_due(rt)
    assert [(s.step_id, s.status, s.reason) for s in sends(rt, fair.id)] == [
        ("offer", "sent", None), ("note", "sent", None)]
    assert [(s.step_id, s.status, s.reason) for s in sends(rt, cold.id)] == [
        ("offer", "skipped", "no_consent"), ("note", "sent", None)]


def test_a_consent_basis_needs_its_date(rt, tmp_path):
    path = _file(tmp_path, "email\nann@example.com\n")
    result = _import(rt, path, "--consent-basis", "Berlin fair")
    assert result.exit_code == 1
    assert "Give the date the contacts consented, as well as how" in result.output
    assert count(rt, Contact) == 0


WELCOME = """
    id: welcome
    name: Welcome
    entry: {event: contact.created}
    steps:
      - {id: hello, send: trial-welcome, class: transactional}
"""


def test_new_contacts_are_recorded_created_and_scored_for_fit(rt, tmp_path):
    contact(rt, "old@example.com")
    path = _file(tmp_path, "email,industry,company_size,role,country\n"
                           "ann@example.com,retail,200,CTO,DE\nold@example.com,retail,,,\n")
    assert _import(rt, path).exit_code == 0
    ann = _contacts(rt)["ann@example.com"]
    created = events(rt, "contact.created")
    assert [(e.contact_id, e.source, e.properties["import"]) for e in created] == [
        (ann.id, "import", 1)]
    with rt.db.sessions() as session:
        score = session.get(ContactScore, ann.id)
    assert score.fit == 40 and score.grade == "A"  # vertical 15, size 10, role 10, country 5
    assert ann.score == 40


def test_journeys_of_new_contacts_start_for_an_import_only_when_chosen(rt, tmp_path):
    publish_text(rt, WELCOME)
    first = _file(tmp_path, "email\nann@example.com\n", name="a.csv")
    second = _file(tmp_path, "email\nbob@example.com\n", name="b.csv")
    assert _import(rt, first).exit_code == 0
    assert _import(rt, second, "--start-journeys").exit_code == 0
    run_due(rt)
    found = _contacts(rt)
    assert enrollments(rt, found["ann@example.com"].id) == []
    assert [e.journey_id for e in enrollments(rt, found["bob@example.com"].id)] == ["welcome"]
    assert [s.status for s in sends(rt, found["bob@example.com"].id)] == ["sent"]


class Crash(Exception):
    pass


def test_a_crash_mid_import_leaves_no_half_batch_and_running_again_finishes_it(rt, tmp_path):
    lines = ["email,first_name"] + [f"p{i}@example.com,P{i}" for i in range(25)]
    lines.insert(8, "broken,Nobody")
    lines.insert(12, "p1@example.com,Again")
    path = _file(tmp_path, "\n".join(lines) + "\n")
    _, header = service.header(path)
    job = service.create(rt, path, path.name, suggest(header), Options(), "test",
                         background=False)

    def crash_in_third_batch(number: int) -> None:
        if number == 2:
            raise Crash

    with pytest.raises(Crash):
        service.run(rt, job, batch_size=5, hook=crash_in_third_batch)
    stopped = queries.job(rt, job)
    assert (stopped.status, stopped.line, stopped.rows_read) == ("failed", 11, 10)
    assert count(rt, Contact) == 9  # two whole batches, less the broken row
    assert "Run it again to go on." in stopped.error
    done = service.run(rt, job, batch_size=5)
    assert done.status == "done"
    assert (done.rows_read, done.counts.created, done.counts.duplicates,
            done.counts.rejected) == (27, 25, 1, 1)
    assert count(rt, Contact) == 25
    assert len(events(rt, "contact.created")) == 25
    assert [r.line for r in queries.job(rt, job).rejects] == [9, 13]


def test_the_command_run_again_after_a_crash_resumes_the_stopped_import(rt, tmp_path):
    lines = ["email"] + [f"p{i}@example.com" for i in range(12)]
    path = _file(tmp_path, "\n".join(lines) + "\n")
    _, header = service.header(path)
    job = service.create(rt, path, path.name, suggest(header), Options(), "cli",
                         background=False)

    def crash(number: int) -> None:
        if number == 1:
            raise Crash

    with pytest.raises(Crash):
        service.run(rt, job, batch_size=5, hook=crash)
    result = _import(rt, path)
    assert result.exit_code == 0, result.output
    assert f"Resuming import #{job} from its last committed line." in result.output
    assert "12 rows read: 12 created" in result.output
    assert count(rt, Contact) == 12 and count(rt, ImportJob) == 1


def test_running_the_same_file_again_creates_no_duplicate(rt, tmp_path):
    path = _file(tmp_path, "email,first_name\nann@example.com,Ann\nbob@example.com,Bob\n")
    assert _import(rt, path).exit_code == 0
    again = _import(rt, path, "--skip-existing")
    assert again.exit_code == 1  # nothing new: both were there
    assert "0 created, 0 updated, 2 skipped (already there)" in again.output
    assert count(rt, Contact) == 2


def test_a_mapping_saved_by_name_is_used_for_the_next_file(rt, tmp_path):
    first = _file(tmp_path, "Mail,Shoe\nann@example.com,38\n", name="a.csv")
    second = _file(tmp_path, "Mail,Shoe\nbob@example.com,44\n", name="b.csv")
    assert _import(rt, first, "--map", "Mail=email", "--map", "Shoe=attribute",
                   "--save-mapping", "Scanner").exit_code == 0
    assert _import(rt, second, "--mapping", "Scanner").exit_code == 0
    assert _contacts(rt)["bob@example.com"].attributes == {"Shoe": "44"}


def test_an_import_uploaded_for_the_background_is_run_by_the_worker(rt, tmp_path):
    path = _file(tmp_path, "email\nann@example.com\nbob@example.com\n")
    job = service.create(rt, path, "people.csv", {"email": "email"}, Options(), "test",
                         background=True)
    run_due(rt)
    view = queries.job(rt, job)
    assert (view.status, view.created) == ("done", 2)
    out = io.StringIO()
    assert queries.write_rejects(rt, job, out) == 0


def test_addresses_met_are_remembered_across_merges_of_the_compact_store():
    seen = Seen()
    keys = [f"p{i}@example.com" for i in range(MERGE_EVERY * 2 + 10)]
    assert all(seen.add(k) for k in keys)
    assert not any(seen.add(k) for k in keys[::997])  # in the merged array and the set
    assert len(seen) == len(keys)


def test_imported_customers_get_a_referral_code_and_leads_do_not(rt, tmp_path):
    path = _file(tmp_path, "email,stage\ncus@example.com,onboard\nlea@example.com,learn\n")
    assert _import(rt, path).exit_code == 0
    found = _contacts(rt)
    assert (found["cus@example.com"].attributes.get("referral") or {}).get("code")
    assert "referral" not in found["lea@example.com"].attributes
    assert found["lea@example.com"].score == found["cus@example.com"].score == 0
