import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "./rng.js";

const first = (r: Rng, k: number) => Array.from({ length: k }, () => r.nextU32());

describe("Rng", () => {
  test("world seeding: pinned outputs (world problems are hashed, so these never change)", () => {
    assert.deepEqual(first(new Rng(0), 3), [3252269579, 1754665846, 2561110916]);
    assert.deepEqual(first(new Rng(7, { seeding: "world" }), 3), [2661529019, 1457659438, 3129096376]);
    assert.deepEqual(new Rng(5).shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), [1, 7, 5, 6, 2, 8, 9, 4, 0, 3]);
  });

  test("splitmix seeding: pinned outputs (the bootstrap's stream, printed in report tables)", () => {
    assert.deepEqual(first(new Rng(0, { seeding: "splitmix" }), 3), [4286134918, 4058320966, 1443990630]);
    assert.deepEqual(
      first(new Rng(2 ** 32 + 1, { seeding: "splitmix" }), 3),
      [1793723985, 1053858671, 3467962771],
    );
  });

  test("splitmix seeding tells seeds above 2^32 apart; world seeding keeps only the low word", () => {
    const s = (seed: number) => new Rng(seed, { seeding: "splitmix" }).nextU32();
    assert.equal(new Set([0, 1, 2 ** 32, 2 ** 32 + 1, -1, 2 ** 53 - 1].map(s)).size, 6);
    assert.equal(new Rng(2 ** 32 + 1).nextU32(), new Rng(1).nextU32());
    assert.equal(s(3.9), s(3), "a fractional seed is truncated");
    assert.throws(() => new Rng(Number.NaN, { seeding: "splitmix" }), /seed must be a finite number/);
    assert.throws(() => new Rng(1, { seeding: "other" as "world" }), /seeding must be/);
  });

  test("shuffle is a permutation drawn from the back, one draw per position", () => {
    const r = new Rng(9);
    const twin = new Rng(9);
    const xs = r.shuffle(Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(
      [...xs].sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    );
    for (let i = 49; i > 0; i--) twin.next();
    assert.equal(r.nextU32(), twin.nextU32(), "49 draws for 50 elements");
  });
});
