/* Baromètre des campings — tableau de bord du hub.
 *
 * Dessine les graphiques en SVG à partir de /api/barometre/tableau, sans bibliothèque ni ressource externe.
 * Chaque valeur arrive comme une case {v, s} : s = "published" (valeur), "suppressed" (secret statistique, jamais
 * dessinée comme un zéro) ou "absent" (aucun camping ouvert). Chaque graphique porte data-points (valeurs publiées)
 * et data-suppressed (cases masquées), et nomme son instantané et sa définition.
 */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var SECRET = "secret statistique";
  var C = { n: "#1f5fbf", otb: "#5b8fdc", n1: "#9aa5b5", pitch: "#2f8f6b", rental: "#c2703d", all: "#1f5fbf" };
  var RULES = { frequency: "moins de 3 campings", dominance: "un camping au-delà de 85 %", persons: "moins de 11 réservations",
                secondary: "suppression secondaire", linked: "case liée masquée" };
  var pct = new Intl.NumberFormat("fr-FR", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
  var pct0 = new Intl.NumberFormat("fr-FR", { style: "percent", maximumFractionDigits: 0 });
  var num = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 0 });
  var dec1 = new Intl.NumberFormat("fr-FR", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  var signed1 = new Intl.NumberFormat("fr-FR", { minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: "exceptZero" });

  var state = { options: null, run: null, seq: 0 };

  // -- small helpers ------------------------------------------------------------------------------------------------
  function svg(tag, attrs, parent, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) { if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]); }
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in (attrs || {})) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function tip(node, text) { svg("title", {}, node, text); }
  function ruleText(cell) {
    var t = "Secret statistique" + (cell.r ? " (" + (RULES[cell.r] || cell.r) + ")" : "");
    return cell.f ? t + " — voir " + cell.f : t;
  }
  function show(cell, f) {
    if (cell.s === "published") return f(cell.v);
    return cell.s === "suppressed" ? SECRET : "—";
  }
  function cellNode(cell, f, signedClass) {
    if (cell.s === "suppressed") {
      var s = html("span", { "class": "secret", "data-cell": "suppressed", title: ruleText(cell) }, SECRET);
      return s;
    }
    var e = html("span", { "data-cell": cell.s }, show(cell, f));
    if (signedClass && cell.s === "published" && cell.v !== 0) e.className = cell.v > 0 ? "hausse" : "baisse";
    return e;
  }
  function count(cells) {
    var p = 0, s = 0;
    cells.forEach(function (c) { if (c.s === "published") p++; else if (c.s === "suppressed") s++; });
    return { p: p, s: s };
  }
  function mark(card, cells) {
    var n = count(cells);
    card.setAttribute("data-points", n.p);
    card.setAttribute("data-suppressed", n.s);
  }
  function hatch(root) {
    var defs = svg("defs", {}, root);
    var p = svg("pattern", { id: "hachure", width: 5, height: 5, patternUnits: "userSpaceOnUse",
                             patternTransform: "rotate(45)" }, defs);
    svg("rect", { width: 5, height: 5, fill: "#fff" }, p);
    svg("line", { x1: 0, y1: 0, x2: 0, y2: 5, stroke: "#c4cad4", "stroke-width": 2 }, p);
  }
  function niceMax(v) {
    if (!(v > 0)) return 1;
    var steps = [0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000];
    var top = v * 1.1;
    for (var i = 0; i < steps.length; i++) { if (steps[i] * 4 >= top) return steps[i] * 4; }
    return Math.ceil(top);
  }
  function legend(card, items) {
    var box = card.querySelector(".legende");
    if (!box) return;
    box.textContent = "";
    items.forEach(function (it) {
      var s = html("span", { "class": it.cls || "", style: "--c:" + (it.color || "#999") }, it.label);
      box.appendChild(s);
    });
  }
  function footer(card, definition) {
    var f = card.querySelector("footer");
    f.textContent = "";
    var r = state.run;
    var when = r.finished_at ? new Date(r.finished_at).toLocaleString("fr-FR", { dateStyle: "short", timeStyle: "short" }) : "";
    var snap = new Date(r.snapshot_date + "T00:00:00").toLocaleDateString("fr-FR");
    f.appendChild(html("span", { "class": "snap" }, "Instantané du " + snap));
    f.appendChild(document.createTextNode(" · calcul n° " + r.id + (when ? " du " + when : "") + " · " + definition));
    card.setAttribute("data-snapshot", r.snapshot_date);
  }

  // -- charts -------------------------------------------------------------------------------------------------------
  /* Line chart over ISO weeks; series: [{label, color, dash, points: [{x, v, s, r}]}]. */
  function lineChart(box, series, selected) {
    var W = 1200, H = 300, L = 46, R = 14, T = 14, B = 30;
    box.textContent = "";
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img" }, box);
    var xs = [], maxV = 0;
    series.forEach(function (s) { s.points.forEach(function (p) { xs.push(p.x); if (p.s === "published") maxV = Math.max(maxV, p.v); }); });
    if (!xs.length) { svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, root, "Aucune donnée"); return; }
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), top = niceMax(maxV);
    function X(x) { return L + (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (W - L - R); }
    function Y(v) { return T + (1 - v / top) * (H - T - B); }
    for (var i = 0; i <= 4; i++) {
      var v = top * i / 4;
      svg("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), "class": i ? "grille-h" : "axe" }, root);
      svg("text", { x: L - 6, y: Y(v) + 4, "text-anchor": "end" }, root, pct0.format(v));
    }
    for (var w = x0; w <= x1; w++) {
      if ((w - x0) % 4 === 0 || w === x1) svg("text", { x: X(w), y: H - 10, "text-anchor": "middle" }, root, "S" + w);
    }
    if (selected >= x0 && selected <= x1) {
      svg("line", { x1: X(selected), x2: X(selected), y1: T, y2: H - B, stroke: "#13233f", "stroke-dasharray": "3 3",
                    "stroke-width": 1, opacity: 0.55, "class": "semaine-choisie" }, root);
    }
    series.forEach(function (s) {
      var d = "", open = false;
      s.points.forEach(function (p) {
        if (p.s === "published") { d += (open ? "L" : "M") + X(p.x).toFixed(1) + " " + Y(p.v).toFixed(1); open = true; }
        else open = false;
      });
      if (d) svg("path", { d: d, fill: "none", stroke: s.color, "stroke-width": 2.2, "stroke-dasharray": s.dash || null,
                           "stroke-linejoin": "round" }, root);
      s.points.forEach(function (p) {
        if (p.s === "published") {
          var c = svg("circle", { cx: X(p.x), cy: Y(p.v), r: 2.6, fill: s.color }, root);
          tip(c, s.label + " · S" + p.x + " : " + pct.format(p.v) + (p.n ? " (" + p.n + " campings)" : ""));
        } else if (p.s === "suppressed") {
          var m = svg("path", { d: "M" + (X(p.x) - 3) + " " + (H - B - 3) + "l6 6m0 -6l-6 6", stroke: "#7a8394",
                                "stroke-width": 1.3, "class": "secret-pt" }, root);
          tip(m, s.label + " · S" + p.x + " : " + ruleText(p));
        }
      });
    });
  }

  /* Horizontal grouped bars; rows: [{label, strong, cells: [cell per key]}], keys: [{label, color}]. */
  function hBars(box, rows, keys, f, opts) {
    opts = opts || {};
    var W = 560, L = opts.left || 170, R = 96, bh = 12, gap = 3, rowGap = 9, T = 6;
    var rowH = keys.length * (bh + gap) - gap + rowGap;
    var H = T + rows.length * rowH + 6;
    box.textContent = "";
    var root = svg("svg", { viewBox: "0 0 " + W + " " + Math.max(H, 30), role: "img" }, box);
    hatch(root);
    var maxV = opts.max || 0;
    if (!opts.max) rows.forEach(function (r) { r.cells.forEach(function (c) { if (c.s === "published") maxV = Math.max(maxV, c.v); }); });
    if (!(maxV > 0)) maxV = 1;
    var span = W - L - R;
    svg("line", { x1: L, x2: L, y1: T - 2, y2: H - 4, "class": "axe" }, root);
    rows.forEach(function (r, i) {
      var y = T + i * rowH;
      var lab = svg("text", { x: L - 8, y: y + (rowH - rowGap) / 2 + 4, "text-anchor": "end",
                              "font-weight": r.strong ? 700 : null }, root, r.label);
      if (r.strong) lab.setAttribute("fill", "#13233f");
      r.cells.forEach(function (c, k) {
        var yy = y + k * (bh + gap);
        if (c.s === "published") {
          var w = Math.max(1, c.v / maxV * span);
          var b = svg("rect", { x: L, y: yy, width: w, height: bh, fill: keys[k].color, rx: 2 }, root);
          tip(b, keys[k].label + " · " + r.label + " : " + f(c.v));
          svg("text", { x: L + w + 5, y: yy + bh - 2 }, root, f(c.v));
        } else if (c.s === "suppressed") {
          var s = svg("rect", { x: L, y: yy, width: 26, height: bh, fill: "url(#hachure)", stroke: "#c4cad4",
                                "class": "secret-barre" }, root);
          tip(s, keys[k].label + " · " + r.label + " : " + ruleText(c));
          svg("text", { x: L + 32, y: yy + bh - 2, "class": "secret-lib" }, root, SECRET);
        } else {
          svg("text", { x: L + 6, y: yy + bh - 2 }, root, "—");
        }
      });
    });
  }

  /* Vertical grouped bars; cats: [{label, sub, cells: [cell per series]}], keys: [{label, color}]. */
  function vBars(box, cats, keys, f, axisF) {
    var W = 560, H = 250, L = 44, R = 8, T = 12, B = cats.some(function (c) { return c.sub; }) ? 42 : 28;
    box.textContent = "";
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img" }, box);
    hatch(root);
    var maxV = 0;
    cats.forEach(function (c) { c.cells.forEach(function (x) { if (x.s === "published") maxV = Math.max(maxV, x.v); }); });
    var top = niceMax(maxV);
    function Y(v) { return T + (1 - v / top) * (H - T - B); }
    for (var i = 0; i <= 4; i++) {
      var v = top * i / 4;
      svg("line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), "class": i ? "grille-h" : "axe" }, root);
      svg("text", { x: L - 6, y: Y(v) + 4, "text-anchor": "end" }, root, (axisF || f)(v));
    }
    var slot = (W - L - R) / cats.length, inner = slot * 0.72, bw = inner / keys.length;
    cats.forEach(function (c, j) {
      var x0 = L + j * slot + (slot - inner) / 2;
      svg("text", { x: L + j * slot + slot / 2, y: H - B + 14, "text-anchor": "middle" }, root, c.label);
      if (c.sub) svg("text", { x: L + j * slot + slot / 2, y: H - B + 28, "text-anchor": "middle", fill: "#8a94a6" }, root, c.sub);
      c.cells.forEach(function (x, k) {
        var bx = x0 + k * bw;
        if (x.s === "published") {
          var b = svg("rect", { x: bx + 1, y: Y(x.v), width: bw - 2, height: Math.max(0.5, Y(0) - Y(x.v)), fill: keys[k].color, rx: 1.5 }, root);
          tip(b, keys[k].label + " · " + c.label + " : " + f(x.v));
        } else if (x.s === "suppressed") {
          var s = svg("rect", { x: bx + 1, y: T, width: bw - 2, height: Y(0) - T, fill: "url(#hachure)", opacity: 0.7,
                                "class": "secret-barre" }, root);
          tip(s, keys[k].label + " · " + c.label + " : " + ruleText(x));
        } else {
          svg("text", { x: bx + bw / 2, y: Y(0) - 4, "text-anchor": "middle", fill: "#a0a8b6" }, root, "—");
        }
      });
    });
  }

  // -- cards --------------------------------------------------------------------------------------------------------
  function card(id, chart) {
    var el = document.getElementById("c-" + id);
    el.querySelector("h2").textContent = chart.title;
    footer(el, chart.definition);
    return el;
  }

  function drawOccupancy(ch, week) {
    var el = card("occupancy", ch);
    var look = { N: { color: C.n }, N_otb: { color: C.otb, dash: "6 4" }, N1: { color: C.n1 } };
    var series = ch.series.map(function (s) { return { label: s.label, points: s.points, color: look[s.key].color, dash: look[s.key].dash }; });
    // the on-the-books line starts where the realised one ends
    var n = series[0].points, otb = series[1].points;
    if (n.length && otb.length && n[n.length - 1].s === "published") series[1] = Object.assign({}, series[1], { points: [n[n.length - 1]].concat(otb) });
    lineChart(el.querySelector(".graphe"), series, ch.week);
    mark(el, [].concat.apply([], ch.series.map(function (s) { return s.points; })));
    legend(el, [{ label: ch.series[0].label, color: C.n }, { label: ch.series[1].label, color: C.otb, cls: "pointille" },
                { label: ch.series[2].label, color: C.n1 }, { label: "✕ " + SECRET, color: "transparent" }]);
  }

  function drawOnTheBooks(ch) {
    var el = card("on_the_books", ch);
    var cats = ch.points.map(function (p) {
      return { label: "S" + p.x, sub: p.panel.s === "published" ? "n=" + p.panel.v : (p.panel.s === "suppressed" ? "s.s." : ""),
               cells: [p.n, p.n1] };
    });
    vBars(el.querySelector(".graphe"), cats, [{ label: ch.labels.n, color: C.n }, { label: ch.labels.n1, color: C.n1 }],
          function (v) { return pct.format(v); }, function (v) { return pct0.format(v); });
    mark(el, [].concat.apply([], cats.map(function (c) { return c.cells; })));
    legend(el, [{ label: ch.labels.n, color: C.n }, { label: ch.labels.n1, color: C.n1 },
                { label: "n = panel (campings)", color: "transparent" }, { label: SECRET, cls: "hachure" }]);
  }

  function drawRegions(ch) {
    var el = card("regions", ch);
    var rows = ch.rows.map(function (r) {
      var n = r.panel.s === "published" ? " (n=" + num.format(r.panel.v) + ")" : "";
      return { label: r.name + n, strong: r.selected, cells: [r.n, r.n1] };
    });
    hBars(el.querySelector(".graphe"), rows, [{ label: ch.labels.n, color: C.n }, { label: ch.labels.n1, color: C.n1 }],
          function (v) { return pct.format(v); }, { left: 215 });
    mark(el, [].concat.apply([], rows.map(function (r) { return r.cells; })));
    legend(el, [{ label: ch.labels.n, color: C.n }, { label: ch.labels.n1, color: C.n1 },
                { label: "n = panel (campings)", color: "transparent" }, { label: SECRET, cls: "hachure" }]);
  }

  function drawPace(ch, geo) {
    var el = card("pace", ch);
    var box = el.querySelector(".graphe");
    box.textContent = "";
    var t = html("table", { "class": "rythme", id: "table-rythme" });
    var head = html("tr");
    ["Territoire", "Panel (campings)", "TO à date N", "TO à date N-1", "Écart (points)", "Nuitées réservées vs N-1"].forEach(function (h) {
      head.appendChild(html("th", {}, h));
    });
    t.appendChild(head);
    var cells = [];
    ch.rows.forEach(function (r) {
      var tr = html("tr", { "class": "niv" + r.level + (r.code === geo && geo !== "FR" ? " choisie" : ""), "data-geo": r.code });
      tr.appendChild(html("td", {}, r.name + (r.level === 2 ? "" : "")));
      [[r.panel, function (v) { return num.format(v); }], [r.otb, function (v) { return pct.format(v); }],
       [r.otb_ly, function (v) { return pct.format(v); }], [r.points, function (v) { return signed1.format(v) + " pt"; }, true],
       [r.pct, function (v) { return signed1.format(v) + " %"; }, true]].forEach(function (x) {
        var td = html("td");
        td.appendChild(cellNode(x[0], x[1], x[2]));
        tr.appendChild(td);
        cells.push(x[0]);
      });
      t.appendChild(tr);
    });
    box.appendChild(t);
    mark(el, cells);
  }

  function drawCountries(ch) {
    var el = card("country_mix", ch);
    var rows = ch.rows.slice(0, 12).map(function (r) { return { label: r.name, cells: [r] }; });
    var box = el.querySelector(".graphe");
    box.textContent = "";
    var head = html("p", { "class": "kpi-ligne" });
    head.appendChild(document.createTextNode("Part de la clientèle étrangère dans les nuitées : "));
    var strong = html("strong");
    strong.appendChild(cellNode(ch.foreign_share, function (v) { return pct.format(v); }));
    head.appendChild(strong);
    box.appendChild(head);
    var g = html("div");
    box.appendChild(g);
    hBars(g, rows, [{ label: "Part des nuitées étrangères", color: C.n }], function (v) { return pct.format(v); }, { left: 130 });
    mark(el, rows.map(function (r) { return r.cells[0]; }).concat([ch.foreign_share]));
    legend(el, [{ label: "Part des nuitées de la clientèle étrangère", color: C.n }, { label: SECRET, cls: "hachure" }]);
  }

  function drawStayLead(ch) {
    var el = card("stay_lead", ch);
    var box = el.querySelector(".graphe");
    box.textContent = "";
    var colors = { PITCH: C.pitch, RENTAL: C.rental, ALL: C.all };
    box.appendChild(html("h3", { "class": "sous-titre" }, "Durée moyenne de séjour (nuits)"));
    var a = html("div");
    box.appendChild(a);
    hBars(a, ch.length_of_stay.map(function (u) { return { label: u.label, cells: [u] }; }),
          [{ label: "Durée moyenne de séjour", color: C.n }], function (v) { return dec1.format(v) + " nuits"; }, { left: 130 });
    box.appendChild(html("h3", { "class": "sous-titre" }, "Délai de réservation (part des arrivées)"));
    var b = html("div");
    box.appendChild(b);
    var units = ch.lead_time.filter(function (u) { return u.unit !== "ALL"; });
    vBars(b, ch.buckets.map(function (bk, i) { return { label: bk.label, cells: units.map(function (u) { return u.values[i]; }) }; }),
          units.map(function (u) { return { label: u.label, color: colors[u.unit] }; }),
          function (v) { return pct.format(v); }, function (v) { return pct0.format(v); });
    var cells = ch.length_of_stay.slice();
    units.forEach(function (u) { cells = cells.concat(u.values); });
    mark(el, cells);
    legend(el, units.map(function (u) { return { label: u.label, color: colors[u.unit] }; }).concat([{ label: SECRET, cls: "hachure" }]));
  }

  function drawKpis(data) {
    var k = data.kpis, box = document.getElementById("kpis");
    box.textContent = "";
    var realised = k.basis === "realised";
    function tile(lib, cell, f, cmp, id) {
      var t = html("div", { "class": "kpi", id: id });
      t.appendChild(html("div", { "class": "lib" }, lib));
      var v = html("div", { "class": "val" });
      v.appendChild(cellNode(cell, f));
      t.appendChild(v);
      if (cmp) t.appendChild(cmp);
      box.appendChild(t);
    }
    var cmp = html("div", { "class": "cmp" });
    if (realised) cmp.textContent = "N-1 : " + show(k.occupancy_ly, function (v) { return pct.format(v); });
    else cmp.textContent = "à date au " + new Date(state.run.snapshot_date + "T00:00:00").toLocaleDateString("fr-FR");
    tile("Taux d'occupation " + (realised ? "réalisé" : "à date"), k.occupancy, function (v) { return pct.format(v); }, cmp, "kpi-to");
    var pc = html("div", { "class": "cmp" }, "panel constant : " + show(k.panel, function (v) { return num.format(v) + " campings"; }));
    tile("Écart à date vs N-1", k.pace_points, function (v) { return signed1.format(v) + " pt"; }, pc, "kpi-ecart");
    tile("Prise de réservations (7 j)", k.pickup, function (v) { return (v > 0 ? "+" : "") + num.format(v); },
         html("div", { "class": "cmp" }, "nuitées-unités"), "kpi-pickup");
    tile("Nuitées", k.person_nights, function (v) { return num.format(v); }, html("div", { "class": "cmp" }, "personnes × nuits"), "kpi-nuitees");
    tile("Clientèle étrangère", k.foreign_share, function (v) { return pct.format(v); }, html("div", { "class": "cmp" }, "part des nuitées"), "kpi-etranger");
    tile("Campings", k.campsites, function (v) { return num.format(v); }, html("div", { "class": "cmp" }, "ouverts cette semaine"), "kpi-campings");
  }

  function render(data) {
    var wk = parseInt(data.filters.week.split("W")[1], 10);
    drawKpis(data);
    drawOccupancy(data.charts.occupancy, wk);
    drawOnTheBooks(data.charts.on_the_books);
    drawRegions(data.charts.regions);
    drawPace(data.charts.pace, data.filters.geo);
    drawCountries(data.charts.country_mix);
    drawStayLead(data.charts.stay_lead);
  }

  function drawRuns(body) {
    var box = document.querySelector("#c-runs .graphe");
    box.textContent = "";
    var t = html("table", { "class": "rythme", id: "table-calculs" });
    var head = html("tr");
    ["Calcul", "Instantané", "État", "Terminé le", "Durée", "Fichiers (sha256)", "Régions re-publiées"].forEach(function (h) {
      head.appendChild(html("th", {}, h));
    });
    t.appendChild(head);
    var states = { done: "terminé", running: "en cours", failed: "échec" };
    body.runs.forEach(function (r) {
      var tr = html("tr", { "class": r.id === body.current ? "choisie" : "" });
      var pub = r.published || {};
      var regions = pub.error ? "refusée : " + pub.error : Object.keys(pub).map(function (k) { return k + " v" + pub[k].version; }).join(", ");
      var inputs = ["bookings", "capacity", "campsites"].filter(function (k) { return r.inputs && r.inputs[k]; })
        .map(function (k) { return k + " " + r.inputs[k].sha256.slice(0, 10) + "…"; }).join(" · ");
      [("n° " + r.id + (r.id === body.current ? " (affiché)" : "")),
       r.snapshot_date ? new Date(r.snapshot_date + "T00:00:00").toLocaleDateString("fr-FR") : "—",
       (states[r.status] || r.status) + (r.error ? " — " + r.error : ""),
       r.finished_at ? new Date(r.finished_at).toLocaleString("fr-FR", { dateStyle: "short", timeStyle: "short" }) : "—",
       r.seconds !== null && r.seconds !== undefined ? dec1.format(r.seconds) + " s" : "—",
       inputs, regions || "—"].forEach(function (v) { tr.appendChild(html("td", {}, v)); });
      t.appendChild(tr);
    });
    box.appendChild(t);
  }

  // -- data ---------------------------------------------------------------------------------------------------------
  function status(text) { document.getElementById("etat").textContent = text; }

  function filters() {
    return { region: document.getElementById("f-region").value, unit: document.getElementById("f-unit").value,
             week: document.getElementById("f-week").value };
  }

  function refresh() {
    var f = filters(), seq = ++state.seq;
    var q = new URLSearchParams();
    if (f.region) q.set("region", f.region);
    q.set("unit", f.unit);
    q.set("week", f.week);
    history.replaceState(null, "", "/barometre?" + q.toString());
    document.body.setAttribute("data-state", "loading");
    status("Chargement…");
    return fetch("/api/barometre/tableau?" + q.toString(), { credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, body: j }; }); })
      .then(function (res) {
        if (seq !== state.seq) return;
        if (!res.ok) { status("Erreur : " + (res.body.message || res.body.error)); document.body.setAttribute("data-state", "error"); return; }
        render(res.body);
        status(res.body.filters.geo_name + " · " + res.body.filters.week_label);
        document.body.setAttribute("data-state", "ready");
      })
      .catch(function (e) { status("Erreur : " + e); document.body.setAttribute("data-state", "error"); });
  }

  function fill(select, items, value) {
    items.forEach(function (it) {
      var o = html("option", { value: it.value }, it.label);
      select.appendChild(o);
    });
    if (value !== undefined && value !== null) select.value = value;
  }

  function start() {
    fetch("/api/barometre", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        if (!j.run) { document.getElementById("vide").hidden = false; document.body.setAttribute("data-state", "empty"); return; }
        state.run = j.run;
        state.options = j.options;
        var q = new URLSearchParams(location.search);
        fill(document.getElementById("f-region"), j.options.regions.map(function (r) { return { value: r.code, label: r.name }; }), q.get("region") || "");
        fill(document.getElementById("f-unit"), j.options.units.map(function (u) { return { value: u.code, label: u.name }; }), q.get("unit") || "ALL");
        fill(document.getElementById("f-week"), j.options.weeks, q.get("week") || j.options.default_week);
        var snap = new Date(j.run.snapshot_date + "T00:00:00").toLocaleDateString("fr-FR");
        var src = document.getElementById("source-globale");
        src.textContent = "";
        src.appendChild(document.createTextNode("Instantané "));
        src.appendChild(html("strong", {}, snap));
        src.appendChild(document.createTextNode(" · calcul n° " + j.run.id));
        document.getElementById("tableau").hidden = false;
        ["f-region", "f-unit", "f-week"].forEach(function (id) { document.getElementById(id).addEventListener("change", refresh); });
        fetch("/api/barometre/runs", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(drawRuns);
        return refresh();
      })
      .catch(function (e) { status("Erreur : " + e); });
  }

  start();
})();
