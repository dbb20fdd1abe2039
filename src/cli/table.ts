/** Plain-text tables for CLI summaries. */

/** Renders rows under a header, columns padded; numbers right-aligned. */
export function renderTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? "").length)));
  const line = (r: string[], isHeader: boolean) =>
    r
      .map((x, c) => {
        const right = !isHeader && /^[-+]?[\d.]+%?( \[.*\])?$/.test(x);
        return right ? x.padStart(widths[c]) : x.padEnd(widths[c]);
      })
      .join("  ")
      .trimEnd();
  const out = [line(cells[0], true), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const r of cells.slice(1)) out.push(line(r, false));
  return out.join("\n");
}

/** A proportion as a percentage with one decimal. */
export function pct(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)}` : "–";
}
