import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { deflateSync } from "node:zlib";
import { decodePng, pixelVariety } from "./png.js";

function crc32(buf: Uint8Array): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])), 0);
  return Buffer.concat([head, body, crc]);
}

/** An RGB PNG whose rows use the given filters (the raw bytes are filtered here). */
function encode(width: number, pixels: number[][], filters: number[]): Buffer {
  const height = pixels.length;
  const stride = width * 3;
  const rows: number[] = [];
  for (let y = 0; y < height; y++) {
    const f = filters[y % filters.length];
    rows.push(f);
    for (let x = 0; x < stride; x++) {
      const v = pixels[y][x];
      const a = x >= 3 ? pixels[y][x - 3] : 0;
      const b = y > 0 ? pixels[y - 1][x] : 0;
      const c = x >= 3 && y > 0 ? pixels[y - 1][x - 3] : 0;
      const p = a + b - c;
      const pred = [
        0,
        a,
        b,
        (a + b) >> 1,
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c,
      ][f];
      rows.push((v - pred) & 255);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.from(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

describe("decodePng", () => {
  test("every row filter decodes to the original pixels", () => {
    const w = 7;
    const h = 10;
    const px = Array.from({ length: h }, (_, y) =>
      Array.from({ length: w * 3 }, (_, x) => (x * 37 + y * 91 + x * y) & 255),
    );
    const img = decodePng(encode(w, px, [0, 1, 2, 3, 4]));
    assert.equal(img.width, w);
    assert.equal(img.height, h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const d = (y * w + x) * 4;
        assert.deepEqual(
          [...img.rgba.subarray(d, d + 4)],
          [...px[y].slice(x * 3, x * 3 + 3), 255],
          `pixel ${x},${y}`,
        );
      }
    }
  });

  test("pixel variety: a blank image has one colour, a drawn one more", () => {
    const blank = decodePng(
      encode(
        4,
        Array.from({ length: 4 }, () => new Array(12).fill(255)),
        [0],
      ),
    );
    assert.deepEqual(pixelVariety(blank), { colors: 1, nonBackground: 0 });
    const rows = Array.from({ length: 4 }, (_, y) =>
      Array.from({ length: 12 }, (_, x) => (y === 1 ? x * 20 : 255)),
    );
    const v = pixelVariety(decodePng(encode(4, rows, [4])));
    assert.ok(v.colors > 1);
    assert.equal(v.nonBackground, 4 / 16);
    assert.throws(() => decodePng(Buffer.from("not a png")), /not a PNG/);
  });
});
