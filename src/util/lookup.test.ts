import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { decodeSafetensors } from "../hf/safetensors.js";
import { PRESETS, presetConfig } from "../model/config.js";
import { RL_BASE_DEFAULTS, RL_DEFAULTS, resolveRlOptions } from "../rl/config.js";
import { problemPassAtK } from "../stats/passk.js";
import { builtinStudy, SCALES, STUDY_NAMES } from "../studies/builtin.js";
import { studyPlan, validateStudy } from "../studies/study.js";
import { verifySample } from "../verify/index.js";
import { REWARD_NAMES, rewardByName } from "../verify/rewards.js";
import { getContext } from "../world/contexts.js";
import { PRESETS as MIXTURES, resolveMixture, validateMixture } from "../world/mixture.js";
import { generateProblem } from "../world/problem.js";

const dir = mkdtempSync(join(tmpdir(), "interplay-lookup-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Names a plain object answers through Object.prototype (the four and valueOf first). */
const NAMES = [
  "constructor",
  "__proto__",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
];
// The helpers are imported where they are used, so that the other tests also run against code
// without them (how the tests were checked to fail before the fix).

describe("own-key lookups", () => {
  const table = { tiny: 1, small: 2 };

  it("describes a bad name without serialising it: a 10,000-deep array, a long string", async () => {
    const { lookup, oneOf } = await import("./lookup.js");
    let deep: unknown = [];
    for (let k = 0; k < 10_000; k++) deep = [deep];
    assert.throws(
      () => lookup(table, deep, "preset"),
      /^Error: unknown preset an array \(known: tiny, small\)$/,
    );
    assert.throws(() => oneOf(["a", "b"], { x: deep }, "form"), /unknown form an object \(known: a, b\)/);
    const long = "x".repeat(100_000);
    assert.throws(
      () => lookup(table, long, "preset"),
      (e: Error) => e.message.length < 120 && e.message.includes('"xxx'),
    );
  });

  it("hasName, lookup and oneOf never answer a prototype name", async () => {
    const { hasName, lookup, oneOf } = await import("./lookup.js");
    for (const name of NAMES) {
      assert.equal(hasName(table, name), false, name);
      assert.throws(
        () => lookup(table, name, "preset"),
        new RegExp(`^Error: unknown preset ${JSON.stringify(name)} \\(known: tiny, small\\)$`),
      );
      assert.throws(() => oneOf(["a", "b"], name, "mode"), /unknown mode .* \(known: a, b\)/);
    }
    assert.equal(lookup(table, "small", "preset"), 2);
    assert.equal(oneOf(["a", "b"], "b", "mode"), "b");
    assert.equal(hasName(table, 1 as unknown as string), false);
    assert.throws(() => lookup(table, undefined, "preset"), /unknown preset undefined/);
  });

  it("model presets", () => {
    for (const name of NAMES)
      assert.throws(
        () => presetConfig(name, 100),
        new RegExp(`unknown preset ${JSON.stringify(name)} \\(known: ${Object.keys(PRESETS).join(", ")}\\)`),
      );
    assert.equal(presetConfig("tiny", 100).hidden, 128);
  });

  it("mixture presets: a prototype name is no preset, so it must be a readable file", async () => {
    const { isMixtureName } = await import("../world/mixture.js");
    for (const name of NAMES) {
      assert.equal(isMixtureName(name), false);
      assert.throws(
        () => resolveMixture(name),
        (e: Error) =>
          e.message.startsWith(`mixture "${name}" is neither a preset (id2-10_uniform, `) &&
          e.message.endsWith("rl_opA-B) nor a readable file"),
        name,
      );
    }
    for (const name of Object.keys(MIXTURES)) assert.equal(resolveMixture(name).name, name);
    assert.equal(isMixtureName("rl_op3-5_forward"), true);
  });

  it("mixture files: prototype names as a field, a context, an op or a mode key are errors", () => {
    const ok = { contexts: { zoo: { p: 1, ops: { "2": 1 } } } };
    for (const name of NAMES) {
      const key = JSON.stringify(name);
      const cases: [string, RegExp][] = [
        [`{${key}: {}, "contexts": {"zoo": {"p": 1, "ops": {"2": 1}}}}`, /unknown field/],
        [
          `{"contexts": {${key}: {"p": 1, "ops": {"2": 1}}}}`,
          /unknown context .* \(known: zoo, school, movie\)/,
        ],
        [`{"contexts": {"zoo": {"p": 1, "ops": {${key}: 1}}}}`, /is not an op or a range/],
        [
          `{"contexts": {"zoo": {"p": 1, "ops": {"2": 1}}}, "modes": {${key}: 1}}`,
          /unknown mode .*forward, reverse/,
        ],
      ];
      for (const [text, re] of cases) {
        const file = join(dir, "m.json");
        writeFileSync(file, text);
        assert.throws(() => resolveMixture(file), re, text);
        assert.throws(() => validateMixture(JSON.parse(text)), re, text);
      }
    }
    assert.equal(validateMixture(ok).contexts[0].id, "zoo");
    assert.equal(({} as Record<string, unknown>).contexts, undefined, "nothing leaked into Object.prototype");
  });

  it("contexts, studies, scales", () => {
    for (const name of NAMES) {
      assert.throws(() => getContext(name), /unknown context .* \(known: zoo, school, movie\)/);
      assert.throws(
        () => builtinStudy(name as never, "tiny"),
        new RegExp(`unknown study ${JSON.stringify(name)} \\(known: ${STUDY_NAMES.join(", ")}\\)`),
      );
      assert.throws(
        () => builtinStudy("depth", name as never),
        new RegExp(`unknown scale ${JSON.stringify(name)} \\(known: ${SCALES.join(", ")}\\)`),
      );
    }
    assert.equal(builtinStudy("depth", "tiny").scale, "tiny");
    // A study file's stage preset is looked up the same way.
    const s = builtinStudy("depth", "tiny");
    for (const name of NAMES) {
      const bad = {
        ...s,
        stages: s.stages.map((st) => (st.kind === "pretrain" ? { ...st, preset: name } : st)),
      };
      assert.throws(
        () => studyPlan(bad),
        new RegExp(`unknown preset ${JSON.stringify(name)} \\(known: micro,`),
      );
    }
  });

  it("reward names, composite forms and pass@k estimators", () => {
    const p = generateProblem({ seed: 1, index: 0, op: 3, context: "zoo", mode: "forward" });
    const r = verifySample(p.completion, p);
    for (const name of NAMES) {
      assert.throws(
        () => rewardByName(name as never, r, 3),
        new RegExp(`unknown reward ${JSON.stringify(name)} \\(known: ${REWARD_NAMES.join(", ")}\\)`),
      );
      assert.throws(
        () => verifySample(p.completion, p, { form: name as never }),
        /form must be "gated" or "linear"/,
      );
      assert.throws(() => problemPassAtK([true, false], 1, name as never), /unknown estimator/);
    }
  });

  it("stage kinds, RL preset defaults, safetensors dtypes", () => {
    const s = builtinStudy("depth", "tiny");
    for (const name of NAMES) {
      const bad = { ...s, stages: [{ ...s.stages[0], kind: name }] } as never;
      assert.throws(() => validateStudy(bad), /kind must be one of pretrain, midtrain, rl, eval, edge/);
      // An unknown preset (a prototype name included) adds no RL defaults.
      assert.deepEqual(resolveRlOptions(name), { ...RL_BASE_DEFAULTS });
      const header = JSON.stringify({ w: { dtype: name, shape: [1], data_offsets: [0, 4] } });
      const buf = new Uint8Array(8 + header.length + 4);
      new DataView(buf.buffer).setBigUint64(0, BigInt(header.length), true);
      buf.set(new TextEncoder().encode(header), 8);
      assert.throws(() => decodeSafetensors(buf), /unsupported dtype/);
    }
    assert.equal(resolveRlOptions("tiny").promptsPerStep, RL_DEFAULTS.tiny.promptsPerStep);
  });
});
