/** `interplay serve`: the reward service for GPU trainers (verl, OpenRLHF, TRL). */
import cluster from "node:cluster";
import type { AddressInfo } from "node:net";
import type { Command } from "commander";
import { createRewardServer } from "../serve/server.js";
import { COMPOSITE_FORMS, type CompositeForm, REWARD_NAMES, type RewardName } from "../verify/index.js";
import type { GoldProblem } from "../world/load.js";
import { loadProblems } from "../world/load.js";
import { choiceOption, parseNat, parsePos, parseUnit } from "./args.js";

interface ServeOpts {
  port: number;
  host: string;
  problems: string[];
  regenerate: boolean;
  reward: RewardName;
  alpha: number;
  composite: CompositeForm;
  allowExtra: boolean;
  allowSlips?: boolean;
  maxBodyMb: number;
  maxInflightMb?: number;
  maxConnections: number;
  maxBatch: number;
  workers: number;
  grace: number;
}

/** Registers the serve command. */
export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "reward service over HTTP: POST /v1/reward (native), POST /get_reward (OpenRLHF), GET /healthz",
    )
    .option("--port <n>", "port (0 picks a free one and prints it)", parseNat("--port"), 8000)
    .option("--host <addr>", "address to bind", "127.0.0.1")
    .option("--problems <files...>", "problem JSONL files whose ids resolve as gold", [])
    .option("--no-regenerate", "resolve only loaded ids (otherwise any generated id is regenerated)")
    .addOption(choiceOption("--reward <name>", "default reward", REWARD_NAMES).default("composite"))
    .option("--alpha <a>", "default α of the composite reward, in [0, 1]", parseUnit("--alpha"), 0.2)
    .addOption(choiceOption("--composite <form>", "default composite form", COMPOSITE_FORMS).default("gated"))
    .option("--no-allow-extra", "by default count extra nodes against `verified`")
    .option(
      "--allow-slips",
      "by default let arithmetic slips pass (`verified`, processAcc and the penalty ignore them; the old lenient policy)",
    )
    .option("--max-body-mb <n>", "largest request body, MiB", parsePos("--max-body-mb"), 32)
    .option(
      "--max-inflight-mb <n>",
      "request bytes all requests in flight may hold together, MiB (default 2 × --max-body-mb); beyond, 503 with Retry-After",
      parsePos("--max-inflight-mb"),
    )
    .option(
      "--max-connections <n>",
      "open connections at most (beyond, new ones are closed on accept)",
      parsePos("--max-connections"),
      1024,
    )
    .option("--max-batch <n>", "most completions per request", parsePos("--max-batch"), 8192)
    .option(
      "--workers <n>",
      "server processes sharing the port (1 = this process only)",
      parsePos("--workers"),
      1,
    )
    .option(
      "--grace <s>",
      "seconds to let requests in flight finish on SIGTERM/SIGINT",
      parseNat("--grace"),
      10,
    )
    .action(async (o: ServeOpts) => {
      if (o.workers > 1 && cluster.isPrimary) return runPrimary(o);
      const problems = new Map<string, GoldProblem>();
      for (const f of o.problems) {
        for (const [id, p] of await loadProblems(f)) {
          if (problems.has(id))
            throw new Error(`problem id "${id}" appears in more than one --problems file`);
          problems.set(id, p);
        }
      }
      const server = createRewardServer({
        problems,
        regenerate: o.regenerate,
        defaults: {
          reward: o.reward,
          alpha: o.alpha,
          form: o.composite,
          allowExtra: o.allowExtra,
          allowSlips: o.allowSlips === true,
        },
        maxBodyBytes: o.maxBodyMb * 1024 * 1024,
        maxInflightBytes: o.maxInflightMb === undefined ? undefined : o.maxInflightMb * 1024 * 1024,
        maxConnections: o.maxConnections,
        maxBatch: o.maxBatch,
        log: (line) => console.error(line),
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(o.port, o.host, () => resolve());
      });
      const addr = server.address() as AddressInfo;
      const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
      if (cluster.isPrimary) {
        console.error(
          `interplay reward service listening on http://${host}:${addr.port} ` +
            `(${problems.size} loaded problems, regenerate ${o.regenerate ? "on" : "off"}, default reward ${o.reward}, ` +
            `allowExtra ${o.allowExtra}, allowSlips ${o.allowSlips === true})`,
        );
      }
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        if (cluster.isPrimary) console.error(`${signal}: draining (at most ${o.grace} s)`);
        server.shutdown(o.grace * 1000).then(() => process.exit(0));
      };
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
    });
}

/** Primary of a multi-process service: forks the workers, restarts a crashed one, forwards signals. */
function runPrimary(o: ServeOpts): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    let announced = false;
    let listening = 0;
    const fork = () => {
      const w = cluster.fork();
      w.on("listening", (addr: AddressInfo) => {
        // Announced once every process listens, so that the first requests reach all of them.
        if (announced || ++listening < o.workers) return;
        announced = true;
        console.error(
          `interplay reward service listening on http://${o.host}:${addr.port} (${o.workers} processes)`,
        );
      });
    };
    for (let i = 0; i < o.workers; i++) fork();
    cluster.on("exit", (w, code, signal) => {
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) resolve();
        return;
      }
      console.error(`worker ${w.process.pid} exited (${signal ?? code}); starting another`);
      fork();
    });
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      console.error(`${signal}: draining ${o.workers} processes (at most ${o.grace} s)`);
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
}
