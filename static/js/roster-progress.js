// Follows a roster import's progress without reloading the page, then reloads once at the end
// to show the summary. No inline script: the URL comes from a data attribute.
(function () {
  "use strict";
  var card = document.getElementById("roster-progress-card");
  if (!card || card.dataset.finished === "1") { return; }
  var bar = document.getElementById("roster-progress");
  var rows = document.getElementById("roster-rows");
  var status = document.getElementById("roster-status");
  function poll() {
    fetch(card.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        bar.value = data.percent;
        bar.textContent = data.percent + "%";
        rows.textContent = data.rows_done;
        status.textContent = data.status_label;
        // Finished, or stuck (the page then offers to run it again): show the whole story.
        if (data.finished || data.stuck) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
