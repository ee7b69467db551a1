/* The site's only script, loaded from here because the Content-Security-Policy allows no inline script. */
"use strict";

/* A form marked data-busy cannot be sent twice, and says what it is waiting for (its [role=status] element). */
document.querySelectorAll("form[data-busy]").forEach(function (form) {
  var button = form.querySelector("button[type=submit]"), status = form.querySelector("[role=status]");
  form.addEventListener("submit", function (event) {
    if (button.disabled) { event.preventDefault(); return; }
    button.disabled = true;
    if (status) { status.hidden = false; }
  });
  // Back to this page from the browser's history: the form can be sent again.
  window.addEventListener("pageshow", function () {
    button.disabled = false;
    if (status) { status.hidden = true; }
  });
});

/* A link marked data-back goes back in the browser's history when there is somewhere to go back to. */
document.querySelectorAll("a[data-back]").forEach(function (link) {
  link.addEventListener("click", function (event) {
    if (window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });
});
