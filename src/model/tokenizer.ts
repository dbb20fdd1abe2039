/**
 * The world's closed vocabulary (issue 3): every word of the context tables, the fixed template
 * and trace words, punctuation, the six tags, variable letters and every integer 0–1000 as one
 * token (or single digits with `digits: true`). A token carries its leading space (" Zoo", "."), so
 * decoding is concatenation and the round trip is exact. Saved as a Hugging Face WordLevel
 * `tokenizer.json` whose Split pre-tokenizer uses the same pattern and whose decoder is Fuse.
 */
import { CONTEXTS, type Context } from "../world/contexts.js";

/** Special tokens, first in the vocabulary. */
export const SPECIALS = ["<pad>", "<eos>", "<unk>"] as const;
/** The model-format tags (world.md §7). */
export const TAGS = [
  "<question>",
  "</question>",
  "<solution>",
  "</solution>",
  "<answer>",
  "</answer>",
] as const;
/** Words of the problem sentences, questions and traces (both modes). */
export const TEMPLATE_WORDS = [
  "The",
  "the",
  "number",
  "of",
  "in",
  "equals",
  "plus",
  "times",
  "sum",
  "and",
  "difference",
  "between",
  "exists",
  "its",
  "is",
  "greater",
  "than",
  "How",
  "many",
  "does",
  "have",
  "What",
  "total",
  "Define",
  "as",
  "so",
  "We",
  "know",
  "we",
  "Subtract",
  "from",
  "both",
  "sides",
  "Add",
  "to",
  "Divide",
  "by",
  "Solution",
  "Answer",
];
/** Punctuation and operators. */
export const PUNCTUATION = [".", ",", ";", ":", "?", "=", "+", "-", "*", "(", ")"];
/** Largest integer with its own token. */
export const MAX_NUMBER_TOKEN = 1000;

/** The pre-tokenization pattern (JavaScript and Oniguruma agree on it): an optional space, then one piece. */
export function tokenPattern(digits: boolean): string {
  const num = digits ? "\\d" : "\\d+";
  return ` ?(?:</?[a-z]+>|[A-Za-zÀ-ÖØ-öø-ÿ]+|${num}|[^\\sA-Za-zÀ-ÖØ-öø-ÿ\\d])`;
}

/** Options of the world tokenizer. */
export interface TokenizerOptions {
  /** Single-digit number tokens instead of one token per integer 0–1000. */
  digits?: boolean;
  /** Contexts whose words enter the vocabulary (default: all built-in). */
  contexts?: readonly Context[];
}

/** A tokenizer the engine can use: ids in, text out. */
export interface TextTokenizer {
  readonly vocabSize: number;
  readonly eosId: number;
  readonly padId: number;
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
  /** Id of a token string (e.g. " </answer>"), or undefined. */
  id(token: string): number | undefined;
}

/** The closed-vocabulary tokenizer of the world. */
export class WorldTokenizer implements TextTokenizer {
  readonly vocab: string[];
  readonly digits: boolean;
  private readonly ids: Map<string, number>;
  private readonly re: RegExp;

  constructor(opts: TokenizerOptions & { vocab?: string[] } = {}) {
    this.digits = opts.digits ?? false;
    this.vocab = opts.vocab ?? buildVocab(opts);
    this.ids = new Map(this.vocab.map((t, i) => [t, i]));
    if (this.ids.size !== this.vocab.length) throw new Error("tokenizer vocabulary has duplicate entries");
    for (const s of SPECIALS)
      if (!this.ids.has(s)) throw new Error(`tokenizer vocabulary lacks the special token ${s}`);
    this.re = new RegExp(tokenPattern(this.digits), "gy");
  }

  get vocabSize(): number {
    return this.vocab.length;
  }
  get eosId(): number {
    return this.ids.get("<eos>")!;
  }
  get padId(): number {
    return this.ids.get("<pad>")!;
  }

  id(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** Encodes text; any character sequence outside the vocabulary is an error naming it. */
  encode(text: string): number[] {
    const out: number[] = [];
    const re = this.re;
    re.lastIndex = 0;
    let pos = 0;
    while (pos < text.length) {
      re.lastIndex = pos;
      const m = re.exec(text);
      if (!m) {
        const ctx = text.slice(Math.max(0, pos - 20), pos + 20);
        throw new Error(`cannot tokenize at character ${pos} (${JSON.stringify(text[pos])}) in "…${ctx}…"`);
      }
      const id = this.ids.get(m[0]);
      if (id === undefined) {
        const word = m[0].trim();
        const hint =
          /^\d+$/.test(word) && !this.digits
            ? ` (integers above ${MAX_NUMBER_TOKEN} need the digit-level tokenizer)`
            : "";
        throw new Error(`"${word}" is not in the vocabulary${hint}`);
      }
      out.push(id);
      pos = re.lastIndex;
    }
    return out;
  }

  /** Concatenates token strings; specials decode to their names except <pad>, which decodes to nothing. */
  decode(ids: ArrayLike<number>): string {
    let s = "";
    for (let i = 0; i < ids.length; i++) {
      const t = this.vocab[ids[i]];
      if (t === undefined)
        throw new Error(`token id ${ids[i]} is outside the vocabulary (size ${this.vocab.length})`);
      if (t !== "<pad>") s += t;
    }
    return s;
  }

  /** The Hugging Face `tokenizer.json` of this vocabulary. */
  toHuggingFace(): object {
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: SPECIALS.map((s) => ({
        id: this.ids.get(s),
        content: s,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: null,
      pre_tokenizer: {
        type: "Split",
        pattern: { Regex: tokenPattern(this.digits) },
        behavior: "Isolated",
        invert: false,
      },
      post_processor: null,
      decoder: { type: "Fuse" },
      model: {
        type: "WordLevel",
        vocab: Object.fromEntries(this.vocab.map((t, i) => [t, i])),
        unk_token: "<unk>",
      },
    };
  }

  /** `tokenizer_config.json` beside it. */
  toHuggingFaceConfig(): object {
    return {
      tokenizer_class: "PreTrainedTokenizerFast",
      bos_token: null,
      eos_token: "<eos>",
      pad_token: "<pad>",
      unk_token: "<unk>",
      model_max_length: 1_000_000,
      clean_up_tokenization_spaces: false,
      interplay: { kind: "world", digits: this.digits },
    };
  }

  /** Rebuilds from a `tokenizer.json` written by toHuggingFace (or throws naming what differs). */
  static fromHuggingFace(json: unknown): WorldTokenizer {
    const j = json as {
      model?: { type?: string; vocab?: Record<string, number> };
      pre_tokenizer?: { pattern?: { Regex?: string } };
    };
    if (j?.model?.type !== "WordLevel" || !j.model.vocab)
      throw new Error("tokenizer.json: not a WordLevel model");
    const pattern = j.pre_tokenizer?.pattern?.Regex;
    const digits = pattern === tokenPattern(true);
    if (!digits && pattern !== tokenPattern(false))
      throw new Error("tokenizer.json: pre-tokenizer pattern is not the world's");
    const vocab: string[] = [];
    for (const [t, i] of Object.entries(j.model.vocab)) {
      if (!Number.isInteger(i) || i < 0) throw new Error(`tokenizer.json: bad id for "${t}"`);
      if (vocab[i] !== undefined) throw new Error(`tokenizer.json: id ${i} is used twice`);
      vocab[i] = t;
    }
    for (let i = 0; i < vocab.length; i++)
      if (vocab[i] === undefined) throw new Error(`tokenizer.json: id ${i} is missing`);
    return new WorldTokenizer({ digits, vocab });
  }
}

/** Builds the closed vocabulary: specials, tags, words, letters, punctuation, numbers; each piece with and without its leading space. */
export function buildVocab(opts: TokenizerOptions = {}): string[] {
  const digits = opts.digits ?? false;
  const contexts = opts.contexts ?? CONTEXTS;
  const pieces: string[] = [...TAGS];
  const words = new Set<string>(TEMPLATE_WORDS);
  const wordRe = /[A-Za-zÀ-ÖØ-öø-ÿ]+/g;
  for (const c of contexts) {
    for (const s of [...c.places, ...c.items, c.total]) for (const w of s.match(wordRe) ?? []) words.add(w);
  }
  for (let i = 0; i < 26; i++) {
    words.add(String.fromCharCode(65 + i));
    words.add(String.fromCharCode(97 + i));
  }
  pieces.push(...[...words].sort());
  pieces.push(...PUNCTUATION);
  const maxN = digits ? 9 : MAX_NUMBER_TOKEN;
  for (let n = 0; n <= maxN; n++) pieces.push(String(n));
  const vocab: string[] = [...SPECIALS];
  for (const p of pieces) vocab.push(p, ` ${p}`);
  // Punctuation inside context names (e.g. "Saint-Rivage") is covered by PUNCTUATION.
  for (const c of contexts) {
    for (const s of [...c.places, ...c.items]) {
      for (const ch of s.replace(wordRe, "").replace(/\s/g, "")) {
        if (!PUNCTUATION.includes(ch)) throw new Error(`context "${c.id}": character "${ch}" has no token`);
      }
    }
  }
  return vocab;
}
