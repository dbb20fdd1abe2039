/** Picks the kernel backend: the native addon when it is built, else the (slow) reference kernels. */

import { oneOf } from "../util/lookup.js";
import type { Kernels } from "./kernels.js";
import { reference } from "./reference.js";

/** Backends a caller may ask for: "auto" prefers native. */
export const BACKEND_CHOICES = ["auto", "native", "reference"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** Loads a backend; "native" throws a clear error when the addon is not built. */
export async function loadKernels(choice: BackendChoice = "auto"): Promise<Kernels> {
  oneOf(BACKEND_CHOICES, choice, "backend");
  if (choice === "reference") return reference;
  try {
    const mod = await import("./native.js");
    if (mod.nativeAvailable()) return mod.native;
    if (choice === "native") mod.native.info(); // throws the loader's explanation
  } catch (e) {
    if (choice === "native") throw e;
  }
  return reference;
}
