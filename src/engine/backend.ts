/** Picks the kernel backend: the native addon when it is built, else the (slow) reference kernels. */

import { oneOf } from "../util/lookup.js";
import type { Kernels } from "./kernels.js";
import { reference } from "./reference.js";

/** Backends a caller may ask for: "auto" prefers native. */
export const BACKEND_CHOICES = ["auto", "native", "reference"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/**
 * Loads a backend; "native" throws a clear error when the addon is not built, and every choice but
 * "reference" throws on a bad engine setting in the environment.
 */
export async function loadKernels(choice: BackendChoice = "auto"): Promise<Kernels> {
  oneOf(BACKEND_CHOICES, choice, "backend");
  if (choice === "reference") return reference;
  const mod = await import("./native.js");
  if (mod.nativeAvailable()) return mod.native;
  const why = mod.nativeLoadError();
  // A bad setting (INTERPLAY_THREADS, INTERPLAY_MATMUL) is reported, not fallen back from.
  if (choice === "native" || why instanceof mod.NativeSettingError) throw why;
  return reference;
}
