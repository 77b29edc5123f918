// The staff dashboard's charts (billing/templates/admin/billing/dashboard.html), drawn with
// the vendored uPlot from the numbers the page embeds as JSON. No network access.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("billing-dashboard-data").textContent);
  // uPlot draws exactly this wide (axes included): the chart box minus a margin, never wider.
  var width = function (el) { return Math.max(280, (el.parentElement.clientWidth || 420) - 40); };
  var bars = uPlot.paths.bars({ size: [0.6, 64] });

  function daily(el) {
    var values = data[el.dataset.source];
    var xs = data.days.map(function (day) { return Date.parse(day + "T00:00:00Z") / 1000; });
    return new uPlot({
      width: width(el), height: 220,
      // Half a day either side, so the first and last day's bars are whole.
      scales: { x: { time: true, range: [xs[0] - 43200, xs[xs.length - 1] + 43200] }, y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
      series: [{}, { label: el.dataset.label, stroke: "#417690", fill: "rgba(65,118,144,0.35)", paths: bars, points: { show: false } }],
      axes: [{}, {}],
    }, [xs, values], el);
  }

  function categories(el) {
    var source = data[el.dataset.source];
    var names = Object.keys(source);
    var xs = names.map(function (_, i) { return i; });
    return new uPlot({
      width: width(el), height: 200,
      scales: { x: { time: false, range: [-0.5, names.length - 0.5] }, y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
      series: [{}, { label: "count", stroke: "#79aec8", fill: "rgba(121,174,200,0.5)", paths: bars, points: { show: false } }],
      axes: [{ splits: function () { return xs; }, values: function (u, splits) { return splits.map(function (i) { return names[i] || ""; }); } }, {}],
      legend: { show: false },
    }, [xs, names.map(function (n) { return source[n]; })], el);
  }

  document.querySelectorAll(".billing-dashboard .chart").forEach(function (el) {
    var plot = (el.dataset.chart === "daily" ? daily : categories)(el);
    // The admin's sidebar settles the layout after this runs: follow the box's width.
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        plot.setSize({ width: width(el), height: plot.height });
      }).observe(el.parentElement);
    }
  });
})();
