/**
 * Training data as a stream: problems drawn from a mixture by (seed, index), rendered as model text,
 * tokenized, joined with <eos> and cut into rows of T+1 tokens. No corpus is stored; the position
 * in the stream (a cursor) is all a checkpoint needs to resume exactly.
 */
import type { TextTokenizer } from "../model/tokenizer.js";
import { hashSeed } from "../util/rng.js";
import { type Mixture, mixtureKey } from "../world/mixture.js";
import { generateProblem, modelText } from "../world/problem.js";

/**
 * Where a stream stands: the next problem index and the offset inside its tokens (`fit` packing:
 * also the earlier problems that fitted no row of the last batch and open the next one).
 */
export interface Cursor {
  index: number;
  offset: number;
  pending?: number[];
}

/** Split names: each draws from its own seed, so validation problems are not training ones. */
export type Split = "train" | "val";

/** Seed of a split's problems. */
export function splitSeed(seed: number, split: Split): number {
  return split === "train" ? seed : hashSeed(seed, "val-split");
}

/**
 * How problems fill rows: `stream` concatenates them and cuts rows anywhere (no padding, but a cut
 * problem is seen without its start); `aligned` starts every row at a problem and pads the rest of
 * the row when the next problem does not fit (pad targets are ignored by the loss); `fit` also starts
 * rows at problems but places each problem in the first row of the batch with room for it, so rows
 * are nearly full (a problem that fits nowhere waits for the next batch, in order).
 */
/** How problems fill the rows of a batch. */
export const PACKINGS = ["aligned", "fit", "stream"] as const;
export type Packing = (typeof PACKINGS)[number];

/**
 * Which targets the loss counts: `all` tokens of a problem, or only its `solution` (the tokens after
 * <solution>: the trace, the answer and <eos>); the question is still read, not predicted.
 */
export const LOSS_TARGETS = ["all", "solution"] as const;
export type LossTargets = (typeof LOSS_TARGETS)[number];

/**
 * Document starts of packed rows, for a document-masked attention: start[b·T+t] is the position
 * after the last <eos> before t in row b (0 if none), so each problem attends only to itself.
 */
export function documentStarts(
  tokens: Int32Array,
  B: number,
  T: number,
  eos: number,
  out: Int32Array,
): Int32Array {
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let t = 0; t < T; t++) {
      out[b * T + t] = s;
      if (tokens[b * T + t] === eos) s = t + 1;
    }
  }
  return out;
}

/** A deterministic token stream over a mixture. */
export class TokenStream {
  private current: number[] = [];
  /** Tokens of the problems waiting under `fit` packing (so a wait costs no second encoding). */
  private waitingIds = new Map<number, number[]>();
  readonly cursor: Cursor;

  constructor(
    private readonly tok: TextTokenizer,
    private readonly mixture: Mixture,
    private readonly seed: number,
    cursor: Cursor = { index: 0, offset: 0 },
    readonly packing: Packing = "stream",
    readonly lossOn: LossTargets = "all",
  ) {
    if (lossOn === "solution" && packing === "stream")
      throw new Error("a solution-only loss needs rows that start at problems: packing aligned or fit");
    const sol = [tok.id("<solution>"), tok.id(" <solution>")].filter((i) => i !== undefined);
    if (lossOn === "solution" && sol.length === 0) throw new Error("the tokenizer has no <solution> token");
    this.solutionIds = sol as number[];
    this.cursor = { ...cursor, ...(cursor.pending ? { pending: [...cursor.pending] } : {}) };
    if (this.cursor.offset > 0) this.current = this.encode(this.cursor.index);
  }

  private readonly solutionIds: number[];

  /** Index in a problem's tokens of the first one the loss predicts (0: every token). */
  private firstTarget(ids: number[]): number {
    if (this.lossOn === "all") return 0;
    for (let k = 0; k < ids.length; k++) if (this.solutionIds.includes(ids[k])) return k + 1;
    return ids.length;
  }

  private encode(index: number): number[] {
    const p = generateProblem(mixtureKey(this.mixture, this.seed, index), { letters: this.mixture.letters });
    const ids = this.tok.encode(modelText(p));
    ids.push(this.tok.eosId);
    return ids;
  }

  /** Fills `out` with the next tokens of the stream. */
  fill(out: Int32Array): void {
    let i = 0;
    while (i < out.length) {
      if (this.cursor.offset === 0) this.current = this.encode(this.cursor.index);
      const take = Math.min(out.length - i, this.current.length - this.cursor.offset);
      for (let k = 0; k < take; k++) out[i + k] = this.current[this.cursor.offset + k];
      i += take;
      this.cursor.offset += take;
      if (this.cursor.offset === this.current.length) {
        this.cursor.index++;
        this.cursor.offset = 0;
      }
    }
  }

  /**
   * Next batch: B·T inputs and the B·T targets one token ahead (rows are consecutive pieces of the
   * stream). The stream then steps back one token, so the last target is the next batch's first input.
   */
  nextBatch(B: number, T: number, tokens: Int32Array, targets: Int32Array): number {
    if (this.packing === "aligned") return this.nextAligned(B, T, tokens, targets);
    if (this.packing === "fit") return this.nextFit(B, T, tokens, targets);
    const buf = new Int32Array(B * T + 1);
    this.fill(buf);
    tokens.set(buf.subarray(0, B * T));
    targets.set(buf.subarray(1));
    if (this.cursor.offset > 0) this.cursor.offset--;
    else {
      this.cursor.index--;
      this.current = this.encode(this.cursor.index);
      this.cursor.offset = this.current.length - 1;
    }
    return B * T;
  }

  /**
   * Aligned packing: each row of T+1 tokens takes whole problems while they fit (a problem longer
   * than a row is truncated to it), then pads; targets of pad positions are −1. Returns the number
   * of counted targets.
   */
  private nextAligned(B: number, T: number, tokens: Int32Array, targets: Int32Array): number {
    const row = new Int32Array(T + 1);
    const target = new Uint8Array(T + 1);
    let counted = 0;
    for (let b = 0; b < B; b++) {
      let used = 0;
      target.fill(0);
      for (;;) {
        if (this.current.length === 0) this.current = this.encode(this.cursor.index);
        const ids = this.current;
        if (used > 0 && used + ids.length > T + 1) break;
        const take = Math.min(ids.length, T + 1 - used);
        const from = this.firstTarget(ids);
        for (let k = 0; k < take; k++) {
          row[used + k] = ids[k];
          target[used + k] = k >= from ? 1 : 0;
        }
        used += take;
        this.cursor.index++;
        this.current = [];
        if (used === T + 1) break;
      }
      // The problem that did not fit (kept in `current`) opens the next row.
      row.fill(this.tok.padId, used);
      for (let t = 0; t < T; t++) {
        tokens[b * T + t] = row[t];
        const counts = t + 1 < used && target[t + 1] === 1;
        targets[b * T + t] = counts ? row[t + 1] : -1;
        if (counts) counted++;
      }
    }
    return counted;
  }

  /**
   * Fit packing: problems, in stream order (waiting ones first), go to the first row of the batch
   * with room for them (an empty row takes any problem, truncated to T+1); a problem that fits no
   * row waits for the next batch. The batch closes after B such misses in a row. Pads as `aligned`.
   */
  private nextFit(B: number, T: number, tokens: Int32Array, targets: Int32Array): number {
    const W = T + 1;
    const rows = new Int32Array(B * W).fill(this.tok.padId);
    const target = new Uint8Array(B * W);
    const used = new Int32Array(B);
    const waiting: number[] = [];
    const place = (ids: number[]): boolean => {
      for (let b = 0; b < B; b++) {
        if (used[b] > 0 && used[b] + ids.length > W) continue;
        const take = Math.min(ids.length, W - used[b]);
        const from = this.firstTarget(ids);
        for (let k = 0; k < take; k++) {
          rows[b * W + used[b] + k] = ids[k];
          target[b * W + used[b] + k] = k >= from ? 1 : 0;
        }
        used[b] += take;
        return true;
      }
      return false;
    };
    const ids = new Map<number, number[]>();
    const wait = (index: number, tokens: number[]) => {
      waiting.push(index);
      ids.set(index, tokens);
    };
    for (const index of this.cursor.pending ?? []) {
      const tokens = this.waitingIds.get(index) ?? this.encode(index);
      if (!place(tokens)) wait(index, tokens);
    }
    for (let misses = waiting.length; misses < B; ) {
      const index = this.cursor.index++;
      const tokens = this.encode(index);
      if (place(tokens)) misses = 0;
      else {
        wait(index, tokens);
        misses++;
      }
    }
    this.cursor.pending = waiting;
    this.waitingIds = ids;
    let counted = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        tokens[b * T + t] = rows[b * W + t];
        const counts = t + 1 < used[b] && target[b * W + t + 1] === 1;
        targets[b * T + t] = counts ? rows[b * W + t + 1] : -1;
        if (counts) counted++;
      }
    }
    return counted;
  }
}
