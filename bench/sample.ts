/**
 * W2 (benchmarks.md): sampling from the 3.3M-parameter benchmark model — 64 sequences, 64-token
 * prompts, 192 new tokens each, KV cache, prefill included; generated tokens/s as the median of
 * runs after a warm-up, with the PyTorch CPU anchor (same workload, preallocated float32 cache) side by
 * side. The headline is all-float32 (the precision of the anchor); the half-precision cache
 * (`kvCache: "f16"`, half the bytes read per step) and, on top of it, bf16 matrix products
 * (`products: "bf16"`, AVX512_BF16) are measured in the same run and reported beside it; `best`
 * names the fastest of the three (on a CPU without AVX512_BF16 the bf16 products are plain C).
 *
 *   node dist/bench/sample.js [--json] [--reps N] [--portable]
 */
import { fileURLToPath } from "node:url";
import { loadKernels } from "../src/engine/backend.js";
import { setMatmulPath } from "../src/engine/native.js";
import { presetConfig } from "../src/model/config.js";
import { Model } from "../src/model/model.js";
import { sampleBatched } from "../src/sample/sampler.js";
import { Rng } from "../src/util/rng.js";
import { anchorJson, printAnchor, runAnchor } from "./train.js";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  const ri = args.indexOf("--reps");
  const reps = ri >= 0 ? Number(args[ri + 1]) : 5;
  const k = await loadKernels("native");
  if (args.includes("--portable")) setMatmulPath("portable");
  const info = k.info();
  const c = presetConfig("bench", 512);
  const model = new Model(k, c);
  const rng = new Rng(0);
  model.init(() => rng.next());
  const nseq = 64;
  const prompt = 64;
  const maxNew = 192;
  const requests = Array.from({ length: nseq }, () => ({
    prompt: Array.from({ length: prompt }, () => rng.int(0, c.vocabSize - 1)),
    n: 1,
  }));
  const measure = (kvCache: "f32" | "f16", products: "f32" | "bf16" = "f32"): number => {
    const times: number[] = [];
    for (let r = 0; r < 1 + reps; r++) {
      const t0 = performance.now();
      const { stats } = sampleBatched(model, requests, {
        temperature: 1,
        maxNew,
        seed: r,
        batch: nseq,
        kvCache,
        products,
      });
      if (stats.generatedTokens !== nseq * maxNew)
        throw new Error(`generated ${stats.generatedTokens} tokens`);
      if (r > 0) times.push((performance.now() - t0) / 1000);
    }
    times.sort((a, b) => a - b);
    return (nseq * maxNew) / times[Math.floor(times.length / 2)];
  };
  const tokensPerSec = measure("f32");
  const half = measure("f16");
  const bf16 = measure("f16", "bf16");
  const anchor = runAnchor("sample");
  const ratio = anchor ? tokensPerSec / anchor.tokensPerSec : null;
  const [bestName, bestTps] = (
    [
      ["float32 cache, float32 products", tokensPerSec],
      ["half-precision cache, float32 products", half],
      ["half-precision cache, bf16 products", bf16],
    ] as [string, number][]
  ).reduce((a, b) => (b[1] > a[1] ? b : a));
  const out = {
    tokensPerSec: Math.round(tokensPerSec),
    anchor: anchorJson(anchor),
    ratio: ratio === null ? null : +ratio.toFixed(3),
    f16: {
      tokensPerSec: Math.round(half),
      ratio: anchor ? +(half / anchor.tokensPerSec).toFixed(3) : null,
    },
    bf16: {
      tokensPerSec: Math.round(bf16),
      ratio: anchor ? +(bf16 / anchor.tokensPerSec).toFixed(3) : null,
    },
    best: {
      config: bestName,
      tokensPerSec: Math.round(bestTps),
      ratio: anchor ? +(bestTps / anchor.tokensPerSec).toFixed(3) : null,
    },
    engine: { path: info.path, threads: info.threads, simd: info.simd },
  };
  if (json) console.log(JSON.stringify(out));
  else {
    console.log(
      `W2 sampling (bench model, ${nseq} sequences × ${prompt}-token prompt + ${maxNew} new tokens, KV cache, median of ${reps})`,
    );
    console.log(
      `  interplay (${info.path}, ${info.threads} threads, float32 cache): ${out.tokensPerSec} generated tokens/s`,
    );
    console.log(`  interplay, half-precision cache: ${out.f16.tokensPerSec} generated tokens/s`);
    console.log(
      `  interplay, half-precision cache + bf16 products: ${out.bf16.tokensPerSec} generated tokens/s`,
    );
    printAnchor(anchor, "generated tokens/s");
    if (ratio !== null)
      console.log(
        `  ratio: ${ratio.toFixed(2)}× (float32 cache), ${out.f16.ratio?.toFixed(2)}× (half-precision cache), ${out.bf16.ratio?.toFixed(2)}× (half-precision cache + bf16 products)`,
      );
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
