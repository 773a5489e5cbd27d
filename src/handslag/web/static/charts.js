/* Handslag: ECharts diagrams for the municipality overview (/kommun/{code}) and the area profile
   (/omrade/{code}). Every diagram has a table with the same numbers next to it (server-rendered on the
   overview, built here from the same JSON on the area profile). Vendored ECharts, no network beyond
   our own API. window.handslagCharts exposes the instances (used by the browser tests). */
(function () {
  "use strict";
  const state = {instances: {}, ready: false, errors: []};
  window.handslagCharts = state;
  if (typeof echarts === "undefined") { state.errors.push("echarts saknas"); return; }

  const NF = (digits) => new Intl.NumberFormat("sv-SE", {minimumFractionDigits: digits, maximumFractionDigits: digits});
  const fmtDec = (v, d) => (v === null || v === undefined || Number.isNaN(v)) ? "–" : NF(d).format(v);
  const BASE = {
    aria: {enabled: true, decal: {show: false}},
    textStyle: {fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
    animation: false,
  };

  function init(id, option) {
    const el = document.getElementById(id);
    if (!el) return null;
    const chart = echarts.init(el, null, {renderer: "canvas", locale: "EN"});
    chart.setOption(Object.assign({}, BASE, option));
    state.instances[id] = chart;
    return chart;
  }

  window.addEventListener("resize", () => Object.values(state.instances).forEach((c) => c.resize()));

  // --- municipality overview --------------------------------------------------------------------------

  function typesChart(data) {
    if (!data.types.length) return;
    const years = data.types.map((d) => String(d.year));
    const series = [1, 2, 3, 4, 5].map((t) => ({
      name: `Typ ${t}`, type: "bar", stack: "typer", barMaxWidth: 70,
      itemStyle: {color: data.typeColors[t], borderColor: "#fff", borderWidth: 1},
      label: {show: true, position: "inside", color: t === 1 || t === 5 ? "#fff" : "#000"},
      data: data.types.map((d) => d.counts[t] ?? 0),
    }));
    init("chart-types", {
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
      legend: {top: 0, formatter: (name) => `${name}: ${data.typeLabels[name.slice(4)] || ""}`, textStyle: {fontSize: 11}},
      grid: {left: 50, right: 20, top: 70, bottom: 30},
      xAxis: {type: "category", data: years, name: "År", nameLocation: "middle", nameGap: 24},
      yAxis: {type: "value", name: "Antal områden", minInterval: 1},
      series,
    });
  }

  function errorBarSeries(gridIndex, color, points) {
    return {
      type: "custom", name: "95 % KI", xAxisIndex: gridIndex, yAxisIndex: gridIndex,
      encode: {x: 0, y: [1, 2, 3], tooltip: [1, 2, 3]},
      dimensions: ["år", "värde", "KI låg", "KI hög"],
      data: points,
      renderItem(params, api) {
        const x = api.value(0), v = api.value(1), lo = api.value(2), hi = api.value(3);
        const pv = api.coord([x, v]);
        const children = [];
        if (Number.isFinite(lo) && Number.isFinite(hi)) {
          const pl = api.coord([x, lo]), ph = api.coord([x, hi]), w = 7;
          const line = (x1, y1, x2, y2) => ({type: "line", shape: {x1, y1, x2, y2}, style: {stroke: color, lineWidth: 1.6}});
          children.push(line(pl[0], pl[1], ph[0], ph[1]), line(pl[0] - w, pl[1], pl[0] + w, pl[1]),
                        line(ph[0] - w, ph[1], ph[0] + w, ph[1]));
        }
        children.push({type: "circle", shape: {cx: pv[0], cy: pv[1], r: 4.5}, style: {fill: color, stroke: "#fff", lineWidth: 1}});
        return {type: "group", children};
      },
    };
  }

  function segregationChart(data) {
    const seg = data.segregation;
    if (!seg.years.length) return;
    const years = seg.years.map((y) => String(y.year));
    const colors = ["#005a8c", "#8c2d04", "#4a1486", "#00695c"];
    const cells = [[6, 10], [54, 10], [6, 58], [54, 58]]; // left %, top %
    const option = {grid: [], xAxis: [], yAxis: [], series: [], title: [],
      tooltip: {trigger: "item", formatter: (p) => {
        const v = p.value;
        return `${p.seriesName}<br>${years[v[0]]}: ${fmtDec(v[1], 3)}<br>95 % KI ${fmtDec(v[2], 3)}–${fmtDec(v[3], 3)}`;
      }}};
    seg.indices.forEach((ix, i) => {
      const [left, top] = cells[i];
      option.title.push({text: ix.label, left: `${left}%`, top: `${top - 8}%`, textStyle: {fontSize: 13, fontWeight: 600}});
      option.grid.push({left: `${left + 4}%`, top: `${top}%`, width: "38%", height: "28%", containLabel: false});
      option.xAxis.push({type: "category", data: years, gridIndex: i});
      option.yAxis.push({type: "value", scale: true, gridIndex: i, splitNumber: 3,
                         axisLabel: {formatter: (v) => fmtDec(v, 3)}});
      const points = seg.years.map((y, k) => [k, y[ix.id].value, y[ix.id].low ?? NaN, y[ix.id].high ?? NaN]);
      option.series.push({type: "line", name: ix.label, xAxisIndex: i, yAxisIndex: i, silent: true, showSymbol: false,
                          lineStyle: {color: colors[i], width: 1, type: "dashed"}, data: points.map((p) => p[1]),
                          tooltip: {show: false}});
      const bars = errorBarSeries(i, colors[i], points);
      bars.name = ix.label;
      option.series.push(bars);
    });
    init("chart-segregation", option);
  }

  function shareChart(data) {
    if (!data.shares.length) return;
    init("chart-share", {
      tooltip: {trigger: "axis", valueFormatter: (v) => `${fmtDec(v, 1)} %`},
      grid: {left: 50, right: 20, top: 20, bottom: 30},
      xAxis: {type: "category", data: data.shares.map((s) => String(s.year))},
      yAxis: {type: "value", min: 0, axisLabel: {formatter: (v) => `${fmtDec(v, 0)} %`}},
      series: [{name: "Andel i typ 1–2", type: "bar", barMaxWidth: 60, itemStyle: {color: data.typeColors[1]},
                label: {show: true, position: "top", formatter: (p) => `${fmtDec(p.value, 1)} %`},
                data: data.shares.map((s) => (s.share === null ? null : 100 * s.share))}],
    });
  }

  // --- area profile ------------------------------------------------------------------------------------

  const UNIT = {percent: "%", persons: "personer", dwellings: "bostäder", "SEK thousands": "tkr", SEK: "kr"};

  function fmtValue(v, unit) {
    if (v === null || v === undefined) return "–";
    if (unit === "percent") return `${fmtDec(v, 1)} %`;
    if (unit === "persons" || unit === "dwellings") return fmtDec(v, 0);
    return fmtDec(v, Math.abs(v) >= 100 ? 0 : 1) + (UNIT[unit] ? ` ${UNIT[unit]}` : "");
  }

  function escapeHtml(s) {
    return String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  }

  function areaChart(cfg, item, body) {
    const id = `area-chart-${item.id}`;
    const fig = document.getElementById(id).closest("figure");
    const scopes = [
      {key: "area", label: body.area.name || cfg.name, style: {width: 3}, color: "#c2185b"},
      {key: "kommun", label: body.kommun ? `${body.kommun.name} (beräknat)` : null, style: {width: 2, type: "dashed"}, color: "#005a8c"},
      {key: "riket", label: body.riket ? "Riket (beräknat)" : null, style: {width: 2, type: "dotted"}, color: "#555"},
    ].filter((s) => s.label && body[s.key] && body[s.key].series.length);
    const years = [...new Set(scopes.flatMap((s) => body[s.key].series.map((p) => p.year)))].sort((a, b) => a - b);
    const valueOf = (s, y) => { const p = body[s.key].series.find((q) => q.year === y); return p ? p.value : null; };
    // counts (population) differ by orders of magnitude: compare them as an index, first year = 100
    const asIndex = body.kind === "count" && scopes.length > 1;
    const base = {};
    if (asIndex) for (const s of scopes) base[s.key] = years.map((y) => valueOf(s, y)).find((v) => v !== null && v > 0);
    const plotted = (s, y) => {
      const v = valueOf(s, y);
      if (v === null) return null;
      return asIndex ? (base[s.key] ? (100 * v) / base[s.key] : null) : v;
    };
    init(id, {
      color: scopes.map((s) => s.color),
      tooltip: {trigger: "axis", valueFormatter: (v) => (asIndex ? fmtDec(v, 1) : fmtValue(v, body.unit))},
      legend: {top: 0, left: 0, itemWidth: 18, itemGap: 8, textStyle: {fontSize: 11}},
      grid: {left: 52, right: 16, top: 70, bottom: 28},
      xAxis: {type: "category", data: years.map(String), boundaryGap: false},
      // index charts zoom in on the change; levels (shares, means) start at zero
      yAxis: {type: "value", scale: asIndex, min: asIndex ? null : 0,
              name: asIndex ? `Index, ${years[0]} = 100` : (UNIT[body.unit] || ""),
              nameTextStyle: {align: "left", padding: [0, 0, 0, -40]},
              axisLabel: {formatter: (v) => fmtDec(v, 0)}},
      series: scopes.map((s) => ({name: s.label, type: "line", connectNulls: false, symbolSize: 7,
                                  lineStyle: s.style, data: years.map((y) => plotted(s, y))})),
    });
    // the table alternative (same numbers, original units)
    let html = `<table class="compact"><caption>${escapeHtml(body.name)} per år</caption><thead><tr><th scope="col">År</th>`;
    for (const s of scopes) html += `<th scope="col" class="num">${escapeHtml(s.label)}</th>`;
    html += "</tr></thead><tbody>";
    for (const y of years) {
      html += `<tr data-year="${y}"><th scope="row">${y}</th>`;
      for (const s of scopes) html += `<td class="num" data-scope="${s.key}">${fmtValue(valueOf(s, y), body.unit)}</td>`;
      html += "</tr>";
    }
    fig.querySelector(".chart-table-body").innerHTML = html + "</tbody></table>";
    const prov = body.provenance;
    let text = `Område: ${prov.area}.`;
    if (prov.derived) text += ` Kommun och riket: ${prov.derived}.`;
    if (prov.approximation) text += " Ungefärligt värde.";
    if (prov.note) text += ` ${prov.note}`;
    if (asIndex) text += ` Diagrammet visar index (${years[0]} = 100) för att kunna jämföra nivåer av olika storlek; tabellen visar antalen.`;
    fig.querySelector(".chart-prov").textContent = text;
  }

  async function areaCharts(cfg) {
    await Promise.all(cfg.indicators.map(async (item) => {
      const params = new URLSearchParams({indicator: item.id, division: cfg.division});
      try {
        const r = await fetch(`/api/v1/areas/${encodeURIComponent(cfg.code)}/series?${params}`, {headers: {Accept: "application/json"}});
        if (!r.ok) throw new Error(`${item.id}: ${r.status}`);
        areaChart(cfg, item, await r.json());
      } catch (err) {
        state.errors.push(String(err));
        const fig = document.getElementById(`area-chart-${item.id}`).closest("figure");
        fig.querySelector(".chart-prov").textContent = "Diagrammet kunde inte hämtas; se tabellen Nyckeltal ovan.";
      }
    }));
  }

  // --- start ---------------------------------------------------------------------------------------------

  async function start() {
    const kommunData = document.getElementById("kommun-charts");
    if (kommunData) {
      const data = JSON.parse(kommunData.textContent);
      typesChart(data);
      segregationChart(data);
      shareChart(data);
    }
    const areaCfg = document.getElementById("area-charts-config");
    if (areaCfg) await areaCharts(JSON.parse(areaCfg.textContent));
    state.ready = true;
    document.body.dataset.chartsReady = "1";
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
