// The segment builder: as the condition is typed, ask the server (debounced) for the live
// count and a sample, or the syntax error with its line and column. Plain DOM, no library.
(function () {
  "use strict";
  var form = document.querySelector("form[data-preview]");
  if (!form) { return; }
  var box = form.querySelector("#condition");
  var live = form.querySelector("#live");
  var table = form.querySelector("#sample");
  var body = table.querySelector("tbody");
  var timer = null;
  var asked = 0;

  function say(className, text) {
    var p = document.createElement("p");
    if (className) { p.className = className; }
    p.textContent = text;
    live.replaceChildren(p);
  }

  function show(answer) {
    if (answer.error) {
      var where = answer.line ? "Line " + answer.line + ", column " + answer.column + ": " : "";
      say("error", where + answer.error);
      table.hidden = true;
      return;
    }
    var strong = document.createElement("strong");
    strong.textContent = answer.count.toLocaleString("en");
    var p = document.createElement("p");
    p.append(strong, " contact" + (answer.count === 1 ? "" : "s") + " match now.");
    live.replaceChildren(p);
    body.replaceChildren.apply(body, answer.sample.map(function (c) {
      var row = document.createElement("tr");
      [c.email, c.name, c.stage].forEach(function (value) {
        var cell = document.createElement("td");
        cell.textContent = value;
        row.append(cell);
      });
      return row;
    }));
    table.hidden = answer.sample.length === 0;
  }

  function ask() {
    var text = box.value;
    var mine = ++asked;
    if (!text.trim()) { live.replaceChildren(); table.hidden = true; return; }
    fetch(form.dataset.preview + "?where=" + encodeURIComponent(text), {
      headers: { "Accept": "application/json" }, credentials: "same-origin"
    }).then(function (response) {
      return response.json();
    }).then(function (answer) {
      if (mine === asked) { show(answer); }
    }).catch(function () {
      if (mine === asked) { say("error", "The count could not be fetched; try again."); }
    });
  }

  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 300);
  });
}());
