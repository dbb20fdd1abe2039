/**
 * The self-contained HTML page of a report: styles, tables, chart descriptions (JSON) and a small
 * script that draws them with the inlined Chart.js. After drawing, each chart's figure carries
 * data attributes (`data-series`, `data-expected`, `data-painted`) and the body carries
 * `data-charts-ready` / `data-charts-total`, so a headless browser can check what was drawn.
 */
import type { CIStat } from "../stats/summary.js";
import { chartJs } from "./vendor.js";

/** A point of a chart with a numeric x axis; `k` is shown in tooltips of log2(k) axes. */
export interface XYPoint {
  x: number;
  y: number | null;
  k?: number;
  /** Tooltip title of the point. */
  label?: string;
}

/** One dataset of a chart. */
export interface SeriesSpec {
  label: string;
  /** "#rrggbb". */
  color: string;
  /** Values by category label, points, or [lo, hi] floating bars. */
  data: (number | null)[] | XYPoint[] | ([number, number] | null)[];
  /** Drawn as this type inside a chart of the other type (mixed charts). */
  type?: "line" | "bar";
  dashed?: boolean;
  /**
   * Part of a confidence band: "lower" is the band's lower edge (not filled), "upper" fills down to
   * the dataset just before it. Bands are not counted as series and are left out of the legend.
   */
  band?: "lower" | "upper";
  /** Markers without a connecting line. */
  pointsOnly?: boolean;
  /** A line without markers. */
  noPoints?: boolean;
  /** Stack group of a stacked bar chart. */
  stack?: string;
}

/** A chart of the report. */
export interface ChartSpec {
  /** Element id of the chart's figure. */
  id: string;
  title: string;
  type: "line" | "bar";
  xTitle: string;
  yTitle: string;
  /** Category labels of the x axis (omit for a numeric x axis). */
  labels?: string[];
  /** The x values are log2(k): ticks at integers are labelled 2^x, up to log2(maxK). */
  log2x?: { maxK: number };
  /** A numeric x axis whose integer ticks 0, 1, … are labelled with these strings. */
  xTickLabels?: string[];
  /** y axis: proportions shown as percentages; signed for differences (tooltips show a sign). */
  y: { percent: boolean; signed?: boolean; min?: number; max?: number };
  stacked?: boolean;
  series: SeriesSpec[];
  /** A sentence under the chart. */
  caption?: string;
  /** Spans the whole width of the chart grid. */
  wide?: boolean;
}

/** Series of a chart that should be drawn (bands excluded). */
export function expectedSeries(spec: ChartSpec): number {
  return spec.series.filter((s) => s.band === undefined).length;
}

/** Escapes text for HTML content and attribute values. */
export function esc(s: string | number | boolean | null): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe to place inside a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** A proportion as a percentage with one decimal ("–" when not finite). */
export function pct(x: number | undefined): string {
  return x !== undefined && Number.isFinite(x) ? (100 * x).toFixed(1) : "–";
}

/** A signed difference of proportions in percentage points. */
export function pp(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return "–";
  const v = (100 * x).toFixed(1);
  return x > 0 && v !== "0.0" ? `+${v}` : v === "-0.0" ? "0.0" : v;
}

/** A table cell body: the mean in percent and its CI underneath. */
export function ciCell(c: CIStat | undefined, signed = false): string {
  if (c === undefined || !Number.isFinite(c.mean)) return "–";
  const f = signed ? pp : pct;
  return `${f(c.mean)} <span class="ci">[${f(c.lo)}, ${f(c.hi)}]</span>`;
}

/** An HTML table; cells are HTML already (escape text with {@link esc}). */
export function table(header: string[], rows: string[][], cls = ""): string {
  const head = header.map((h) => `<th>${h}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("\n");
  return `<div class="table-wrap"><table class="${esc(cls)}"><thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table></div>`;
}

/** A key/value list (metadata). */
export function definitionList(entries: [string, string | number | boolean | null][]): string {
  if (entries.length === 0) return "";
  const items = entries.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v === null ? "–" : v)}</dd>`).join("");
  return `<dl class="meta">${items}</dl>`;
}

/** The figure a chart is drawn into. */
export function chartFigure(spec: ChartSpec): string {
  const caption = spec.caption ? `<p class="caption">${esc(spec.caption)}</p>` : "";
  return `<figure class="chart${spec.wide ? " wide" : ""}" id="${esc(spec.id)}"><figcaption>${esc(spec.title)}</figcaption><div class="canvas-box"><canvas></canvas></div>${caption}</figure>`;
}

/** A palette that stays readable for up to about ten series. */
export const PALETTE = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/** The style sheet every report page shares. */
export const STYLE = `
:root { --fg: #1b1f24; --muted: #5c6570; --line: #d8dde3; --bg: #ffffff; --head: #f3f5f7; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
p { max-width: 980px; }
.sub { color: var(--muted); margin: 0 0 16px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0 16px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 20px; }
figure.chart { margin: 0; padding: 12px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
figure.chart.wide { grid-column: 1 / -1; }
figure.chart figcaption { font-weight: 600; margin-bottom: 6px; }
.canvas-box { position: relative; height: 320px; }
.caption { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: right; white-space: nowrap; }
th { background: var(--head); font-weight: 600; }
td:first-child, th:first-child { text-align: left; }
table.text td, table.text th { text-align: left; white-space: normal; }
.ci { color: var(--muted); font-size: 11px; }
.note { color: var(--muted); font-size: 13px; }
.pos { color: #1a7f37; }
.neg { color: #b42318; }
`;

/**
 * Draws every chart described in #chart-specs and records what was drawn on the figures. Plain
 * ES5-style JavaScript: it runs in the browser, not through the TypeScript compiler.
 */
const CLIENT = `
(function () {
  "use strict";
  var body = document.body;
  var specs = JSON.parse(document.getElementById("chart-specs").textContent);
  body.setAttribute("data-charts-total", String(specs.length));
  if (typeof Chart === "undefined") {
    body.setAttribute("data-charts-error", "Chart.js did not load");
    return;
  }
  Chart.defaults.animation = false;
  Chart.defaults.responsiveAnimationDuration = 0;
  Chart.defaults.font.size = 12;
  function rgba(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + ((n >> 16) & 255) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + a + ")";
  }
  function percent(v, signed) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    var s = (100 * v).toFixed(1);
    return (signed && v > 0 ? "+" : "") + s + "%";
  }
  function painted(canvas) {
    try {
      var ctx = canvas.getContext("2d");
      var img = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      var count = 0;
      for (var i = 3; i < img.length; i += 16) if (img[i] !== 0) count++;
      return count;
    } catch (e) {
      return -1;
    }
  }
  function config(s) {
    var signed = !!s.y.signed;
    var datasets = s.series.map(function (d) {
      var isBar = (d.type || s.type) === "bar";
      var o = {
        label: d.label,
        data: d.data,
        borderColor: d.color,
        backgroundColor: isBar ? rgba(d.color, 0.75) : d.color,
        isBand: !!d.band
      };
      if (d.type) o.type = d.type;
      if (d.stack) o.stack = d.stack;
      if (!isBar) {
        o.borderWidth = 2;
        o.pointRadius = 2.5;
        o.spanGaps = false;
        o.fill = false;
      }
      if (d.dashed) o.borderDash = [6, 4];
      if (d.noPoints) {
        o.pointRadius = 0;
        o.pointHoverRadius = 0;
      }
      if (d.pointsOnly) {
        o.showLine = false;
        o.pointRadius = 4;
        o.pointBackgroundColor = d.color;
      }
      if (d.band) {
        o.borderWidth = 0;
        o.pointRadius = 0;
        o.pointHitRadius = 0;
        o.backgroundColor = rgba(d.color, 0.15);
        o.fill = d.band === "upper" ? "-1" : false;
      }
      return o;
    });
    var x = { title: { display: true, text: s.xTitle }, stacked: !!s.stacked };
    if (s.log2x) {
      x.type = "linear";
      x.min = 0;
      x.max = Math.max(1, Math.log2(s.log2x.maxK));
      x.ticks = {
        stepSize: 1,
        callback: function (v) {
          return Math.abs(v - Math.round(v)) < 1e-9 ? String(Math.pow(2, Math.round(v))) : "";
        }
      };
    } else if (s.xTickLabels) {
      x.type = "linear";
      x.min = -0.5;
      x.max = s.xTickLabels.length - 0.5;
      x.grid = { display: false };
      x.afterBuildTicks = function (axis) {
        axis.ticks = s.xTickLabels.map(function (_, i) {
          return { value: i };
        });
      };
      x.ticks = {
        stepSize: 1,
        autoSkip: false,
        callback: function (v) {
          var i = Math.round(v);
          return Math.abs(v - i) < 1e-9 && s.xTickLabels[i] !== undefined ? s.xTickLabels[i] : "";
        }
      };
    } else if (!s.labels) {
      x.type = "linear";
    }
    var y = { title: { display: true, text: s.yTitle }, stacked: !!s.stacked };
    if (s.y.min !== undefined) y.min = s.y.min;
    if (s.y.max !== undefined) y.max = s.y.max;
    if (s.y.percent) {
      y.ticks = {
        callback: function (v) {
          return Math.round(v * 100) + "%";
        }
      };
    }
    return {
      type: s.type,
      data: { labels: s.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "nearest", intersect: false },
        scales: { x: x, y: y },
        plugins: {
          legend: {
            labels: {
              boxWidth: 14,
              filter: function (item, data) {
                return !data.datasets[item.datasetIndex].isBand;
              }
            }
          },
          tooltip: {
            filter: function (item) {
              return !item.dataset.isBand;
            },
            callbacks: {
              title: function (items) {
                if (!items.length) return "";
                var raw = items[0].raw;
                if (raw && raw.k !== undefined) return "k = " + raw.k;
                if (raw && raw.label !== undefined) return raw.label;
                return items[0].label;
              },
              label: function (item) {
                var v = item.raw;
                var text;
                if (Array.isArray(v)) text = "[" + percent(v[0], signed) + ", " + percent(v[1], signed) + "]";
                else if (v !== null && typeof v === "object") text = s.y.percent ? percent(v.y, signed) : String(v.y);
                else text = s.y.percent ? percent(v, signed) : String(v);
                return item.dataset.label + ": " + text;
              }
            }
          }
        }
      }
    };
  }
  var ready = 0;
  specs.forEach(function (s) {
    var fig = document.getElementById(s.id);
    if (!fig) return;
    try {
      var canvas = fig.querySelector("canvas");
      var chart = new Chart(canvas, config(s));
      var drawn = 0;
      chart.getSortedVisibleDatasetMetas().forEach(function (m) {
        if (chart.data.datasets[m.index].isBand) return;
        var ok = m.data.some(function (el) {
          return !el.skip && isFinite(el.x) && isFinite(el.y);
        });
        if (ok) drawn++;
      });
      var expected = s.series.filter(function (d) {
        return !d.band;
      }).length;
      fig.setAttribute("data-series", String(drawn));
      fig.setAttribute("data-expected", String(expected));
      fig.setAttribute("data-painted", String(painted(canvas)));
      ready++;
    } catch (e) {
      fig.setAttribute("data-error", String((e && e.message) || e));
    }
  });
  body.setAttribute("data-charts-ready", String(ready));
})();
`;

/** The doctype and head of a report page: its title, generator line and style sheet (after STYLE). */
export function pageHead(title: string, generator: string, style = ""): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${esc(generator)}">
<title>${esc(title)}</title>
<style>${STYLE}${style}</style>
</head>`;
}

/** A complete page: the body HTML, then the chart descriptions, Chart.js and the drawing script. */
export function page(title: string, bodyHtml: string, charts: readonly ChartSpec[]): string {
  const { source: lib, version } = chartJs();
  return `${pageHead(title, `interplay report; Chart.js ${version} inlined`)}
<body>
${bodyHtml}
<script type="application/json" id="chart-specs">${scriptJson(charts)}</script>
<script>
${lib}
</script>
<script>${CLIENT}</script>
</body>
</html>
`;
}
