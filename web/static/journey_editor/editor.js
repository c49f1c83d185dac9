// The journey editor: CodeMirror (line numbers, YAML highlighting, the lint gutter) in
// place of the textarea, and the draft checked as it is typed: every violation listed
// with its line and marked in the gutter. Without this script, or without CodeMirror, the
// textarea and the Check button do the same on the server.
(function () {
  "use strict";
  var form = document.getElementById("journey-form");
  var textarea = document.getElementById("source");
  var box = document.getElementById("violations");
  if (!form || !textarea || !box) { return; }
  var url = form.getAttribute("data-validate-url");
  var token = form.querySelector('input[name="csrf_token"]').value;
  var CM = window.NurtureCM;
  var view = null;
  var timer = null;
  var asked = 0;

  function text() { return view ? view.state.doc.toString() : textarea.value; }

  function goTo(line) {
    if (!view) { textarea.focus(); return; }
    var at = view.state.doc.line(Math.min(Math.max(line, 1), view.state.doc.lines));
    view.dispatch({selection: {anchor: at.from}, scrollIntoView: true});
    view.focus();
  }

  function show(found) {
    box.textContent = "";
    var summary = document.createElement("p");
    summary.id = "violations-count";
    if (!found.length) {
      summary.className = "ok";
      summary.textContent = "No problems: the journey is valid.";
      box.appendChild(summary);
    } else {
      summary.className = "error";
      summary.textContent = found.length + (found.length === 1 ? " problem: fix it" :
        " problems: fix them") + " before publishing.";
      box.appendChild(summary);
      var list = document.createElement("ul");
      list.className = "violations";
      found.forEach(function (v) {
        var item = document.createElement("li");
        item.setAttribute("data-line", v.line);
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = "Line " + v.line + ": " + v.message;
        button.addEventListener("click", function () { goTo(v.line); });
        item.appendChild(button);
        list.appendChild(item);
      });
      box.appendChild(list);
    }
    if (view && CM.setDiagnostics) {
      var doc = view.state.doc;
      view.dispatch(CM.setDiagnostics(view.state, found.map(function (v) {
        var line = doc.line(Math.min(Math.max(v.line, 1), doc.lines));
        return {from: line.from, to: line.to, severity: "error", message: v.message};
      })));
    }
  }

  function check() {
    var mine = ++asked;
    fetch(url, {method: "POST", credentials: "same-origin",
                headers: {"Content-Type": "application/json", "X-CSRFToken": token,
                          "Accept": "application/json"},
                body: JSON.stringify({source: text()})})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (mine !== asked) { return; }  // a newer check is on its way
        if (data.violations) { show(data.violations); }
        else if (data.error) { show([{line: 1, message: data.error}]); }
      })
      .catch(function () {});
  }

  function soon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 400);
  }

  if (CM) {
    view = new CM.EditorView({
      doc: textarea.value,
      extensions: [CM.basicSetup, CM.yaml(), CM.lintGutter(),
                   CM.EditorView.contentAttributes.of({"aria-label": "The journey's YAML"}),
                   CM.EditorView.updateListener.of(function (update) {
                     if (update.docChanged) { textarea.value = text(); soon(); }
                   })]
    });
    textarea.parentNode.insertBefore(view.dom, textarea);
    textarea.hidden = true;
    textarea.setAttribute("aria-hidden", "true");
    document.querySelector('label[for="source"]').addEventListener("click", function () {
      view.focus();
    });
    form.addEventListener("submit", function () { textarea.value = text(); });
  } else {
    textarea.addEventListener("input", soon);
  }
  box.querySelectorAll("li[data-line]").forEach(function (item) {
    var line = parseInt(item.getAttribute("data-line"), 10);
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = item.textContent;
    button.addEventListener("click", function () { goTo(line); });
    item.textContent = "";
    item.appendChild(button);
  });
  check();
}());
