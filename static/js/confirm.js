// Asks before a form with a data-confirm attribute is sent (e.g. deleting a run).
// A script file rather than an inline onsubmit handler: the Content-Security-Policy
// (script-src 'self') blocks inline handlers.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form && form.getAttribute ? form.getAttribute("data-confirm") : null;
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
