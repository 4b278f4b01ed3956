// Names for the admin's autocomplete boxes. Select2 draws a combobox next to the hidden
// <select> and names it after the chosen value only, so an empty one has no name at all
// (WCAG 4.1.2). Name it after the field's <label>, then the chosen value.
"use strict";
(function () {
  function nameAutocompletes(root) {
    root.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var label = document.querySelector('label[for="' + select.id + '"]');
      var container = select.nextElementSibling;
      if (!label || !container) return;
      label.id = label.id || select.id + "-label";
      container.querySelectorAll('[role="combobox"], [role="textbox"]').forEach(function (box) {
        var rendered = container.querySelector(".select2-selection__rendered");
        var ids = [label.id];
        if (rendered && rendered.id) ids.push(rendered.id);
        box.setAttribute("aria-labelledby", ids.join(" "));
      });
    });
  }
  // Select2 starts on jQuery's ready; by "load" every box on the page exists.
  window.addEventListener("load", function () { nameAutocompletes(document); });
  // An inline row added later gets its boxes once Django's own handler has drawn them.
  document.addEventListener("formset:added", function (event) {
    window.setTimeout(function () { nameAutocompletes(event.target); }, 0);
  });
})();
