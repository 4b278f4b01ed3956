// Names for the admin's autocomplete boxes. Select2 draws a combobox next to the hidden
// <select> and names it after the chosen value only, so an empty one has no name at all
// (WCAG 4.1.2). Name it after the field's <label>, then the chosen value.
"use strict";
(function () {
  function nameAutocompletes() {
    document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var label = document.querySelector('label[for="' + select.id + '"]');
      var container = select.nextElementSibling;
      if (!label || !container || !container.classList.contains("select2")) return;
      label.id = label.id || select.id + "-label";
      var rendered = container.querySelector(".select2-selection__rendered");
      var names = rendered && rendered.id ? label.id + " " + rendered.id : label.id;
      container.querySelectorAll('[role="combobox"], [role="textbox"]').forEach(function (box) {
        if (box.getAttribute("aria-labelledby") !== names) box.setAttribute("aria-labelledby", names);
      });
    });
  }
  // Select2 draws its boxes when jQuery is ready, and again for each inline row added; an
  // observer names them as soon as they are in the page, whatever ran first.
  new MutationObserver(nameAutocompletes).observe(document.documentElement, {
    childList: true,
    subtree: true,
  });
})();
