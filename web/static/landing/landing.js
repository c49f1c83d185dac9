/* Landing page niceties; the form works the same without them. */
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  document.addEventListener("DOMContentLoaded", function () {
    // After a failed submit, take keyboard and screen-reader users to the list of problems.
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }

    // The visitor's time zone, so that emails arrive in their morning, not at night.
    var zone = byId("timezone");
    if (zone && !zone.value && window.Intl && Intl.DateTimeFormat) {
      try { zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; }
      catch (e) { zone.value = ""; }
    }

    // "I am the technical contact" copies the person's name and email.
    var same = byId("tech-same");
    if (same) {
      same.hidden = false;
      same.addEventListener("click", function () {
        var name = [byId("first_name").value, byId("last_name").value].join(" ").trim();
        byId("tech_name").value = name;
        byId("tech_email").value = byId("email").value.trim();
        byId("tech-status").textContent = "Your name and email were copied to the technical contact.";
      });
    }

    // The shipping country follows the company's until the visitor picks one.
    var country = byId("country");
    var ship = byId("ship_country");
    if (country && ship) {
      var follow = !ship.value;
      ship.addEventListener("change", function () { follow = false; });
      country.addEventListener("change", function () {
        if (follow) { ship.value = country.value; }
      });
    }
  });
}());
