/* "Tourisme durable": offline SVG charts (no library, nothing fetched outside the hub). */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var fmt = new Intl.NumberFormat("fr-FR", {maximumFractionDigits: 2});
  function el(tag, attrs, parent, text) {
    var n = tag.indexOf("svg:") === 0 ? document.createElementNS(NS, tag.slice(4)) : document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { n.setAttribute(k, attrs[k]); });
    if (text !== undefined) n.textContent = text;
    if (parent) parent.appendChild(n);
    return n;
  }
  function value(v, unit) { return v === null || v === undefined ? "secret statistique / n.d." : fmt.format(v) + " " + unit; }
  function trend(box, ind) {
    var pts = ind.trend.filter(function (p) { return p.value !== null; });
    var W = 420, H = 140, svg = el("svg:svg", {viewBox: "0 0 " + W + " " + H, width: W, height: H}, box);
    if (!pts.length) { el("svg:text", {x: 10, y: 70}, svg, "pas de donnée publiable"); return 0; }
    var max = Math.max.apply(null, pts.map(function (p) { return p.value; })) || 1;
    var years = {}; pts.forEach(function (p) { (years[p.year] = years[p.year] || []).push(p); });
    var colors = ["#9aa5b1", "#1f5fa8", "#c0392b"], i = 0;
    Object.keys(years).sort().forEach(function (y) {
      var ps = years[y], d = ps.map(function (p, k) {
        var x = 30 + (ps.length > 1 ? k * (W - 40) / (ps.length - 1) : (W - 40) / 2), yy = H - 20 - p.value / max * (H - 35);
        return (k ? "L" : "M") + x.toFixed(1) + " " + yy.toFixed(1);
      }).join(" ");
      el("svg:path", {d: d, fill: "none", stroke: colors[i % 3], "stroke-width": 2}, svg);
      ps.forEach(function (p, k) {
        var x = 30 + (ps.length > 1 ? k * (W - 40) / (ps.length - 1) : (W - 40) / 2), yy = H - 20 - p.value / max * (H - 35);
        el("svg:title", {}, el("svg:circle", {cx: x, cy: yy, r: 2.5, fill: colors[i % 3]}, svg), p.period + " : " + value(p.value, ind.unit));
      });
      el("svg:text", {x: W - 60, y: 12 + 12 * i, fill: colors[i % 3], "font-size": 11}, svg, y);
      i++;
    });
    return pts.length;
  }
  function regions(box, ind) {
    var rows = ind.regions.slice(0, 13), W = 420, H = 16 * rows.length + 10;
    var svg = el("svg:svg", {viewBox: "0 0 " + W + " " + H, width: W, height: H, "class": "regions"}, box);
    var max = Math.max.apply(null, rows.map(function (r) { return r.value || 0; })) || 1;
    rows.forEach(function (r, k) {
      var y = 5 + 16 * k;
      el("svg:text", {x: 0, y: y + 11, "font-size": 10}, svg, r.label.slice(0, 24));
      if (r.value === null) { el("svg:text", {x: 160, y: y + 11, "font-size": 10, "class": "secret-lib"}, svg, "secret statistique"); return; }
      el("svg:title", {}, el("svg:rect", {x: 160, y: y, width: Math.max(1, r.value / max * 200), height: 12, fill: "#1f5fa8"}, svg), value(r.value, ind.unit));
      el("svg:text", {x: 365, y: y + 11, "font-size": 10}, svg, fmt.format(r.value));
    });
    return rows.length;
  }
  function card(grid, ind, data) {
    var c = el("article", {"class": "carte", id: "c-" + ind.id}, grid);
    el("h3", {}, c, ind.label + " — " + data.geo_label);
    el("p", {"class": "kpi"}, c, data.year + " : " + value(ind.value, ind.unit) +
       (ind.base_value !== null ? " (référence " + data.base_year + " : " + value(ind.base_value, ind.unit) + ")" : ""));
    var n = trend(el("div", {"class": "graphe tendance"}, c), ind);
    el("h4", {}, c, "Comparaison des régions (" + data.year + ")");
    var m = regions(el("div", {"class": "graphe regions"}, c), ind);
    c.setAttribute("data-points", String(n + m));
    var f = el("footer", {}, c);
    el("p", {}, f, "Définition : " + ind.definition + " Unité : " + ind.unit + ". Formule : " + ind.formula + ".");
    el("p", {}, f, "Source : " + ind.sources.join(" ; ") + (ind.framework ? " · Référentiel : " + ind.framework : "") +
       " · Instantané " + data.run.snapshot.id + ", calcul n° " + data.run.run + ".");
  }
  function render(data) {
    document.getElementById("source-globale").textContent = "Données SYNTHÉTIQUES de démonstration · instantané " +
      data.run.snapshot.id + " · année " + data.year + ", référence " + data.base_year;
    data.pillars.forEach(function (p) {
      var sec = document.getElementById("p-" + p.id), grid = sec.querySelector(".grille");
      grid.innerHTML = "";
      var total = 0;
      p.indicators.forEach(function (ind) { card(grid, ind, data); total += ind.trend.length; });
      sec.setAttribute("data-points", String(total));
    });
  }
  function load() {
    var region = document.getElementById("f-region").value;
    document.body.setAttribute("data-state", "loading");
    document.getElementById("etat").textContent = "Chargement…";
    fetch("/api/tourisme-durable" + (region ? "?region=" + encodeURIComponent(region) : ""), {credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) {
        var sel = document.getElementById("f-region");
        if (sel.options.length === 1) data.regions.forEach(function (r) { el("option", {value: r.code}, sel, r.label); });
        render(data);
        document.getElementById("etat").textContent = "";
        document.body.setAttribute("data-state", "ready");
      })
      .catch(function (e) { document.getElementById("etat").textContent = "Erreur : " + e.message; document.body.setAttribute("data-state", "error"); });
  }
  document.getElementById("f-region").addEventListener("change", load);
  load();
})();
