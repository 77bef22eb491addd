// Charts of the evaluation dashboard (ECharts from npm). The tables on the page hold the same
// data, so the page stays complete without JavaScript.
(function () {
  if (!window.echarts) return;
  var d = JSON.parse(document.getElementById("dashboard-data").textContent);
  var names = d.classes.map(function (c) { return c.label; });
  var palette = ["#1b7f3b", "#2f6fb5", "#c77700", "#b3261e", "#6b5bad", "#888"];
  function stacked(id, rows) {
    var el = document.getElementById(id);
    if (!el || !rows.length) return;
    var top = rows.slice(0, 20);
    echarts.init(el).setOption({
      color: palette, tooltip: { trigger: "axis" }, legend: { data: names },
      grid: { left: 160, right: 20, top: 40, bottom: 20 },
      xAxis: { type: "value" }, yAxis: { type: "category", data: top.map(function (r) { return r.label; }).reverse() },
      series: d.classes.map(function (c) {
        return { name: c.label, type: "bar", stack: "all",
                 data: top.map(function (r) { return r.counts[c.code]; }).reverse() };
      })
    });
  }
  stacked("chart-industry", d.by_industry);
  stacked("chart-region", d.by_region);
  var trend = document.getElementById("chart-trend");
  if (trend && d.trend.length) {
    echarts.init(trend).setOption({
      color: palette, tooltip: { trigger: "axis" }, legend: { data: names },
      xAxis: { type: "category", data: d.trend.map(function (t) { return t.as_of; }) },
      yAxis: { type: "value" },
      series: d.classes.map(function (c) {
        return { name: c.label, type: "line", data: d.trend.map(function (t) { return t.counts[c.code]; }) };
      })
    });
  }
})();
