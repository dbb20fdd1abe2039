/** Finding a Chromium binary for the browser tests (INTERPLAY_CHROMIUM first, then PATH). */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** The first executable Chromium (or Chrome) found, or null when there is none. */
export function findChromium(): string | null {
  const names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
  const candidates = [
    ...(process.env.INTERPLAY_CHROMIUM ? [process.env.INTERPLAY_CHROMIUM] : []),
    ...(process.env.PATH ?? "").split(delimiter).flatMap((d) => (d ? names.map((n) => join(d, n)) : [])),
  ];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next candidate
    }
  }
  return null;
}
