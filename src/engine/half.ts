/**
 * IEEE 754 half precision (binary16) and bfloat16 bits ⇄ numbers, rounding to nearest even: the
 * element types of the sampler's half-precision key/value cache and of its bf16 matrix products
 * (Node 20 has no Float16Array).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The binary16 bits nearest to x (ties to even; overflow → ±Infinity; NaN stays NaN). */
export function toHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const e = (b >>> 23) & 0xff;
  let m = b & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (m ? 0x200 : 0);
  const ex = e - 112; // rebias 127 → 15
  if (ex >= 31) return sign | 0x7c00;
  if (ex <= 0) {
    // A subnormal half (or zero): h = round(1.m · 2^(ex−1) / 2^−24).
    if (ex < -10) return sign;
    m |= 0x800000;
    const shift = 14 - ex;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    let h = m >>> shift;
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (ex << 10) | (m >>> 13);
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is the right result
  return sign | h;
}

/** The bfloat16 bits nearest to x (ties to even; NaN stays a quiet NaN). */
export function toBf16(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * `toBf16` with denormals flushed to a signed zero, as the hardware conversion of the bf16 products
 * (vcvtne2ps2bf16) does: the operands of `matmulMixed` and `packBf16`.
 */
export function toBf16Ftz(x: number): number {
  f32[0] = x;
  if ((u32[0] & 0x7f800000) === 0) return (u32[0] >>> 16) & 0x8000;
  return toBf16(x);
}

/** The number bfloat16 bits h stand for. */
export function fromBf16(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

/** The number binary16 bits h stand for. */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}
