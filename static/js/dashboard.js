// The run dashboard's heatmap: a click on a cell loads the failed items of that skill in that
// round from the URL in the chart's data-failures-url (?round=&skill=) into the element named
// by data-failures-target. Works on the run page and on a share link's page alike.
(function () {
  "use strict";

  function show(target, html) {
    target.innerHTML = html;
    target.scrollIntoView({block: "nearest"});
  }

  function load(chart, round, skill) {
    var target = document.getElementById(chart.dataset.failuresTarget);
    if (!target) {
      return;
    }
    var url = new URL(chart.dataset.failuresUrl, window.location.href);
    url.searchParams.set("round", round);
    url.searchParams.set("skill", skill);
    target.setAttribute("aria-busy", "true");
    fetch(url.toString(), {credentials: "same-origin", headers: {"HX-Request": "true"}})
      .then(function (response) {
        return response.text().then(function (text) {
          if (!response.ok) {
            throw new Error("the server answered " + response.status);
          }
          return text;
        });
      })
      .then(function (html) { show(target, html); })
      .catch(function (err) {
        var p = document.createElement("p");
        p.className = "error";
        p.textContent = "Could not load the failed items: " + err.message;
        target.replaceChildren(p);
      })
      .finally(function () { target.removeAttribute("aria-busy"); });
  }

  function bind(chart) {
    if (chart.dataset.clickBound === "1" || typeof chart.on !== "function") {
      return;
    }
    chart.dataset.clickBound = "1";
    chart.on("plotly_click", function (event) {
      var point = event && event.points && event.points[0];
      if (point) {
        load(chart, point.x, point.y);
      }
    });
  }

  document.addEventListener("chart:drawn", function (event) {
    if (event.target.dataset && event.target.dataset.failuresUrl) {
      bind(event.target);
    }
  });
})();
