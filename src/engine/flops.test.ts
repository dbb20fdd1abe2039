import assert from "node:assert/strict";
import { test } from "node:test";
import { presetConfig } from "../model/config.js";
import { backwardFlops, forwardFlops } from "../model/flops.js";
import { Model } from "../model/model.js";
import { Rng } from "../util/rng.js";
import { flopsExecuted, native } from "./native.js";

test("the engine's FLOP counter equals the analytic count of a forward and a backward pass", () => {
  const c = presetConfig("micro", 97);
  const m = new Model(native, c);
  const rng = new Rng(1);
  m.init(() => rng.next());
  const B = 3;
  const T = 11;
  const tokens = Int32Array.from({ length: B * T }, () => rng.int(0, 96));
  const targets = Int32Array.from({ length: B * T }, () => rng.int(0, 96));
  const f0 = flopsExecuted();
  m.forward(tokens, B, T, targets);
  const f1 = flopsExecuted();
  m.backward();
  const f2 = flopsExecuted();
  assert.equal(f1 - f0, B * forwardFlops(c, T));
  assert.equal(f2 - f1, B * backwardFlops(c, T));
});
