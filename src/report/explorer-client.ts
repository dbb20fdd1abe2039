/**
 * The trace explorer's browser script (plain ES5-style JavaScript in a string: it runs in the page,
 * not through the TypeScript compiler). It reads #explorer-data, keeps its state (filters, view,
 * current item, list page) in the URL hash so any view can be linked, and draws both dependency
 * graphs with the inlined dagre layout. After each render the body carries `data-explorer-ready`,
 * `data-view`, `data-shown` (items passing the filters) and each graph's figure `data-nodes` /
 * `data-edges` (drawn) and `data-layout`, so a headless browser can check what is on screen.
 */
export const EXPLORER_CLIENT = `
(function () {
  "use strict";
  var body = document.body;
  var data = JSON.parse(document.getElementById("explorer-data").textContent);
  var root = document.getElementById("explorer");
  var PER_PAGE = 50;
  var MARK_ORDER = ["unreadable", "duplicate", "missing", "wrongDependency", "wrongValue", "slip", "extra", "correct"];
  var MARK_LABELS = data.markLabels;
  var ERROR_LABELS = data.errorLabels;
  var OUTCOME_LABELS = data.outcomeLabels;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "onclick") e.addEventListener("click", attrs[k]);
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  // ---- state in the hash: key=value&... ------------------------------------------------------
  function readState() {
    var s = { f: {}, view: "list", i: null, page: 0, a: 0, b: 0 };
    var h = location.hash.replace(/^#/, "");
    h.split("&").forEach(function (kv) {
      if (!kv) return;
      var j = kv.indexOf("=");
      var k = decodeURIComponent(j < 0 ? kv : kv.slice(0, j));
      var v = decodeURIComponent(j < 0 ? "" : kv.slice(j + 1));
      if (k === "view") s.view = v === "one" ? "one" : "list";
      else if (k === "i") s.i = parseInt(v, 10);
      else if (k === "page") s.page = Math.max(0, parseInt(v, 10) || 0);
      else if (k === "a") s.a = Math.max(0, parseInt(v, 10) || 0);
      else if (k === "b") s.b = Math.max(0, parseInt(v, 10) || 0);
      else if (v !== "") s.f[k] = v;
    });
    return s;
  }
  function writeState(s) {
    var parts = [];
    data.filters.forEach(function (f) {
      if (s.f[f.key]) parts.push(encodeURIComponent(f.key) + "=" + encodeURIComponent(s.f[f.key]));
    });
    if (s.view === "one") {
      parts.push("view=one");
      if (s.i !== null && !isNaN(s.i)) parts.push("i=" + s.i);
      if (s.a) parts.push("a=" + s.a);
      if (s.b) parts.push("b=" + s.b);
    } else if (s.page) parts.push("page=" + s.page);
    var h = "#" + parts.join("&");
    if (location.hash === h) render();
    else location.hash = h;
  }

  // ---- filters ---------------------------------------------------------------------------------
  function matches(item, f) {
    for (var k in f) {
      var want = f[k];
      var have = item.tags[k];
      if (!have) return false;
      if (k === "op" && want.indexOf("-") > 0) {
        var lo = parseInt(want.split("-")[0], 10), hi = parseInt(want.split("-")[1], 10);
        var op = parseInt(have[0], 10);
        if (!(op >= lo && op <= hi)) return false;
      } else if (have.indexOf(want) < 0) return false;
    }
    return true;
  }
  function filtered(s) {
    var out = [];
    for (var i = 0; i < data.items.length; i++) if (matches(data.items[i], s.f)) out.push(i);
    return out;
  }
  function filterBar(s, shown) {
    var bar = el("div", { "class": "filters" });
    data.filters.forEach(function (f) {
      var sel = el("select", { "data-filter": f.key, "aria-label": f.label });
      sel.appendChild(el("option", { value: "", text: "any " + f.label }));
      var known = false;
      f.options.forEach(function (o) {
        if (o[0] === s.f[f.key]) known = true;
        sel.appendChild(el("option", { value: o[0], text: o[1] + " (" + o[2] + ")" }));
      });
      if (s.f[f.key] && !known) sel.appendChild(el("option", { value: s.f[f.key], text: f.label + " " + s.f[f.key] }));
      sel.value = s.f[f.key] || "";
      sel.addEventListener("change", function () {
        var n = readState();
        if (sel.value) n.f[f.key] = sel.value;
        else delete n.f[f.key];
        n.page = 0;
        n.i = null;
        writeState(n);
      });
      bar.appendChild(el("label", null, [f.label + " ", sel]));
    });
    var reset = el("button", { type: "button", "data-action": "reset", text: "clear filters", onclick: function () {
      writeState({ f: {}, view: "list", i: null, page: 0 });
    } });
    bar.appendChild(reset);
    bar.appendChild(el("span", { "class": "count", text: shown + " of " + data.items.length + " " + data.unit + " shown" }));
    return bar;
  }

  // ---- graphs (dagre layout, SVG drawing) --------------------------------------------------------
  function primary(marks) {
    for (var i = 0; i < MARK_ORDER.length; i++) if (marks.indexOf(MARK_ORDER[i]) >= 0) return MARK_ORDER[i];
    return "correct";
  }
  function wrap(text, width, lines) {
    var words = String(text).split(" "), out = [], cur = "";
    words.forEach(function (w) {
      if (cur && (cur + " " + w).length > width) { out.push(cur); cur = w; }
      else cur = cur ? cur + " " + w : w;
    });
    if (cur) out.push(cur);
    if (out.length > lines) { out = out.slice(0, lines); out[lines - 1] += " …"; }
    return out;
  }
  function shorten(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + "…" : s; }
  function drawGraph(fig, nodes, edges) {
    var box = fig.querySelector(".graph-box");
    box.textContent = "";
    fig.setAttribute("data-layout", typeof dagre === "undefined" ? "missing" : "dagre");
    if (typeof dagre === "undefined") { box.textContent = "dagre did not load"; return; }
    if (nodes.length === 0) {
      box.appendChild(el("p", { "class": "note", text: "no nodes" }));
      fig.setAttribute("data-nodes", "0");
      fig.setAttribute("data-edges", "0");
      return;
    }
    var g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "TB", nodesep: 14, ranksep: 26, marginx: 6, marginy: 6 });
    g.setDefaultEdgeLabel(function () { return {}; });
    nodes.forEach(function (n) {
      var w = 0;
      n.lines.forEach(function (l) { w = Math.max(w, l.length); });
      g.setNode(n.id, { width: Math.max(40, w * 6.9 + 14), height: n.lines.length * 14 + 10, n: n });
    });
    edges.forEach(function (e) { if (g.hasNode(e.from) && g.hasNode(e.to)) g.setEdge(e.from, e.to, { e: e }); });
    dagre.layout(g);
    // Bounds of the nodes and of every edge point (routed edges may bend outside the nodes' box).
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    g.nodes().forEach(function (id) {
      var v = g.node(id);
      x0 = Math.min(x0, v.x - v.width / 2); x1 = Math.max(x1, v.x + v.width / 2);
      y0 = Math.min(y0, v.y - v.height / 2); y1 = Math.max(y1, v.y + v.height / 2);
    });
    g.edges().forEach(function (ref) {
      (g.edge(ref).points || []).forEach(function (p) {
        x0 = Math.min(x0, p.x); x1 = Math.max(x1, p.x); y0 = Math.min(y0, p.y); y1 = Math.max(y1, p.y);
      });
    });
    x0 -= 6; y0 -= 6; x1 += 6; y1 += 6;
    var W = Math.ceil(x1 - x0), H = Math.ceil(y1 - y0);
    var s = svg("svg", { viewBox: Math.floor(x0) + " " + Math.floor(y0) + " " + W + " " + H, width: W, height: H, role: "img" });
    var defs = svg("defs", {});
    var marker = svg("marker", { id: fig.id + "-arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" });
    marker.appendChild(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#59636e" }));
    defs.appendChild(marker);
    s.appendChild(defs);
    var drawnEdges = 0, drawnNodes = 0;
    g.edges().forEach(function (ref) {
      var ed = g.edge(ref);
      var pts = ed.points || [];
      if (pts.length < 2) return;
      var d = "M " + pts[0].x + " " + pts[0].y;
      for (var i = 1; i < pts.length; i++) d += " L " + pts[i].x + " " + pts[i].y;
      var cls = ed.e && ed.e.cls ? ed.e.cls : "";
      s.appendChild(svg("path", { d: d, "class": "edge " + cls, "marker-end": "url(#" + fig.id + "-arrow)" }));
      drawnEdges++;
    });
    g.nodes().forEach(function (id) {
      var v = g.node(id);
      var grp = svg("g", { "class": "node mark-" + v.n.mark, transform: "translate(" + (v.x - v.width / 2) + "," + (v.y - v.height / 2) + ")" });
      var title = svg("title", {});
      title.textContent = v.n.title;
      grp.appendChild(title);
      grp.appendChild(svg("rect", { width: v.width, height: v.height, rx: 4, ry: 4 }));
      v.n.lines.forEach(function (l, i) {
        var t = svg("text", { x: 7, y: 16 + i * 14, "class": i === 0 ? "head" : "" });
        t.textContent = l;
        grp.appendChild(t);
      });
      s.appendChild(grp);
      drawnNodes++;
    });
    box.appendChild(s);
    fig.setAttribute("data-nodes", String(drawnNodes));
    fig.setAttribute("data-edges", String(drawnEdges));
  }
  function predictedGraph(x, problem) {
    var nodes = [], edges = [];
    x.steps.forEach(function (st, i) {
      if (st.m.indexOf("duplicate") >= 0 || st.m.indexOf("unreadable") >= 0) return;
      var mark = primary(st.m);
      nodes.push({ id: "s" + i, mark: mark, title: st.n + " — " + st.m.map(function (m) { return MARK_LABELS[m]; }).join(", "),
        lines: [(st.v || "?") + " = " + shorten(st.val === null ? "?" : st.val, 18)].concat(wrap(st.n, 24, 2)) });
      st.par.forEach(function (j) {
        var pj = x.steps[j];
        var ok = st.g >= 0 && pj.g >= 0 && problem.gold[st.g].parents.indexOf(pj.g) >= 0;
        edges.push({ from: "s" + j, to: "s" + i, cls: ok ? "" : "bad" });
      });
    });
    return { nodes: nodes, edges: edges };
  }
  function goldGraph(x, problem) {
    var markOf = {};
    if (x) {
      x.steps.forEach(function (st) { if (st.g >= 0 && markOf[st.g] === undefined && st.m.indexOf("duplicate") < 0) markOf[st.g] = primary(st.m); });
      x.miss.forEach(function (m) { markOf[m[0]] = "missing"; });
    }
    var nodes = [], edges = [];
    problem.gold.forEach(function (gn, i) {
      var mark = x ? markOf[i] || "missing" : "gold";
      nodes.push({ id: "g" + i, mark: mark, title: gn.name + (x ? " — " + (MARK_LABELS[mark] || mark) : ""),
        lines: [shorten(gn.value, 22)].concat(wrap(gn.name, 24, 2)) });
      gn.parents.forEach(function (j) { edges.push({ from: "g" + j, to: "g" + i, cls: "" }); });
    });
    return { nodes: nodes, edges: edges };
  }
  function graphFigure(id, title) {
    return el("figure", { "class": "graph", id: id }, [el("figcaption", { text: title }), el("div", { "class": "graph-box" })]);
  }

  // ---- traces ----------------------------------------------------------------------------------
  function badge(mark) { return el("span", { "class": "badge mark-" + mark, text: MARK_LABELS[mark] || mark }); }
  function traceList(x, problem) {
    var ol = el("ol", { "class": "steps" });
    if (x.pre && x.pre.trim()) ol.appendChild(el("li", { "class": "plain" }, [x.pre]));
    function missing(at) {
      x.miss.forEach(function (m) {
        if (m[1] !== at) return;
        var gn = problem.gold[m[0]];
        ol.appendChild(el("li", { "class": "step mark-missing", "data-mark": "missing" }, [badge("missing"), " ", el("span", { "class": "gold-text", text: gn.step || gn.name })]));
      });
    }
    x.steps.forEach(function (st, i) {
      missing(i);
      var marks = st.m.map(badge);
      var extra = [];
      if (st.g >= 0 && st.m.indexOf("wrongValue") >= 0) extra.push(el("span", { "class": "why", text: "value " + (st.val === null ? "unread" : st.val) + ", gold " + problem.gold[st.g].value }));
      if (st.g >= 0 && st.m.indexOf("wrongDependency") >= 0) {
        var want = problem.gold[st.g].parents.map(function (j) { return problem.gold[j].name; });
        var have = st.par.map(function (j) { return x.steps[j].n; });
        extra.push(el("span", { "class": "why", text: "uses [" + have.join("; ") + "], gold [" + want.join("; ") + "]" }));
      }
      ol.appendChild(el("li", { "class": "step mark-" + primary(st.m), "data-mark": primary(st.m), value: String(i + 1) }, marks.concat([" ", st.t]).concat(extra)));
    });
    missing(x.steps.length);
    if (x.post && x.post.trim()) ol.appendChild(el("li", { "class": "plain" }, [x.post]));
    if (x.cut > 0) ol.appendChild(el("li", { "class": "plain note", text: "… " + x.cut + " more characters not carried by this page" }));
    return ol;
  }
  function goldList(problem) {
    var ol = el("ol", { "class": "steps gold" });
    problem.gold.forEach(function (gn) { ol.appendChild(el("li", { "class": "step" }, [gn.step || gn.name])); });
    ol.appendChild(el("li", { "class": "plain", text: "Answer: " + problem.answer }));
    return ol;
  }
  function verdictLine(x, problem) {
    var parts = [el("span", { "class": "badge outcome-" + x.o, text: OUTCOME_LABELS[x.o] })];
    if (x.trunc) parts.push(el("span", { "class": "badge outcome-wrong", text: "truncated" }));
    parts.push(" ProcessAcc " + (100 * x.acc).toFixed(0) + "% · answer " + (x.ans === null ? "none" : x.ans) + " (gold " + problem.answer + ")");
    var rw = Object.keys(x.rw).map(function (k) { return k + " " + (+x.rw[k]).toFixed(2); });
    if (rw.length) parts.push(" · rewards: " + rw.join(", "));
    var errs = Object.keys(x.err).map(function (k) { return (ERROR_LABELS[k] || k) + " " + x.err[k]; });
    parts.push(" · errors: " + (errs.length ? errs.join(", ") : "none"));
    if (x.tokens !== undefined) parts.push(" · " + x.tokens + " tokens" + (x.finish ? " (" + x.finish + ")" : ""));
    return el("p", { "class": "verdict" }, parts);
  }
  function problemBlock(problem, extra) {
    return el("section", { "class": "problem" }, [
      el("h3", { text: problem.id + " — op " + problem.op + (problem.context ? ", " + problem.context : "") + (problem.mode ? ", " + problem.mode : "") + (extra || "") }),
      el("p", { text: problem.text }),
      el("p", null, [el("b", { text: "Question: " }), problem.question])
    ]);
  }
  function legend() {
    var d = el("p", { "class": "legend" });
    MARK_ORDER.forEach(function (m) { d.appendChild(badge(m)); d.appendChild(document.createTextNode(" ")); });
    d.appendChild(el("span", { "class": "note", text: " Red edges: a dependency the gold graph does not have." }));
    return d;
  }

  // ---- views -----------------------------------------------------------------------------------
  function nav(s, list, pos) {
    function go(k) { return function () { var n = readState(); n.view = "one"; n.i = list[k]; n.a = 0; n.b = 0; writeState(n); }; }
    return el("div", { "class": "nav" }, [
      el("button", { type: "button", "data-action": "list", text: "← list", onclick: function () { var n = readState(); n.view = "list"; n.page = Math.floor(pos / PER_PAGE); writeState(n); } }),
      el("button", { type: "button", "data-action": "prev", text: "‹ previous", disabled: pos <= 0 ? "disabled" : null, onclick: go(Math.max(0, pos - 1)) }),
      el("span", { "class": "count", text: (pos + 1) + " of " + list.length }),
      el("button", { type: "button", "data-action": "next", text: "next ›", disabled: pos >= list.length - 1 ? "disabled" : null, onclick: go(Math.min(list.length - 1, pos + 1)) })
    ]);
  }
  function openItem(i) { return function () { var n = readState(); n.view = "one"; n.i = i; n.a = 0; n.b = 0; writeState(n); }; }
  function listView(s, list) {
    var pages = Math.max(1, Math.ceil(list.length / PER_PAGE));
    var page = Math.min(s.page, pages - 1);
    var rows = list.slice(page * PER_PAGE, (page + 1) * PER_PAGE);
    var head = data.mode === "compare"
      ? ["problem", "op", "context", "mode", data.labels.before + " verified", data.labels.after + " verified", "change"]
      : ["problem", "sample", "op", "context", "mode", "verdict", "ProcessAcc", "answer (gold)", "errors"];
    var t = el("table", { "class": "list" }, [el("thead", null, [el("tr", null, head.map(function (h) { return el("th", { text: h }); }))])]);
    var tb = el("tbody");
    rows.forEach(function (i) {
      var it = data.items[i], pr = data.problems[it.p];
      var cells;
      if (data.mode === "compare") cells = [pr.id, pr.op, pr.context, pr.mode, it.cb + "/" + it.nb, it.ca + "/" + it.na, it.change];
      else {
        var x = it.x;
        cells = [pr.id, x.step !== undefined ? "step " + x.step : x.s, pr.op, pr.context, pr.mode, OUTCOME_LABELS[x.o] + (x.trunc ? ", truncated" : ""), (100 * x.acc).toFixed(0) + "%",
          (x.ans === null ? "none" : x.ans) + " (" + pr.answer + ")",
          Object.keys(x.err).map(function (k) { return (ERROR_LABELS[k] || k) + " " + x.err[k]; }).join(", ") || "none"];
      }
      var tr = el("tr", { "class": "row", "data-item": String(i), tabindex: "0", onclick: openItem(i) }, cells.map(function (c) { return el("td", { text: String(c) }); }));
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    var pager = el("div", { "class": "nav" }, [
      el("button", { type: "button", "data-action": "prev-page", text: "‹ page", disabled: page <= 0 ? "disabled" : null, onclick: function () { var n = readState(); n.page = page - 1; writeState(n); } }),
      el("span", { "class": "count", text: "page " + (page + 1) + " of " + pages }),
      el("button", { type: "button", "data-action": "next-page", text: "page ›", disabled: page >= pages - 1 ? "disabled" : null, onclick: function () { var n = readState(); n.page = page + 1; writeState(n); } })
    ]);
    var note = list.length === 0 ? el("p", { "class": "note", text: "No " + data.unit + " match these filters." }) : null;
    return el("div", null, [note, t, pager]);
  }
  function sampleColumn(x, problem, title, id) {
    var fig = graphFigure(id, "Predicted graph (" + title + ")");
    return { col: el("div", { "class": "col" }, [el("h3", { text: title }), verdictLine(x, problem), traceList(x, problem)]), fig: fig, draw: function () { var gr = predictedGraph(x, problem); drawGraph(fig, gr.nodes, gr.edges); } };
  }
  function picker(samples, current, key) {
    var d = el("div", { "class": "picker" }, ["samples: "]);
    samples.forEach(function (x, k) {
      d.appendChild(el("button", { type: "button", "class": "pick outcome-" + x.o + (k === current ? " current" : ""), "data-pick": key + k, text: (x.o === "verified" ? "✓" : "✗") + x.s,
        onclick: function () { var n = readState(); n[key] = k; writeState(n); } }));
    });
    return d;
  }
  function oneView(s, list, pos) {
    var it = data.items[list[pos]], problem = data.problems[it.p];
    var out = [nav(s, list, pos)];
    var draws = [];
    if (data.mode === "compare") {
      var a = Math.min(s.a, it.before.length - 1), b = Math.min(s.b, it.after.length - 1);
      out.push(problemBlock(problem, " — verified " + it.cb + "/" + it.nb + " → " + it.ca + "/" + it.na));
      var left = sampleColumn(it.before[a], problem, data.labels.before + ", sample " + it.before[a].s, "graph-before");
      var right = sampleColumn(it.after[b], problem, data.labels.after + ", sample " + it.after[b].s, "graph-after");
      left.col.insertBefore(picker(it.before, a, "a"), left.col.children[1]);
      right.col.insertBefore(picker(it.after, b, "b"), right.col.children[1]);
      out.push(el("div", { "class": "two" }, [left.col, right.col]));
      out.push(el("div", { "class": "two" }, [left.fig, right.fig]));
      var gf = graphFigure("graph-gold", "Gold graph");
      out.push(el("div", { "class": "two" }, [el("div", { "class": "col" }, [el("h3", { text: "Gold trace" }), goldList(problem)]), gf]));
      draws.push(left.draw, right.draw, function () { var gr = goldGraph(null, problem); drawGraph(gf, gr.nodes, gr.edges); });
    } else {
      var x = it.x;
      out.push(problemBlock(problem, ""));
      var m = sampleColumn(x, problem, x.step !== undefined ? "Model trace at step " + x.step : "Model trace, sample " + x.s, "graph-pred");
      out.push(el("div", { "class": "two" }, [m.col, el("div", { "class": "col" }, [el("h3", { text: "Gold trace" }), goldList(problem)])]));
      var gfig = graphFigure("graph-gold", "Gold graph (marked by this trace)");
      out.push(el("div", { "class": "two" }, [m.fig, gfig]));
      draws.push(m.draw, function () { var gr = goldGraph(x, problem); drawGraph(gfig, gr.nodes, gr.edges); });
    }
    out.push(legend());
    return { node: el("div", null, out), draws: draws };
  }

  function render() {
    var s = readState();
    var list = filtered(s);
    root.textContent = "";
    root.appendChild(filterBar(s, list.length));
    var view = s.view;
    var pos = s.i === null ? -1 : list.indexOf(s.i);
    if (view === "one" && pos < 0 && list.length > 0 && s.i === null) pos = 0;
    if (view === "one" && pos < 0) view = "list";
    if (view === "one") {
      var v = oneView(s, list, pos);
      root.appendChild(v.node);
      v.draws.forEach(function (d) { try { d(); } catch (e) { body.setAttribute("data-explorer-error", String((e && e.message) || e)); } });
      body.setAttribute("data-current", String(list[pos]));
    } else {
      root.appendChild(listView(s, list));
      body.removeAttribute("data-current");
    }
    body.setAttribute("data-view", view);
    body.setAttribute("data-shown", String(list.length));
    body.setAttribute("data-explorer-ready", String(1 + (+body.getAttribute("data-explorer-ready") || 0)));
  }
  window.addEventListener("hashchange", render);
  try { render(); } catch (e) { body.setAttribute("data-explorer-error", String((e && e.message) || e)); }
})();
`;
