import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromBf16, fromHalf, toBf16, toHalf } from "./half.js";

describe("half precision", () => {
  it("round-trips every finite binary16 value and keeps NaN a NaN", () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = fromHalf(h);
      if (Number.isNaN(x)) assert.ok(Number.isNaN(fromHalf(toHalf(x))), `NaN bits ${h}`);
      else assert.equal(toHalf(x), h, `bits ${h.toString(16)} → ${x}`);
    }
  });

  it("rounds to the nearest half, ties to even, overflow to infinity, tiny to zero", () => {
    // Midpoints between neighbours go to the one with an even mantissa; just off them, to the nearer.
    for (const h of [0x0001, 0x0400, 0x3c00, 0x3c01, 0x7bfe, 0x03ff]) {
      const lo = fromHalf(h);
      const hi = fromHalf(h + 1);
      const mid = (lo + hi) / 2;
      assert.equal(toHalf(mid), h % 2 === 0 ? h : h + 1, `tie between ${h} and ${h + 1}`);
      assert.equal(toHalf(mid - (hi - lo) / 8), h);
      assert.equal(toHalf(mid + (hi - lo) / 8), h + 1);
    }
    assert.equal(toHalf(1e6), 0x7c00);
    assert.equal(toHalf(-1e6), 0xfc00);
    assert.equal(toHalf(1e-9), 0);
    assert.equal(toHalf(-1e-9), 0x8000);
    assert.equal(fromHalf(0x3c00), 1);
    assert.equal(fromHalf(0xc000), -2);
    assert.equal(fromHalf(0x7bff), 65504);
  });

  it("bfloat16: round-trips every finite value, rounds to nearest even", () => {
    for (let h = 0; h < 0x10000; h++) {
      const x = fromBf16(h);
      if (Number.isNaN(x)) assert.ok(Number.isNaN(fromBf16(toBf16(x))));
      else assert.equal(toBf16(x), h, `bits ${h.toString(16)}`);
    }
    for (const h of [0x3f80, 0x3f81, 0x0001, 0x7f7e]) {
      const lo = fromBf16(h);
      const hi = fromBf16(h + 1);
      assert.equal(toBf16((lo + hi) / 2), h % 2 === 0 ? h : h + 1, `tie after ${h.toString(16)}`);
      assert.equal(toBf16(lo + (hi - lo) / 4), h);
      assert.equal(toBf16(hi - (hi - lo) / 4), h + 1);
    }
  });
});
