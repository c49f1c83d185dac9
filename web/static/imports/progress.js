// The import page while its job runs: poll the job's progress and show it; reload the
// page (its report) once the job is finished. Without this script the page has a link.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var number = new Intl.NumberFormat();
  function show(data) {
    if (data.finished) { window.location.reload(); return; }
    var values = {
      status: data.status === "queued" ? "Waiting for a worker" : "Importing",
      percent: data.percent, rows_per_second: number.format(Math.round(data.rows_per_second)),
      errors: number.format(data.rejected + data.duplicates),
      rows_read: number.format(data.rows_read), created: number.format(data.created),
      updated: number.format(data.updated), skipped: number.format(data.skipped),
      duplicates: number.format(data.duplicates), rejected: number.format(data.rejected)
    };
    Object.keys(values).forEach(function (name) {
      document.querySelectorAll('[data-field="' + name + '"]').forEach(function (el) {
        el.textContent = values[name];
      });
    });
    var bar = document.getElementById("import-bar");
    if (bar) { bar.value = data.percent; bar.textContent = data.percent + "%"; }
  }
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { show(data); } })
      .catch(function () {})
      .finally(function () { window.setTimeout(poll, 1000); });
  }
  window.setTimeout(poll, 1000);
}());
