// A broadcast's page: poll its progress every few seconds and show the counts. Without
// this script the page shows the counts as they were when it was loaded.
(function () {
  "use strict";
  var box = document.getElementById("broadcast-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-progress-url");
  var number = new Intl.NumberFormat("en");
  function show(data) {
    ["queued", "waiting", "paused", "deferred", "sending", "sent", "failed", "skipped_total",
     "cancelled"].forEach(function (name) {
      box.querySelectorAll('[data-field="' + name + '"]').forEach(function (el) {
        el.textContent = number.format(data[name]);
      });
    });
    reasons(data);
  }
  // The skipped and deferred counts by reason: rebuilt from the poll, sorted as the page
  // sorts them, with text nodes only (a reason is never read as markup).
  function reasons(data) {
    var table = document.getElementById("progress-reasons");
    if (!table) { return; }
    var rows = [];
    Object.keys(data.skipped || {}).sort().forEach(function (reason) {
      rows.push(["skipped: " + reason, data.skipped[reason]]);
    });
    Object.keys(data.deferred_by || {}).sort().forEach(function (reason) {
      rows.push([reason, data.deferred_by[reason]]);
    });
    var body = table.tBodies[0];
    while (body.firstChild) { body.removeChild(body.firstChild); }
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      var label = document.createElement("td");
      var count = document.createElement("td");
      label.textContent = row[0];
      count.className = "num";
      count.textContent = number.format(row[1]);
      tr.appendChild(label);
      tr.appendChild(count);
      body.appendChild(tr);
    });
    table.hidden = rows.length === 0;
  }
  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { show(data); } })
      .catch(function () {})
      .finally(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 2000);
}());
