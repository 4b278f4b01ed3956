// The language picker sends itself when a language is chosen (its button stays for readers
// without scripts), and every form with a hidden "time_zone" field (sign-up) carries the zone
// the browser reports, the account's first time zone.
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (error) { zone = ""; }
  document.querySelectorAll("input[type=hidden][name=time_zone]").forEach(function (input) {
    if (!input.value) { input.value = zone; }
  });
})();
