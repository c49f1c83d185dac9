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
