// The run list's comparison picker: "select all" and the count on the Compare button.
(function () {
  "use strict";

  function boxes() {
    return document.querySelectorAll("input[name=run][form=compare-form]");
  }

  function update() {
    var button = document.getElementById("compare-button");
    if (!button) {
      return;
    }
    var n = 0;
    boxes().forEach(function (b) { if (b.checked) { n += 1; } });
    button.disabled = n === 0;
    button.textContent = n ? "Compare " + n + " run" + (n === 1 ? "" : "s") : "Compare";
  }

  document.addEventListener("change", function (event) {
    if (event.target.id === "pick-all") {
      boxes().forEach(function (b) { b.checked = event.target.checked; });
    }
    if (event.target.id === "pick-all" || event.target.getAttribute("form") === "compare-form") {
      update();
    }
  });
  document.addEventListener("DOMContentLoaded", update);
  document.addEventListener("htmx:afterSettle", update);
})();
