// The staff dashboard's charts (billing/templates/admin/billing/dashboard.html), drawn with
// the vendored uPlot from the numbers the page embeds as JSON. No network access.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("billing-dashboard-data").textContent);
  var width = function (el) { return Math.max(320, el.clientWidth || 400); };
  var bars = uPlot.paths.bars({ size: [0.6, 64] });

  function daily(el) {
    var values = data[el.dataset.source];
    var xs = data.days.map(function (day) { return Date.parse(day + "T00:00:00Z") / 1000; });
    new uPlot({
      width: width(el), height: 220,
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
      series: [{}, { label: el.dataset.label, stroke: "#417690", fill: "rgba(65,118,144,0.35)", paths: bars, points: { show: false } }],
      axes: [{}, {}],
    }, [xs, values], el);
  }

  function categories(el) {
    var source = data[el.dataset.source];
    var names = Object.keys(source);
    var xs = names.map(function (_, i) { return i; });
    new uPlot({
      width: width(el), height: 200,
      scales: { x: { time: false, range: [-0.5, names.length - 0.5] }, y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
      series: [{}, { label: "count", stroke: "#79aec8", fill: "rgba(121,174,200,0.5)", paths: bars, points: { show: false } }],
      axes: [{ splits: function () { return xs; }, values: function (u, splits) { return splits.map(function (i) { return names[i] || ""; }); } }, {}],
      legend: { show: false },
    }, [xs, names.map(function (n) { return source[n]; })], el);
  }

  document.querySelectorAll(".billing-dashboard .chart").forEach(function (el) {
    (el.dataset.chart === "daily" ? daily : categories)(el);
  });
})();
