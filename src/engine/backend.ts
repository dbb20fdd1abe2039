/** Picks the kernel backend: the native addon when it is built, else the (slow) reference kernels. */
import type { Kernels } from "./kernels.js";
import { reference } from "./reference.js";

/** Which backend to use: "auto" prefers native. */
export type BackendChoice = "auto" | "native" | "reference";

/** Loads a backend; "native" throws a clear error when the addon is not built. */
export async function loadKernels(choice: BackendChoice = "auto"): Promise<Kernels> {
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
