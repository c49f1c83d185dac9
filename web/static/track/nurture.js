/* Nurture page visits: paste <script src="https://NURTURE/t.js" async></script> into the
   pages of a site that NURTURE_VISIT_ORIGINS lists (docs/visits.md).
   Who is visiting comes from the signed visitor id that an email click adds to the address
   (?nv=...), or that a Nurture form's page names (data-nurture-visitor="..."). It is kept
   in a first-party cookie of this site for a year and taken off the address bar. Nothing
   is kept or sent when the browser asks not to be tracked (Do Not Track, Global Privacy
   Control), nor for a visitor Nurture does not know. */
(function () {
  "use strict";
  var COOKIE = "nurture_nv", PARAM = "nv", YEAR = 365 * 24 * 3600;
  var me = document.currentScript;
  if (!me || !window.URL || !window.fetch) return;
  var endpoint = new URL("/api/v1/visits", me.src).href;

  function optedOut() {
    var n = navigator;
    return n.globalPrivacyControl === true || n.doNotTrack === "1" ||
      window.doNotTrack === "1" || n.msDoNotTrack === "1";
  }

  function fromAddress() {
    // Taken off the address bar even for those who opted out: no bookmark or shared
    // link should carry someone's id.
    var url = new URL(location.href), id = url.searchParams.get(PARAM);
    if (id === null) return null;
    url.searchParams.delete(PARAM);
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
    return id;
  }

  function fromForms() {
    var named = document.querySelector("[data-nurture-visitor]");
    return named ? named.getAttribute("data-nurture-visitor") : null;
  }

  function fromCookie() {
    var found = document.cookie.match(/(?:^|;\s*)nurture_nv=([^;]*)/);
    return found ? decodeURIComponent(found[1]) : null;
  }

  function keep(id) {
    document.cookie = COOKIE + "=" + encodeURIComponent(id) + "; Max-Age=" + YEAR +
      "; Path=/; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }

  function report(id) {
    fetch(endpoint, {
      method: "POST", mode: "cors", credentials: "omit", keepalive: true,
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({visitor: id, url: location.href, title: document.title,
                            referrer: document.referrer})
    }).catch(function () { /* a lost visit is not worth an error on the customer's page */ });
  }

  var given = fromAddress();
  if (optedOut()) return;
  var visitor = given || fromForms() || fromCookie();
  // A page that learns the id later (a form answered in place) hands it over here.
  window.nurture = {identify: function (id) { if (id && !optedOut()) keep(id); }};
  if (!visitor) return;
  keep(visitor);
  report(visitor);
})();
