// Draws every chart of the run page: each <div data-figure="ID"> gets the Plotly figure
// that the page (or the latest htmx swap) put into <script id="ID" type="application/json">.
(function () {
  "use strict";

  function draw() {
    if (typeof Plotly === "undefined") {
      return;
    }
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var source = document.getElementById(el.dataset.figure);
      if (!source) {
        return;
      }
      var text = source.textContent;
      if (el.dataset.drawn === text) {
        return; // unchanged since the last poll: keep the chart as the user left it
      }
      var figure = JSON.parse(text);
      Plotly.react(el, figure.data, figure.layout, {displayModeBar: false, responsive: true});
      el.dataset.drawn = text;
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
