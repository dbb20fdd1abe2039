/**
 * Problem rows in the formats GPU trainers read (shared/spec/interop.md, "Data sets"): verl's
 * parquet rows, TRL's prompt-plus-columns rows, and the lab's own problem JSONL. Every row carries
 * the gold graph and answer, so a reward can be computed from the row alone, and the id and seed
 * that regenerate the problem.
 */
import { goldProblemError } from "../world/load.js";
import type { GoldGraph, Problem } from "../world/types.js";
import type { Field } from "./parquet.js";

/** Export formats of problem files. */
export type DataFormat = "verl" | "trl" | "jsonl";

/** All export formats. */
export const DATA_FORMATS: readonly DataFormat[] = ["verl", "trl", "jsonl"];

/** A gold graph node as stored in exported rows: `expr` is null outside reverse mode. */
export interface ExportedNode {
  name: string;
  value: number;
  parents: string[];
  expr: string | null;
}

/** The gold graph as stored in exported rows. */
export interface ExportedGraph {
  nodes: ExportedNode[];
}

/** verl's row (its RLHFDataset and NaiveRewardManager read these keys). */
export interface VerlRow {
  data_source: string;
  /** Chat messages; the one user message holds the model-format prompt (world.md §7), tags included. */
  prompt: { role: "user"; content: string }[];
  ability: string;
  reward_model: { style: "rule"; ground_truth: string };
  extra_info: {
    split: string;
    /** Row number within the exported file (verl's convention). */
    index: number;
    id: string;
    op: number;
    context: string;
    mode: string;
    seed: number;
    /** The problem's own index: (seed, problem_index, op, context, mode) regenerate it. */
    problem_index: number;
    answer: string;
    gold_graph: ExportedGraph;
  };
}

/** TRL's row: `prompt` (standard text or conversational) plus the columns a reward function reads. */
export interface TrlRow {
  prompt: string | { role: "user"; content: string }[];
  id: string;
  answer: string;
  gold_graph: ExportedGraph;
  op: number;
  context: string;
  mode: string;
  seed: number;
  index: number;
}

/** How a TRL prompt is written: standard text, or a conversational list of messages. */
export const TRL_PROMPT_STYLES = ["text", "chat"] as const;
export type TrlPromptStyle = (typeof TRL_PROMPT_STYLES)[number];

const NODE: Field[] = [
  { name: "name", type: "string" },
  { name: "value", type: "double" },
  { name: "parents", type: { list: "string" } },
  { name: "expr", type: "string" },
];
const GRAPH: Field[] = [{ name: "nodes", type: { list: { struct: NODE } } }];
const MESSAGES = {
  list: {
    struct: [
      { name: "role", type: "string" },
      { name: "content", type: "string" },
    ],
  },
} as const satisfies { list: { struct: Field[] } };

/** The parquet schema of verl rows. */
export const VERL_FIELDS: Field[] = [
  { name: "data_source", type: "string" },
  { name: "prompt", type: MESSAGES },
  { name: "ability", type: "string" },
  {
    name: "reward_model",
    type: {
      struct: [
        { name: "style", type: "string" },
        { name: "ground_truth", type: "string" },
      ],
    },
  },
  {
    name: "extra_info",
    type: {
      struct: [
        { name: "split", type: "string" },
        { name: "index", type: "int64" },
        { name: "id", type: "string" },
        { name: "op", type: "int64" },
        { name: "context", type: "string" },
        { name: "mode", type: "string" },
        { name: "seed", type: "int64" },
        { name: "problem_index", type: "int64" },
        { name: "answer", type: "string" },
        { name: "gold_graph", type: { struct: GRAPH } },
      ],
    },
  },
];

/** The parquet schema of TRL rows (when written as parquet rather than JSONL). */
export function trlFields(style: TrlPromptStyle): Field[] {
  return [
    { name: "prompt", type: style === "chat" ? MESSAGES : "string" },
    { name: "id", type: "string" },
    { name: "answer", type: "string" },
    { name: "gold_graph", type: { struct: GRAPH } },
    { name: "op", type: "int64" },
    { name: "context", type: "string" },
    { name: "mode", type: "string" },
    { name: "seed", type: "int64" },
    { name: "index", type: "int64" },
  ];
}

/** Fields a problem line needs to be exported (as `generate` writes them). */
const REQUIRED_STRINGS = [
  "context",
  "mode",
  "problem",
  "question",
  "solution",
  "prompt",
  "completion",
] as const;

/** Why a parsed line is not an exportable problem, or null when it is. */
export function problemLineError(x: unknown): string | null {
  const gold = goldProblemError(x);
  if (gold) return gold;
  const p = x as Record<string, unknown>;
  for (const k of REQUIRED_STRINGS) if (typeof p[k] !== "string") return `"${k}" must be a string`;
  for (const k of ["seed", "index"] as const) {
    if (typeof p[k] !== "number" || !Number.isSafeInteger(p[k]) || (p[k] as number) < 0)
      return `"${k}" must be a non-negative integer`;
  }
  if (p.mode !== "forward" && p.mode !== "reverse") return `"mode" must be "forward" or "reverse"`;
  return null;
}

/** The gold graph with `expr` made explicit (null when absent), for columnar formats. */
export function exportGraph(g: GoldGraph): ExportedGraph {
  return {
    nodes: g.nodes.map((n) => ({
      name: n.name,
      value: n.value,
      parents: [...n.parents],
      expr: n.expr ?? null,
    })),
  };
}

/** The lab's gold graph from an exported one (null `expr` dropped). */
export function importGraph(g: ExportedGraph): GoldGraph {
  return {
    nodes: g.nodes.map((n) => {
      const node: GoldGraph["nodes"][number] = { name: n.name, value: n.value, parents: [...n.parents] };
      if (n.expr !== null && n.expr !== undefined) node.expr = n.expr;
      return node;
    }),
  };
}

/** Options of the verl row. */
export interface VerlOptions {
  /** `data_source` (what a verl compute_score dispatches on); default "interplay". */
  dataSource?: string;
  /** `extra_info.split`; default "train". */
  split?: string;
  /** `ability`; default "math". */
  ability?: string;
}

/** A problem as a verl row; `row` is its position in the file. */
export function verlRow(p: Problem, row: number, opts: VerlOptions = {}): VerlRow {
  return {
    data_source: opts.dataSource ?? "interplay",
    prompt: [{ role: "user", content: p.prompt }],
    ability: opts.ability ?? "math",
    reward_model: { style: "rule", ground_truth: p.answer },
    extra_info: {
      split: opts.split ?? "train",
      index: row,
      id: p.id,
      op: p.op,
      context: p.context,
      mode: p.mode,
      seed: p.seed,
      problem_index: p.index,
      answer: p.answer,
      gold_graph: exportGraph(p.graph),
    },
  };
}

/** A problem as a TRL row. */
export function trlRow(p: Problem, style: TrlPromptStyle = "text"): TrlRow {
  return {
    prompt: style === "chat" ? [{ role: "user", content: p.prompt }] : p.prompt,
    id: p.id,
    answer: p.answer,
    gold_graph: exportGraph(p.graph),
    op: p.op,
    context: p.context,
    mode: p.mode,
    seed: p.seed,
    index: p.index,
  };
}

/** A problem in the lab's JSONL layout (interop.md): fixed key order, nothing else. */
export function jsonlRow(p: Problem): Problem {
  return {
    id: p.id,
    seed: p.seed,
    index: p.index,
    context: p.context,
    mode: p.mode,
    op: p.op,
    problem: p.problem,
    question: p.question,
    solution: p.solution,
    answer: p.answer,
    prompt: p.prompt,
    completion: p.completion,
    graph: p.graph,
  };
}
