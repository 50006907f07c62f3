// Draws the charts of a comparison: each <div data-compare-figure="ID"> gets the Plotly
// figure in <script id="ID" type="application/json">. Plotly's own mode bar downloads the
// chart as PNG (camera) or SVG (the added button). Used by the comparison pages, share pages and the exported file.
(function () {
  "use strict";

  function draw() {
    if (typeof Plotly === "undefined") {
      return;
    }
    document.querySelectorAll("[data-compare-figure]").forEach(function (el) {
      var source = document.getElementById(el.dataset.compareFigure);
      if (!source || el.dataset.drawn === "1") {
        return;
      }
      var figure = JSON.parse(source.textContent);
      Plotly.react(el, figure.data, figure.layout, {
        responsive: true,
        displaylogo: false,
        modeBarButtonsToRemove: ["select2d", "lasso2d"],
        modeBarButtonsToAdd: [{
          name: "Download plot as SVG",
          icon: Plotly.Icons.disk,
          click: function (gd) {
            Plotly.downloadImage(gd, {format: "svg", filename: el.dataset.compareFigure});
          }
        }],
        toImageButtonOptions: {format: "png", filename: el.dataset.compareFigure}
      });
      el.dataset.drawn = "1";
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
  document.addEventListener("htmx:afterSettle", draw);
})();
