/**
 * The batched sampler: continuous batching over a key/value cache. Each iteration runs one forward
 * over the rows of every active sequence (one token each) plus the prompt rows of newly admitted
 * requests; finished sequences free their slot at once, so the batch stays dense. The samples of
 * one prompt share its prefill (computed once, copied to their slots). Every sample draws from its
 * own random stream, seeded by (seed, request, sample), so results do not depend on batching.
 */

import { reference } from "../engine/reference.js";
import { KVDecoder, type KVPrecision, type ProductPrecision } from "../model/decode.js";
import type { Model } from "../model/model.js";
import { hashSeed, Rng } from "../util/rng.js";

/** Decoding options (defaults: the reference's evaluation settings, training.md §2). */
export interface SampleOptions {
  /** 0 means greedy (argmax). Default 0.7. */
  temperature?: number;
  /** Nucleus sampling mass in (0, 1]; 1 keeps every token. Default 1. */
  topP?: number;
  /** Keep only the k most likely tokens; 0 keeps all. Default 0. */
  topK?: number;
  /** Longest completion in tokens. Default 512. */
  maxNew?: number;
  /** Token ids that end a completion (kept as its last token). */
  stop?: readonly number[];
  /** Seed of every random draw. Default 0. */
  seed?: number;
  /** Sequences decoded together (cache slots). Default 64. */
  batch?: number;
  /**
   * Key/value cache precision: "f32" (default; logits equal a full forward within 1e-4) or "f16"
   * (half the memory traffic that bounds decoding; logits move by ~1e-3).
   */
  kvCache?: KVPrecision;
  /**
   * Matrix products: "f32" (default) or "bf16" (inputs rounded to bfloat16, float32 sums; AVX512_BF16
   * runs them at twice the float32 rate; logits move by ~1e-2).
   */
  products?: ProductPrecision;
}

/** A prompt and how many completions to draw from it. */
export interface SampleRequest {
  prompt: readonly number[];
  n: number;
}

/** Why a completion ended. */
export type FinishReason = "stop" | "length";

/** One completion. */
export interface Completion {
  request: number;
  sample: number;
  tokens: number[];
  finish: FinishReason;
}

/** Totals of a sampling call. */
export interface SampleStats {
  completions: number;
  generatedTokens: number;
  prefillTokens: number;
  forwardCalls: number;
  seconds: number;
}

/** Resolved options with defaults, validated (a bad value is an Error naming it). */
export function sampleOptions(o: SampleOptions = {}): Required<SampleOptions> {
  const r = {
    temperature: o.temperature ?? 0.7,
    topP: o.topP ?? 1,
    topK: o.topK ?? 0,
    maxNew: o.maxNew ?? 512,
    stop: o.stop ?? [],
    seed: o.seed ?? 0,
    batch: o.batch ?? 64,
    kvCache: o.kvCache ?? "f32",
    products: o.products ?? "f32",
  };
  if (!(Number.isFinite(r.temperature) && r.temperature >= 0))
    throw new Error(`temperature must be >= 0, got ${r.temperature}`);
  if (!(r.topP > 0 && r.topP <= 1)) throw new Error(`top-p must be in (0, 1], got ${r.topP}`);
  if (!(Number.isInteger(r.topK) && r.topK >= 0))
    throw new Error(`top-k must be a non-negative integer, got ${r.topK}`);
  if (!(Number.isInteger(r.maxNew) && r.maxNew >= 1))
    throw new Error(`max new tokens must be a positive integer, got ${r.maxNew}`);
  if (!(Number.isInteger(r.batch) && r.batch >= 1))
    throw new Error(`batch must be a positive integer, got ${r.batch}`);
  if (!Number.isInteger(r.seed)) throw new Error(`seed must be an integer, got ${r.seed}`);
  if (r.kvCache !== "f32" && r.kvCache !== "f16")
    throw new Error(`kv cache must be "f32" or "f16", got ${JSON.stringify(r.kvCache)}`);
  if (r.products !== "f32" && r.products !== "bf16")
    throw new Error(`products must be "f32" or "bf16", got ${JSON.stringify(r.products)}`);
  return r;
}

/**
 * Draws a token from logits[V] (one row): argmax when temperature is 0, else softmax(logits/T)
 * restricted to the top-k tokens and then to the smallest set holding top-p of the mass.
 */
export function drawToken(
  logits: Float32Array,
  o: Required<SampleOptions>,
  rng: Rng,
  scratch?: Float64Array,
): number {
  const V = logits.length;
  if (plainDraw(o, V)) {
    // The plain path is the kernel's (one definition): argmax at temperature 0, else inverse CDF.
    const out = new Int32Array(1);
    const u = Float64Array.of(o.temperature === 0 ? 0 : rng.next());
    reference.drawRows(out, logits, u, 1, V, o.temperature === 0 ? 0 : 1 / o.temperature);
    return out[0];
  }
  let mx = Number.NEGATIVE_INFINITY;
  for (let j = 0; j < V; j++) if (logits[j] > mx) mx = logits[j];
  const p = scratch && scratch.length >= V ? scratch : new Float64Array(V);
  const invT = 1 / o.temperature;
  for (let j = 0; j < V; j++) p[j] = Math.exp((logits[j] - mx) * invT);
  // Sort token ids by probability, keep the head, sample within it.
  const ids = Array.from({ length: V }, (_, j) => j).sort((a, b) => p[b] - p[a] || a - b);
  let keep = o.topK > 0 ? Math.min(o.topK, V) : V;
  if (o.topP < 1) {
    let sum = 0;
    for (let j = 0; j < V; j++) sum += p[j];
    let mass = 0;
    for (let i = 0; i < keep; i++) {
      mass += p[ids[i]] / sum;
      if (mass >= o.topP) {
        keep = i + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let i = 0; i < keep; i++) kept += p[ids[i]];
  let u = rng.next() * kept;
  for (let i = 0; i < keep; i++) {
    u -= p[ids[i]];
    if (u < 0) return ids[i];
  }
  return ids[keep - 1];
}

/** Whether a draw needs neither top-k nor top-p (the batched kernel's path; greedy included). */
function plainDraw(o: Required<SampleOptions>, V: number): boolean {
  return o.temperature === 0 || ((o.topK === 0 || o.topK >= V) && o.topP >= 1);
}

/** The last decoder of each model, reused while it is large enough (its cache is hundreds of MB). */
const decoders = new WeakMap<Model, KVDecoder>();

function decoderFor(
  model: Model,
  slots: number,
  maxLen: number,
  cache: KVPrecision,
  products: ProductPrecision,
): KVDecoder {
  const d = decoders.get(model);
  if (d && d.slots >= slots && d.maxLen >= maxLen && d.cache === cache && d.products === products) {
    d.refreshWeights(); // the model may have been trained since (RL)
    return d;
  }
  decoders.delete(model); // let the old cache go before allocating the new one
  const fresh = new KVDecoder(model, slots, maxLen, cache, products);
  decoders.set(model, fresh);
  return fresh;
}

/** An active sequence. */
interface Active {
  request: number;
  sample: number;
  slot: number;
  pos: number; // position of the next token to feed
  last: number; // the token to feed
  tokens: number[];
  rng: Rng;
}

/**
 * Samples `n` completions of each request. `onComplete` sees every completion as it finishes (in
 * finishing order); the returned list is ordered by (request, sample). `skip(request, sample)` lets
 * a resumed run leave out completions it already has.
 */
export function sampleBatched(
  model: Model,
  requests: readonly SampleRequest[],
  options: SampleOptions = {},
  hooks: {
    onComplete?: (c: Completion) => void;
    skip?: (request: number, sample: number) => boolean;
    onProgress?: (s: SampleStats) => void;
  } = {},
): { completions: Completion[]; stats: SampleStats } {
  const o = sampleOptions(options);
  const V = model.config.vocabSize;
  const stop = new Set(o.stop);
  let longest = 0;
  requests.forEach((r, i) => {
    if (!(Number.isInteger(r.n) && r.n >= 1))
      throw new Error(`request ${i}: samples must be a positive integer, got ${r.n}`);
    if (r.prompt.length === 0) throw new Error(`request ${i}: empty prompt`);
    for (const t of r.prompt)
      if (!(Number.isInteger(t) && t >= 0 && t < V))
        throw new Error(`request ${i}: token ${t} outside the vocabulary [0, ${V})`);
    if (r.prompt.length >= model.config.context)
      throw new Error(
        `request ${i}: prompt of ${r.prompt.length} tokens leaves no room in the model context ${model.config.context}`,
      );
    longest = Math.max(longest, r.prompt.length);
  });
  const maxLen = Math.min(model.config.context, longest + o.maxNew);
  // Pending work: (request, sample) pairs in order, minus the ones to skip.
  const pending: [number, number][] = [];
  requests.forEach((r, i) => {
    for (let s = 0; s < r.n; s++) if (!hooks.skip?.(i, s)) pending.push([i, s]);
  });
  const slots = Math.max(1, Math.min(o.batch, pending.length));
  const dec = decoderFor(model, slots, maxLen, o.kvCache, o.products);
  const free: number[] = Array.from({ length: slots }, (_, i) => slots - 1 - i);
  let active: Active[] = [];
  const done: Completion[] = [];
  const stats: SampleStats = {
    completions: 0,
    generatedTokens: 0,
    prefillTokens: 0,
    forwardCalls: 0,
    seconds: 0,
  };
  const scratch = new Float64Array(V);
  const k = model.kernels;
  const plain = plainDraw(o, V);
  const invT = o.temperature === 0 ? 0 : 1 / o.temperature;
  const u = new Float64Array(slots);
  const drawn = new Int32Array(slots);
  const t0 = performance.now();
  let next = 0;
  const finish = (a: Active, why: FinishReason) => {
    const c: Completion = { request: a.request, sample: a.sample, tokens: a.tokens, finish: why };
    done.push(c);
    free.push(a.slot);
    stats.completions++;
    hooks.onComplete?.(c);
  };
  while (next < pending.length || active.length > 0) {
    // Admit groups of pending samples that share a prompt: one prefill each, copied to siblings.
    const rows: { token: number; slot: number; pos: number }[] = [];
    const logitRows: number[] = [];
    const groups: Active[][] = [];
    while (next < pending.length && free.length > 0) {
      const req = pending[next][0];
      const prompt = requests[req].prompt;
      const group: Active[] = [];
      while (next < pending.length && pending[next][0] === req && free.length > 0) {
        const [, s] = pending[next++];
        const slot = free.pop() as number;
        group.push({
          request: req,
          sample: s,
          slot,
          pos: prompt.length,
          last: -1,
          tokens: [],
          rng: new Rng(hashSeed(o.seed, req, s, "sample")),
        });
      }
      for (let pos = 0; pos < prompt.length; pos++)
        rows.push({ token: prompt[pos], slot: group[0].slot, pos });
      logitRows.push(rows.length - 1);
      groups.push(group);
      stats.prefillTokens += prompt.length;
    }
    for (const a of active) {
      rows.push({ token: a.last, slot: a.slot, pos: a.pos });
      logitRows.push(rows.length - 1);
    }
    const logits = dec.forward(rows, logitRows);
    stats.forwardCalls++;
    let li = 0;
    const stepped: Active[] = [];
    for (const g of groups) {
      const row = logits.subarray(li * V, (li + 1) * V);
      li++;
      const plen = requests[g[0].request].prompt.length;
      for (const a of g) {
        dec.copySlot(a.slot, g[0].slot, plen);
        stepped.push(a);
        if (plain) {
          u[0] = o.temperature === 0 ? 0 : a.rng.next();
          k.drawRows(drawn, row, u, 1, V, invT);
          a.last = drawn[0];
        } else a.last = drawToken(row, o, a.rng, scratch);
      }
    }
    if (plain && active.length > 0) {
      // One kernel call draws every active row (each with its own stream's uniform).
      const L = active.length;
      for (let i = 0; i < L; i++) u[i] = o.temperature === 0 ? 0 : active[i].rng.next();
      k.drawRows(drawn, logits.subarray(li * V, (li + L) * V), u, L, V, invT);
      active.forEach((a, i) => {
        a.pos++;
        stepped.push(a);
        a.last = drawn[i];
      });
    } else
      for (const a of active) {
        const row = logits.subarray(li * V, (li + 1) * V);
        li++;
        a.pos++;
        stepped.push(a);
        a.last = drawToken(row, o, a.rng, scratch);
      }
    active = [];
    for (const a of stepped) {
      a.tokens.push(a.last);
      stats.generatedTokens++;
      if (stop.has(a.last)) finish(a, "stop");
      else if (a.tokens.length >= o.maxNew || a.pos >= maxLen) finish(a, "length");
      else active.push(a);
    }
    stats.seconds = (performance.now() - t0) / 1000;
    hooks.onProgress?.(stats);
  }
  done.sort((x, y) => x.request - y.request || x.sample - y.sample);
  return { completions: done, stats };
}
