// "Copy link" buttons: data-copy names the input whose value is copied; the status line
// (data-copy-status) says it worked, or to copy by hand where the browser refuses.
(function () {
  "use strict";
  var status = document.querySelector("[data-copy-status]");
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.querySelector(button.getAttribute("data-copy"));
      if (!field) { return; }
      field.select();
      var done = function () {
        if (status) { status.textContent = status.getAttribute("data-copied-text") || "Link copied."; }
      };
      var failed = function () {
        if (status) { status.textContent = "Select it and copy it (Ctrl+C or Cmd+C)."; }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, failed);
      } else {
        try { document.execCommand("copy") ? done() : failed(); } catch (e) { failed(); }
      }
    });
  });
})();
