/**
 * A small PNG reader (8-bit greyscale, RGB, grey+alpha and RGBA, not interlaced), enough to check
 * that a browser screenshot of a report is not blank.
 */
import { inflateSync } from "node:zlib";

/** Decoded pixels as RGBA, row-major. */
export interface Image {
  width: number;
  height: number;
  rgba: Uint8Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decodes a PNG file's bytes; throws on formats outside the supported subset. */
export function decodePng(buf: Uint8Array): Image {
  const data = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let i = 0; i < 8; i++) if (data[i] !== SIGNATURE[i]) throw new Error("not a PNG file");
  let pos = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Buffer[] = [];
  while (pos + 8 <= data.length) {
    const len = data.readUInt32BE(pos);
    const type = data.toString("latin1", pos + 4, pos + 8);
    const body = data.subarray(pos + 8, pos + 8 + len);
    pos += 12 + len;
    if (type === "IHDR") {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const depth = body[8];
      colorType = body[9];
      const interlace = body[12];
      if (depth !== 8) throw new Error(`PNG bit depth ${depth} is not supported`);
      if (![0, 2, 4, 6].includes(colorType)) throw new Error(`PNG colour type ${colorType} is not supported`);
      if (interlace !== 0) throw new Error("interlaced PNG is not supported");
    } else if (type === "IDAT") {
      idat.push(body);
    } else if (type === "IEND") {
      break;
    }
  }
  if (colorType < 0) throw new Error("PNG without IHDR");
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType as 0 | 2 | 4 | 6];
  const stride = width * channels;
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length < height * (stride + 1)) throw new Error("PNG image data is truncated");
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[row + x - channels] : 0;
      const b = y > 0 ? px[prev + x] : 0;
      const c = x >= channels && y > 0 ? px[prev + x - channels] : 0;
      const v = raw[src + x];
      let out: number;
      switch (filter) {
        case 0:
          out = v;
          break;
        case 1:
          out = v + a;
          break;
        case 2:
          out = v + b;
          break;
        case 3:
          out = v + ((a + b) >> 1);
          break;
        case 4:
          out = v + paeth(a, b, c);
          break;
        default:
          throw new Error(`PNG row ${y} has unknown filter ${filter}`);
      }
      px[row + x] = out & 255;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const s = i * channels;
    const d = i * 4;
    if (channels === 1 || channels === 2) {
      rgba[d] = rgba[d + 1] = rgba[d + 2] = px[s];
      rgba[d + 3] = channels === 2 ? px[s + 1] : 255;
    } else {
      rgba[d] = px[s];
      rgba[d + 1] = px[s + 1];
      rgba[d + 2] = px[s + 2];
      rgba[d + 3] = channels === 4 ? px[s + 3] : 255;
    }
  }
  return { width, height, rgba };
}

/** How varied an image is: distinct colours (quantised to 4 bits per channel) and non-dominant pixels. */
export function pixelVariety(img: Image): { colors: number; nonBackground: number } {
  const counts = new Map<number, number>();
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    const d = i * 4;
    const key = ((img.rgba[d] >> 4) << 8) | ((img.rgba[d + 1] >> 4) << 4) | (img.rgba[d + 2] >> 4);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let dominant = 0;
  for (const c of counts.values()) dominant = Math.max(dominant, c);
  return { colors: counts.size, nonBackground: n === 0 ? 0 : (n - dominant) / n };
}
