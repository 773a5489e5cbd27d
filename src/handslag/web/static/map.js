/* Handslag: choropleth of a municipality's DeSO/RegSO areas with the Police-list areas as outlines. */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const TYPE_COLORS = {1: "#a50026", 2: "#f46d43", 3: "#fee08b", 4: "#66bd63", 5: "#006837"};
  const POLICE_COLORS = {sarskilt_utsatt: "#000000", risk: "#6a3d9a", utsatt: "#1f78b4"};
  const NO_DATA = "#d9d9d9";
  const form = document.getElementById("map-controls");
  const indicatorSelect = document.getElementById("indicator");
  const editionSelect = document.getElementById("edition");
  const legend = document.getElementById("legend");
  const metaLine = document.getElementById("map-meta");
  const yearInput = document.getElementById("year");
  const yearLabel = document.getElementById("year-label");
  // year: the chosen year (null = the newest); years: what the slider steps through for the current view;
  // typeSeries: official types of the kommun's RegSO2020 areas for every year (for area types of other years)
  const state = {loaded: false, areasFetched: 0, policeFetched: 0, features: 0, meta: null,
                 year: null, years: [], typeSeries: null, request: 0};
  window.handslagMapState = state;

  const map = new maplibregl.Map({
    container: "map",
    style: {version: 8, sources: {},
            layers: [{id: "background", type: "background", paint: {"background-color": "#eef2f3"}}]},
    center: [15, 62], zoom: 4, attributionControl: false, preserveDrawingBuffer: true,
  });
  window.handslagMap = map;
  map.addControl(new maplibregl.NavigationControl({showCompass: false}), "top-right");
  map.addControl(new maplibregl.AttributionControl({customAttribution: "Geometrier: SCB, Polisen"}));

  function selected() {
    const radio = form.querySelector("input[name=division]:checked");
    return {division: radio.value, level: radio.dataset.level, indicator: indicatorSelect.value,
            edition: editionSelect.value};
  }

  function fillIndicators(keep) {
    const {division} = selected();
    const items = config.indicators[division] || [];
    indicatorSelect.innerHTML = "";
    const opt = new Option("Områdestyp (SCB, officiell)", "area_type");
    indicatorSelect.add(opt);
    for (const it of items) {
      if (it.id === "area_type") continue;
      indicatorSelect.add(new Option(`${it.name} (${it.years[it.years.length - 1]})`, it.id));
    }
    const want = keep || "area_type";
    indicatorSelect.value = [...indicatorSelect.options].some((o) => o.value === want) ? want : "area_type";
  }

  // --- year slider: an index into the years that the chosen indicator (or the area types) has ----------
  function yearsFor(s) {
    if (s.indicator === "area_type") {
      if (state.typeSeries && state.typeSeries.years.length) return state.typeSeries.years;
      return state.meta && state.meta.type_year ? [state.meta.type_year] : [];
    }
    const it = (config.indicators[s.division] || []).find((i) => i.id === s.indicator);
    return it ? it.years : [];
  }

  function syncSlider() {
    const years = yearsFor(selected());
    state.years = years;
    if (!years.length) {
      state.year = null;
      yearInput.min = 0; yearInput.max = 0; yearInput.value = 0; yearInput.disabled = true;
      yearInput.setAttribute("aria-valuetext", "inget år");
      yearLabel.textContent = "–";
      return;
    }
    if (state.year === null || !years.includes(state.year)) state.year = years[years.length - 1];
    yearInput.min = 0;
    yearInput.max = years.length - 1;
    yearInput.value = years.indexOf(state.year);
    yearInput.disabled = years.length < 2;
    showYear();
  }

  function showYear() {
    const y = state.years[Number(yearInput.value)];
    yearLabel.textContent = y ?? "–";
    yearInput.setAttribute("aria-valuetext", y ? String(y) : "inget år");
    return y;
  }

  async function loadTypeSeries() {
    try {
      const r = await fetch(`/api/v1/kommuner/${config.kommun}/type-series`, {headers: {Accept: "application/json"}});
      if (r.ok) state.typeSeries = await r.json();
    } catch (err) { state.typeSeries = null; }
  }

  // The GeoJSON carries the newest official type; for another year take the type of the same RegSO2020
  // area (the feature's own code on RegSO2020, else the RegSO2020 code named in type_via).
  function applyTypeYear(data, year) {
    const ts = state.typeSeries;
    if (!ts || !ts.types[String(year)]) return;
    const types = ts.types[String(year)];
    const via = new RegExp(`^${ts.division} (\\S+)`);
    for (const f of data.features) {
      const p = f.properties;
      const m = via.exec(p.type_via || "");
      const regso = p.division === ts.division ? p.code : (m ? m[1] : null);
      const t = regso ? types[regso] ?? null : null;
      p.type = t;
      p.type_label = t ? config.typeLabels[t] : null;
    }
    data.meta.type_year = year;
    data.meta.year = year;
  }

  function fmt(v) {
    if (v === null || v === undefined) return "saknas";
    return Number(v).toLocaleString("sv-SE", {maximumFractionDigits: 1});
  }

  function fillColor(meta) {
    if (meta.indicator === "area_type") {
      const expr = ["match", ["coalesce", ["get", "type"], 0]];
      for (const t of [1, 2, 3, 4, 5]) expr.push(t, TYPE_COLORS[t]);
      expr.push(NO_DATA);
      return expr;
    }
    const lo = meta.min ?? 0, hi = meta.max ?? 1;
    if (hi <= lo) return ["case", ["==", ["get", "value"], null], NO_DATA, "#4292c6"];
    return ["case", ["==", ["coalesce", ["get", "value"], -1e99], -1e99], NO_DATA,
            ["interpolate", ["linear"], ["get", "value"], lo, "#deebf7", (lo + hi) / 2, "#6baed6", hi, "#08306b"]];
  }

  function renderLegend(meta) {
    let html = "";
    if (meta.indicator === "area_type") {
      html += `<h3>Områdestyp ${meta.type_year ?? ""}</h3><ul>`;
      for (const t of [1, 2, 3, 4, 5]) {
        html += `<li><span class="swatch" style="background:${TYPE_COLORS[t]}"></span>${t} – ${config.typeLabels[t]}</li>`;
      }
      html += `<li><span class="swatch" style="background:${NO_DATA}"></span>Uppgift saknas</li></ul>`;
    } else {
      const opt = indicatorSelect.options[indicatorSelect.selectedIndex];
      const name = opt ? opt.text.replace(/ \(\d{4}\)$/, "") : meta.indicator;
      html += `<h3>${name}${meta.year ? ` ${meta.year}` : ""}</h3>`;
      html += `<div class="ramp"></div><div class="ramp-labels"><span>${fmt(meta.min)}</span><span>${fmt(meta.max)}</span></div>`;
      html += `<ul><li><span class="swatch" style="background:${NO_DATA}"></span>Uppgift saknas eller prickad</li></ul>`;
    }
    html += `<h3>Polisens lista ${editionSelect.value}</h3><ul>`;
    for (const lvl of ["sarskilt_utsatt", "risk", "utsatt"]) {
      html += `<li><span class="swatch outline" style="border-color:${POLICE_COLORS[lvl]}"></span>${config.policeLabels[lvl]}</li>`;
    }
    legend.innerHTML = html + "</ul>";
    metaLine.textContent = `${meta.features} områden, ${meta.division}. Källa: ${meta.source ?? "–"}` +
      (meta.year ? `, år ${meta.year}` : "") + `. Förenklade gränser (tolerans ${meta.tolerance_m} m).`;
  }

  async function fetchJSON(url) {
    const r = await fetch(url, {headers: {Accept: "application/geo+json"}});
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return r.json();
  }

  async function loadAreas(fit) {
    const s = selected();
    const params = new URLSearchParams({level: s.level, division: s.division});
    if (s.indicator && s.indicator !== "area_type") params.set("indicator", s.indicator);
    if (state.year !== null && s.indicator !== "area_type") params.set("year", state.year);
    const request = ++state.request;
    const data = await fetchJSON(`/api/v1/kommuner/${config.kommun}/map?${params}`);
    if (request !== state.request) return; // a newer choice was made while this one loaded
    if (s.indicator === "area_type" && state.year !== null) applyTypeYear(data, state.year);
    state.areasFetched += 1;
    state.features = data.features.length;
    state.meta = data.meta;
    const src = map.getSource("areas");
    if (src) src.setData(data); else {
      map.addSource("areas", {type: "geojson", data});
      map.addLayer({id: "areas-fill", type: "fill", source: "areas",
                    paint: {"fill-color": NO_DATA, "fill-opacity": 0.8}});
      map.addLayer({id: "areas-line", type: "line", source: "areas",
                    paint: {"line-color": "#ffffff", "line-width": 0.6}});
      map.addLayer({id: "areas-hover", type: "line", source: "areas",
                    paint: {"line-color": "#222", "line-width": ["case", ["boolean", ["feature-state", "hover"], false], 2.5, 0]}});
    }
    map.setPaintProperty("areas-fill", "fill-color", fillColor(data.meta));
    renderLegend(data.meta);
    if (fit && data.bbox) map.fitBounds([[data.bbox[0], data.bbox[1]], [data.bbox[2], data.bbox[3]]], {padding: 20, duration: 0});
  }

  async function loadPolice() {
    const data = await fetchJSON(`/api/v1/kommuner/${config.kommun}/police-map?edition=${editionSelect.value}`);
    state.policeFetched += 1;
    const src = map.getSource("police");
    if (src) { src.setData(data); return; }
    map.addSource("police", {type: "geojson", data});
    map.addLayer({id: "police-line", type: "line", source: "police", paint: {
      "line-color": ["match", ["get", "level"], "sarskilt_utsatt", POLICE_COLORS.sarskilt_utsatt,
                     "risk", POLICE_COLORS.risk, POLICE_COLORS.utsatt],
      "line-width": ["match", ["get", "level"], "sarskilt_utsatt", 3.5, 2.5]}});
  }

  const popup = new maplibregl.Popup({closeButton: false, closeOnClick: false, className: "hs-tooltip"});
  let hovered = null;
  function tooltip(p) {
    let html = `<strong>${p.name || p.code}</strong> <span class="code">${p.code}</span><br>`;
    html += p.type ? `Områdestyp ${p.type}: ${p.type_label}<br>` : "Områdestyp saknas<br>";
    if (state.meta && state.meta.indicator !== "area_type") html += `Värde: ${fmt(p.value)}<br>`;
    if (p.police_label) html += `Polisens lista ${state.meta.police_edition}: ${p.police_label} (${p.police_name})`;
    return html;
  }

  map.on("load", async () => {
    fillIndicators(config.initialIndicator);
    await loadTypeSeries();
    syncSlider();
    await Promise.all([loadAreas(true), loadPolice()]);
    syncSlider();
    map.on("mousemove", "areas-fill", (e) => {
      const f = e.features[0];
      map.getCanvas().style.cursor = "pointer";
      if (hovered !== null) map.setFeatureState({source: "areas", id: hovered}, {hover: false});
      hovered = f.id;
      map.setFeatureState({source: "areas", id: hovered}, {hover: true});
      popup.setLngLat(e.lngLat).setHTML(tooltip(f.properties)).addTo(map);
    });
    map.on("mouseleave", "areas-fill", () => {
      map.getCanvas().style.cursor = "";
      if (hovered !== null) map.setFeatureState({source: "areas", id: hovered}, {hover: false});
      hovered = null;
      popup.remove();
    });
    map.on("click", "areas-fill", (e) => {
      const p = e.features[0].properties;
      window.location.href = `/omrade/${encodeURIComponent(p.code)}?division=${encodeURIComponent(p.division)}`;
    });
    map.once("idle", () => { state.loaded = true; document.body.dataset.mapReady = "1"; });
  });

  yearInput.addEventListener("input", showYear);
  form.addEventListener("change", (e) => {
    if (e.target.name === "division") { fillIndicators(indicatorSelect.value); syncSlider(); loadAreas(true); }
    else if (e.target.name === "indicator") { syncSlider(); loadAreas(false); }
    else if (e.target.name === "year") {
      const y = showYear();
      if (y !== undefined && y !== state.year) { state.year = y; loadAreas(false); }
    }
    else if (e.target.name === "edition") { loadPolice(); if (state.meta) renderLegend(state.meta); }
  });
})();
