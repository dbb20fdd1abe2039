import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { native, nativeAvailable, nativeInfo } from "./native.js";
import { CPU_FLAGS, cpuInfo, measureBf16Gemm, measurePeak, measureSgemm } from "./peak.js";
import { reference } from "./reference.js";

const ZEN4 = `processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu vme avx avx2 fma avx512f avx512dq avx512_bf16 avx512vl
processor\t: 1
model name\t: ignored second core
flags\t\t: fpu
`;
const SAPPHIRE = `model name\t: Intel(R) Xeon(R) Platinum 8488C
flags\t\t: avx2 avx512f avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8
`;

describe("cpuInfo", () => {
  it("reads the model and the engine's SIMD/AMX flags of the first processor, in CPU_FLAGS order", () => {
    const zen = cpuInfo(ZEN4);
    assert.equal(zen.model, "AMD EPYC 9R14 96-Core Processor");
    assert.deepEqual(zen.flags, ["avx2", "avx512f", "avx512_bf16"]);
    assert.deepEqual(cpuInfo(SAPPHIRE).flags, [...CPU_FLAGS], "a Sapphire Rapids Xeon has every flag");
    assert.ok(cpuInfo(ZEN4).logicalCores >= 1);
  });

  it("without /proc/cpuinfo: the model from os.cpus() and the flags unknown (not 'none')", () => {
    const c = cpuInfo(null);
    assert.ok(c.model.length > 0);
    assert.equal(c.flags, undefined);
  });
});

describe("measureSgemm", () => {
  it("times at least three products and reports 2·n³ over the fastest", () => {
    const r = measureSgemm(reference, { n: 32, seconds: 0 });
    assert.equal(r.n, 32);
    assert.ok(r.runs >= 3);
    assert.ok(Number.isFinite(r.gflops) && r.gflops > 0);
    assert.equal(r.threads, reference.info().threads);
  });
});

describe("measurePeak", { skip: nativeAvailable() ? false : "native engine not built" }, () => {
  it("bounds the products: no sgemm or bf16 product runs faster than its unit's register loop", () => {
    // The loops are timed over each thread's CPU time, the products over wall time; the peak is
    // the larger of a measurement before and one after the product, and 1.3× absorbs the load of
    // the other tests running beside this one (a wrong FLOP count per instruction would be 2×).
    const peak = (kind: "fma" | "bf16", product: () => number) => {
      const before = measurePeak(kind, 0.1);
      if (before === null) return null;
      const rate = product();
      return { rate, peak: Math.max(before, measurePeak(kind, 0.1) as number) };
    };
    const f = peak("fma", () => measureSgemm(native, { n: 256, seconds: 0.05 }).gflops);
    assert.ok(f !== null && f.peak > 0);
    assert.ok(f.rate < 1.3 * f.peak, `sgemm ${f.rate} GFLOP/s above the FMA loop's ${f.peak}`);
    const b = peak("bf16", () => measureBf16Gemm(native, { n: 256, seconds: 0.05 }).gflops);
    assert.equal(b === null, !nativeInfo().avx512bf16, "a bf16 peak exactly where the CPU has AVX512_BF16");
    if (b !== null)
      assert.ok(b.rate < 1.3 * b.peak, `bf16 product ${b.rate} GFLOP/s above the loop's ${b.peak}`);
  });
});
