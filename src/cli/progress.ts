/** A progress bar on stderr for long work (silent when stderr is not a terminal). */
import cliProgress from "cli-progress";

/** Progress of one job: call update(done) as work completes and stop() at the end. */
export interface Progress {
  update(done: number, extra?: Record<string, string | number>): void;
  stop(): void;
}

/** Starts a bar with a label, a total and an ETA; extra fields show after the counts. */
export function startProgress(label: string, total: number, fields: string[] = []): Progress {
  if (!process.stderr.isTTY || total <= 0) return { update() {}, stop() {} };
  const tail = fields.map((f) => ` | ${f} {${f}}`).join("");
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {value}/{total} | {percentage}% | ETA {eta_formatted}${tail}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, Object.fromEntries(fields.map((f) => [f, ""])));
  return {
    update: (done, extra) => bar.update(done, extra),
    stop: () => bar.stop(),
  };
}
