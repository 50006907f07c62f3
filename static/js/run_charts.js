// Draws every chart of the run page: each <div data-figure="ID"> gets the Plotly figure
// that the page (or the latest htmx swap) put into <script id="ID" type="application/json">.
// A div with data-modebar="1" gets Plotly's mode bar with PNG and SVG download buttons.
(function () {
  "use strict";

  function svgButton() {
    return {
      name: "Download as SVG",
      icon: Plotly.Icons.disk,
      click: function (gd) {
        Plotly.downloadImage(gd, {format: "svg", filename: gd.id || "chart"});
      },
    };
  }

  function config(el) {
    if (el.dataset.modebar !== "1") {
      return {displayModeBar: false, responsive: true};
    }
    return {
      responsive: true,
      displaylogo: false,
      toImageButtonOptions: {format: "png", filename: el.id || "chart", scale: 2},
      modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
      modeBarButtonsToAdd: [svgButton()],
    };
  }

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
      Plotly.react(el, figure.data, figure.layout, config(el)).then(function () {
        el.dispatchEvent(new CustomEvent("chart:drawn", {bubbles: true}));
      });
      el.dataset.drawn = text;
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
