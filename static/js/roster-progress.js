// Follows a roster import (being checked, queued, applying) without reloading the page; reloads
// once when its state changes (checked, applying, done, stuck, taken up again), so the page
// shows the whole story. No inline script: the URL and the state the page was drawn in come
// from data attributes.
(function () {
  "use strict";
  var card = document.getElementById("roster-progress-card");
  if (!card || card.dataset.finished === "1") { return; }
  var bar = document.getElementById("roster-progress");
  var rows = document.getElementById("roster-rows");
  var rowsRead = document.getElementById("roster-rows-read");
  var status = document.getElementById("roster-status");
  var drawnStuck = card.dataset.stuck === "1";
  var drawnStatus = card.dataset.status;
  function poll() {
    fetch(card.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (bar) { bar.value = data.percent; bar.textContent = data.percent + "%"; }
        if (rows) { rows.textContent = data.rows_done; }
        if (rowsRead) { rowsRead.textContent = data.rows_read; }
        status.textContent = data.status_label;
        if (data.finished || data.stuck !== drawnStuck || data.status !== drawnStatus) {
          window.location.reload();
        } else {
          // A stuck import is checked less often: the sweep takes it up within minutes.
          window.setTimeout(poll, drawnStuck ? 5000 : 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
