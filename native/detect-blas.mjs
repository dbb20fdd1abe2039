#!/usr/bin/env node
// Build-time BLAS detection for binding.gyp: `node detect-blas.mjs <defines|include_dirs|libraries|summary>`.
// Finds cblas.h + libopenblas (Linux; prefers Debian's OpenMP variant so that OpenBLAS shares the
// engine's one OpenMP pool) or the Accelerate framework (macOS). Prints nothing for the list
// modes when no BLAS is found: the portable path is then the only one built.
// INTERPLAY_BLAS=none (or 0/off) disables BLAS.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

function multiarch() {
  try {
    const t = execFileSync("gcc", ["-print-multiarch"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    if (t) return t;
  } catch {}
  return (
    { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu", ppc64: "powerpc64le-linux-gnu" }[process.arch] ??
    ""
  );
}

export function detect() {
  const off = (process.env.INTERPLAY_BLAS ?? "").toLowerCase();
  if (["none", "0", "off", "false", "no"].includes(off))
    return { kind: "none", reason: "disabled by INTERPLAY_BLAS" };
  if (process.platform === "darwin") {
    if (existsSync("/System/Library/Frameworks/Accelerate.framework"))
      return {
        kind: "accelerate",
        defines: ["INTERPLAY_CBLAS"],
        includes: [],
        libs: ["$(SDKROOT)/System/Library/Frameworks/Accelerate.framework"],
      };
    return { kind: "none", reason: "Accelerate.framework not found" };
  }
  if (process.platform !== "linux")
    return { kind: "none", reason: `no BLAS detection on ${process.platform}` };
  const ma = multiarch();
  const incDirs = [
    "/usr/include",
    ma && `/usr/include/${ma}`,
    "/usr/include/openblas",
    "/usr/local/include",
    "/usr/local/include/openblas",
    "/opt/OpenBLAS/include",
  ].filter(Boolean);
  const inc = incDirs.find((d) => existsSync(join(d, "cblas.h")));
  if (!inc) return { kind: "none", reason: "cblas.h not found" };
  const libDirs = [
    ma && `/usr/lib/${ma}`,
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
    "/opt/OpenBLAS/lib",
  ].filter(Boolean);
  // Debian/Ubuntu: the OpenMP build of OpenBLAS (libopenblas0-openmp), linked by full path with
  // an rpath so that it wins over the pthread alternative at run time.
  const omp = ma && `/usr/lib/${ma}/openblas-openmp`;
  if (omp && existsSync(join(omp, "libopenblas.so.0")))
    return {
      kind: "openblas-openmp",
      defines: ["INTERPLAY_CBLAS"],
      includes: [inc],
      libs: [join(omp, "libopenblas.so.0"), `-Wl,-rpath,${omp}`],
    };
  const dir = libDirs.find((d) => existsSync(join(d, "libopenblas.so")));
  if (!dir) return { kind: "none", reason: "libopenblas.so not found" };
  return {
    kind: "openblas",
    defines: ["INTERPLAY_CBLAS"],
    includes: [inc],
    libs: [`-L${dir}`, "-lopenblas"],
  };
}

const mode = process.argv[2] ?? "summary";
const r = detect();
if (mode === "defines") console.log((r.defines ?? []).join(" "));
else if (mode === "include_dirs") console.log((r.includes ?? []).join(" "));
else if (mode === "libraries") console.log((r.libs ?? []).join(" "));
else
  console.log(
    r.kind === "none" ? `none (${r.reason}): portable matmul only` : `${r.kind}: ${(r.libs ?? []).join(" ")}`,
  );
