/** Worker thread of exportCorpus: generates, tokenizes and compresses the chunks it is sent. */
import { parentPort, workerData } from "node:worker_threads";
import { WorldTokenizer } from "../model/tokenizer.js";
import { type ChunkJob, chunkKeys, type EncodeSpec, encodeChunk } from "./corpus.js";

const spec = workerData as EncodeSpec;
const tok = spec.kind === "tokens" ? new WorldTokenizer({ digits: spec.digits }) : null;
parentPort!.on("message", ({ job, index }: { job: ChunkJob; index: number }) => {
  try {
    const result = encodeChunk(chunkKeys(spec.plan, job.start, job.end), spec, tok);
    parentPort!.postMessage({ index, result }, [result.payload.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ index, error: (e as Error).message });
  }
});
