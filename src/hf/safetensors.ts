/**
 * safetensors (interop.md): 8-byte little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}, then the data block.
 * The writer emits F32 tensors in the given order (sorted offsets, no holes); the reader validates
 * everything and converts F32, F16 and BF16 to Float32Array.
 */
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/atomic.js";
import { describeName, hasName } from "../util/lookup.js";

/** A tensor to write or as read. */
export interface Tensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

/** Serialises tensors (F32) into one safetensors buffer. */
export function encodeSafetensors(
  tensors: Tensor[],
  metadata: Record<string, string> = { format: "pt" },
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length)
      throw new Error(`tensor ${t.name}: shape [${t.shape}] needs ${n} values, has ${t.data.length}`);
    if (t.name in header) throw new Error(`tensor ${t.name} appears twice`);
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data block starts 8-byte aligned (allowed by the format).
  const pad = (8 - ((8 + Buffer.byteLength(json)) % 8)) % 8;
  json += " ".repeat(pad);
  const hlen = Buffer.byteLength(json);
  const out = new Uint8Array(8 + hlen + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(hlen), true);
  out.set(Buffer.from(json, "utf8"), 8);
  let pos = 8 + hlen;
  const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (const t of tensors) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (little) out.set(bytes, pos);
    else for (let i = 0; i < t.data.length; i++) view.setFloat32(pos + 4 * i, t.data[i], true);
    pos += t.data.byteLength;
  }
  return out;
}

/** Writes a safetensors file atomically. */
export function writeSafetensors(path: string, tensors: Tensor[], metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

function bf16ToF32(h: number): number {
  const buf = new DataView(new ArrayBuffer(4));
  buf.setUint32(0, h << 16);
  return buf.getFloat32(0);
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Parsed safetensors: tensors by name in file order, plus metadata. */
export interface Safetensors {
  tensors: Map<string, Tensor & { dtype: string }>;
  metadata: Record<string, string>;
}

/** Decodes and validates a safetensors buffer; errors name the file part that is wrong. */
export function decodeSafetensors(buf: Uint8Array, what = "safetensors"): Safetensors {
  if (buf.length < 8)
    throw new Error(`${what}: file too short (${buf.length} bytes) to hold a header length`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen64 = view.getBigUint64(0, true);
  if (hlen64 > BigInt(buf.length - 8))
    throw new Error(
      `${what}: header length ${hlen64} exceeds the file (${buf.length} bytes): truncated or not safetensors`,
    );
  const hlen = Number(hlen64);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, hlen).toString("utf8"));
  } catch (e) {
    throw new Error(`${what}: header is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== "object" || Array.isArray(header))
    throw new Error(`${what}: header must be a JSON object`);
  const dataStart = 8 + hlen;
  const dataLen = buf.length - dataStart;
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t?.dtype !== "string") throw new Error(`${what}: tensor ${name} has no dtype`);
    if (!hasName(DTYPE_BYTES, t.dtype))
      throw new Error(
        `${what}: tensor ${describeName(name)} has unsupported dtype ${describeName(t.dtype)}: this loader reads F32, BF16 and F16${/^(I|U|F8|BOOL)/.test(t.dtype) ? " (integer, 8-bit float or quantized weights are not supported; dequantize to BF16 or F32 first)" : ""}`,
      );
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`${what}: tensor ${name} has a bad shape`);
    }
    const off = t.data_offsets as number[];
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((x) => Number.isInteger(x) && x >= 0) ||
      off[1] < off[0]
    ) {
      throw new Error(`${what}: tensor ${name} has bad data_offsets`);
    }
    const n = (t.shape as number[]).reduce((a, b) => a * b, 1);
    if (off[1] - off[0] !== n * DTYPE_BYTES[t.dtype]) {
      throw new Error(
        `${what}: tensor ${name}: ${off[1] - off[0]} bytes for shape [${t.shape}] of ${t.dtype}`,
      );
    }
    if (off[1] > dataLen)
      throw new Error(
        `${what}: tensor ${name} ends at ${off[1]}, past the data block (${dataLen} bytes): truncated file`,
      );
    entries.push({ name, dtype: t.dtype, shape: t.shape as number[], begin: off[0], end: off[1] });
  }
  // Offsets must tile the data block: sorted, no overlaps, no holes.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at)
      throw new Error(`${what}: tensor ${e.name} starts at ${e.begin}, expected ${at} (hole or overlap)`);
    at = e.end;
  }
  if (at !== dataLen)
    throw new Error(`${what}: data block has ${dataLen - at} trailing bytes not owned by any tensor`);
  const tensors = new Map<string, Tensor & { dtype: string }>();
  for (const e of entries) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const base = dataStart + e.begin;
    if (e.dtype === "F32") for (let i = 0; i < n; i++) data[i] = view.getFloat32(base + 4 * i, true);
    else if (e.dtype === "BF16")
      for (let i = 0; i < n; i++) data[i] = bf16ToF32(view.getUint16(base + 2 * i, true));
    else for (let i = 0; i < n; i++) data[i] = f16ToF32(view.getUint16(base + 2 * i, true));
    tensors.set(e.name, { name: e.name, shape: e.shape, data, dtype: e.dtype });
  }
  return { tensors, metadata };
}

/** Reads and validates a safetensors file. */
export function readSafetensors(path: string): Safetensors {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  return decodeSafetensors(buf, path);
}
