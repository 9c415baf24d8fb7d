// Progressive enhancement only: every page works without this script.
// Shows a live countdown next to the access token's expiry time, and submits the
// authorization request form (authorize_method = "post") without waiting for a click.
(function () {
  "use strict";
  function tick(el) {
    var at = parseInt(el.getAttribute("data-countdown"), 10);
    if (!at) return;
    var left = at - Math.floor(Date.now() / 1000);
    if (left <= 0) { el.textContent = " (expired)"; return; }
    var m = Math.floor(left / 60), s = left % 60;
    el.textContent = " (in " + m + " min " + (s < 10 ? "0" : "") + s + " s)";
  }
  function all() { document.querySelectorAll("[data-countdown]").forEach(tick); }
  function autosubmit() {
    var form = document.querySelector("form[data-autosubmit]");
    if (form) form.submit();
  }
  document.addEventListener("DOMContentLoaded", function () {
    all();
    setInterval(all, 1000);
    autosubmit();
  });
})();
