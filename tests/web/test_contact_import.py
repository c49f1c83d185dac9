"""Importing contacts in the console: upload, map, follow the job, read its report and
download the rows it rejected."""

from __future__ import annotations

import csv
import io

from nurture.contacts.imports.models import ImportJob
from nurture.contacts.models import Contact
from tests.helpers import count, csrf, rows, run_due, signed_in

FILE = ("Email;Vorname;Firma;Stage;Shoe size\n"
        "ann@example.com;Ann;Müller GmbH;learn;38\n"
        "nobody;Bob;€uro AG;learn;44\n"
        "cid@example.com;Cid;Acme;asleep;40\n").encode("cp1252")


def _upload(client, data: bytes = FILE, name: str = "fair.csv"):
    page = client.get("/contacts/import")
    return client.post("/contacts/import", data={
        "csrf_token": csrf(page.text), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data")


def test_an_upload_is_mapped_run_by_the_worker_and_reported_with_its_rejects(rt):
    client = signed_in(rt, "marketer")
    uploaded = _upload(client)
    assert uploaded.status_code == 303
    page = client.get(uploaded.headers["Location"])
    assert page.status_code == 200
    assert "Read as cp1252, columns separated by semicolons" in page.text
    assert "Müller GmbH" in page.text  # the first values, read right
    assert '<option value="email" selected>' in page.text  # "Email" suggested
    form = {"csrf_token": csrf(page.text), "name": "fair.csv", "col-0": "email",
            "col-1": "first_name", "col-2": "company", "col-3": "stage",
            "col-4": "attribute", "policy": "update", "list": "Fair",
            "basis": "Signed up at the Berlin fair", "consented_at": "2026-02-20",
            "save_as": "Fair scanner"}
    started = client.post(uploaded.headers["Location"].split("?")[0], data=form)
    assert started.status_code == 303
    job_url = started.headers["Location"]
    run_due(rt)
    # Done: the job's copy of the file goes; the upload stays a day, to map it again.
    assert [p.name for p in (rt.settings.var_dir / "imports").glob("*.csv")] == [
        uploaded.headers["Location"].split("/")[-1].split("?")[0] + ".csv"]
    report = client.get(job_url)
    assert "The import is done." in report.text
    assert "imports/progress.js" not in report.text
    progress = client.get(job_url + "/progress").json
    assert (progress["status"], progress["finished"], progress["created"],
            progress["rejected"], progress["percent"]) == ("done", True, 1, 2, 100)
    assert "Line 3: the email address &#39;nobody&#39; is not valid." in report.text
    assert "Line 4, column &#39;Stage&#39;: the stage &#39;asleep&#39; is unknown" in \
        report.text
    ann = rows(rt, Contact)[0]
    assert (ann.email, ann.company, ann.attributes, ann.consent_marketing) == (
        "ann@example.com", "Müller GmbH", {"Shoe size": "38"}, True)
    download = client.get(job_url + "/rejects.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(download.text)))
    assert table[0] == ["line", "reason", "Email", "Vorname", "Firma", "Stage", "Shoe size"]
    assert [r[0] for r in table[1:]] == ["3", "4"]
    assert table[1][2:] == ["nobody", "Bob", "€uro AG", "learn", "44"]
    again = client.get(uploaded.headers["Location"].split("?")[0] + "?mapping=Fair+scanner")
    assert '<option value="attribute" selected>' in again.text  # the saved mapping


def test_a_mapping_without_an_email_column_is_refused_and_nothing_is_started(rt):
    client = signed_in(rt, "marketer")
    uploaded = _upload(client)
    page = client.get(uploaded.headers["Location"])
    refused = client.post(uploaded.headers["Location"].split("?")[0], data={
        "csrf_token": csrf(page.text), "col-0": "", "col-1": "first_name",
        "policy": "update"})
    assert refused.status_code == 422
    assert "No column is mapped to the email address; every contact needs one." in refused.text
    assert count(rt, ImportJob) == 0


def test_a_file_larger_than_the_limit_is_refused_with_a_sentence(rt):
    rt.settings = rt.settings.with_(web=rt.settings.web.__class__(import_max_mb=1))
    client = signed_in(rt, "marketer")
    big = b"email\n" + b"someone@example.com\n" * 60_000
    refused = _upload(client, big)
    assert refused.status_code == 413
    assert "The file is larger than 1 MB, the most the console takes" in refused.text


def test_a_file_that_is_no_csv_is_refused_with_a_sentence(rt):
    client = signed_in(rt, "marketer")
    refused = _upload(client, b"\xff\xfe" + "email\n".encode("utf-16-le"), "x.csv")
    assert refused.status_code == 422
    assert "The file is in UTF-16; save it as CSV UTF-8 and upload it again." in refused.text
    empty = _upload(client, b"", "empty.csv")
    assert empty.status_code == 422 and "The file is empty" in empty.text


def test_a_job_stopped_by_an_error_can_be_resumed_from_the_console(rt, tmp_path):
    from nurture.contacts.imports import service
    from nurture.contacts.imports.options import Options

    path = tmp_path / "a.csv"
    path.write_text("email\nann@example.com\n")
    job = service.create(rt, path, "a.csv", {"email": "email"}, Options(), "t",
                         background=False)
    client = signed_in(rt, "marketer")
    waiting = client.get(f"/contacts/import/{job}")
    assert "Waiting for a worker" in waiting.text and "imports/progress.js" in waiting.text
    assert client.get(f"/contacts/import/{job}/progress").json["finished"] is False
    service._stop(rt, job, "The import stopped (OperationalError); the rows before its last "
                           "checkpoint are in. Run it again to go on.")
    page = client.get(f"/contacts/import/{job}")
    assert "Resume from line 1" in page.text
    resumed = client.post(f"/contacts/import/{job}/resume",
                          data={"csrf_token": csrf(page.text)})
    assert resumed.status_code == 303
    run_due(rt)
    assert "The import is done." in client.get(f"/contacts/import/{job}").text
    assert count(rt, Contact) == 1


def test_an_upload_nobody_imported_is_deleted_a_day_later(rt):
    import os
    import time

    client = signed_in(rt, "marketer")
    first = _upload(client).headers["Location"].split("?")[0]
    stored = rt.settings.var_dir / "imports" / (first.split("/")[-1] + ".csv")
    day_ago = time.time() - 25 * 3600
    os.utime(stored, (day_ago, day_ago))
    _upload(client, name="next.csv")
    assert not stored.exists()
    assert client.get(first).status_code == 404
