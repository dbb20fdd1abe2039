/** Worker thread of writeCorpus: generates the slot ranges it is sent. */
import { parentPort, workerData } from "node:worker_threads";
import { generateRange, type Plan } from "./corpus.js";

const plan = (workerData as { plan: Plan }).plan;
parentPort!.on("message", ({ start, end }: { start: number; end: number }) => {
  parentPort!.postMessage({ start, res: generateRange(plan, start, end) });
});
