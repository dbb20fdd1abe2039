"""Tests of interplay_reward: each trainer entry point called the way its trainer calls it.

Run by `npm test` (src/interop/integrations.test.ts), which exports a verl parquet and a TRL JSONL
with `export-data`, reads them back, and writes the rows with planted faults and the library's
expected rewards to the JSON file named by $INTERPLAY_TEST_FIXTURE. By hand:

  npx tsc -p tsconfig.json && node --test dist/src/interop/integrations.test.js

Without a fixture only the client tests (against stub servers on loopback) run:

  python3 -m unittest discover -s integrations/python/tests -v
"""

from __future__ import annotations

import asyncio
import copy
import http.server
import importlib.util
import json
import os
import socket
import sys
import threading
import time
import unittest
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
PKG_PARENT = os.path.dirname(HERE)
sys.path.insert(0, PKG_PARENT)

from interplay_reward import (  # noqa: E402
    RequestRejected,
    RewardClient,
    ServiceUnavailable,
    start_service,
)
from interplay_reward import trl as trl_mod  # noqa: E402
from interplay_reward import verl as verl_mod  # noqa: E402

FIXTURE_PATH = os.environ.get("INTERPLAY_TEST_FIXTURE")
FIXTURE = None
if FIXTURE_PATH:
    with open(FIXTURE_PATH, encoding="utf-8") as f:
        FIXTURE = json.load(f)
NEEDS_FIXTURE = unittest.skipIf(FIXTURE is None, "no $INTERPLAY_TEST_FIXTURE (run through npm test)")

SERVICE = None


def setUpModule() -> None:  # noqa: N802
    global SERVICE
    if FIXTURE is not None:
        SERVICE = start_service()
        os.environ["INTERPLAY_REWARD_URL"] = SERVICE.url
        for k in ("INTERPLAY_REWARD", "INTERPLAY_ALPHA", "INTERPLAY_FORM", "INTERPLAY_RETURN"):
            os.environ.pop(k, None)


def tearDownModule() -> None:  # noqa: N802
    if SERVICE is not None:
        code = SERVICE.close()
        assert code == 0, f"interplay serve exited {code} on SIGTERM:\n{SERVICE.stderr}"


def load_like_verl(name: str):
    """verl/utils/import_utils.py load_module: spec_from_file_location under a made-up name, then
    verl/trainer/ppo/reward.py get_custom_reward_fn: partial(_call_with_kwargs, fn, reward_kwargs)."""
    path = os.path.join(PKG_PARENT, "interplay_reward", "verl.py")
    spec = importlib.util.spec_from_file_location(f"custom_module_{hash(path)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    raw = getattr(module, name)

    def with_reward_kwargs(reward_kwargs):
        def call(*args, **kwargs):
            return raw(*args, **{**kwargs, **reward_kwargs})

        return call

    return raw, with_reward_kwargs


def load_like_openrlhf():
    """openrlhf/utils/agent.py SingleTurnAgentExecutor: spec_from_file_location("reward_func", path)."""
    path = os.path.join(PKG_PARENT, "interplay_reward", "openrlhf.py")
    spec = importlib.util.spec_from_file_location("reward_func", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.reward_func


def verl_extra_info(row):
    """What verl's reward managers hand compute_score as extra_info: the row's, plus two keys."""
    info = copy.deepcopy(row["extra_info"])
    info["num_turns"] = None
    info["rollout_reward_scores"] = {}
    return info


def cases(kind=None):
    return [c for c in FIXTURE["cases"] if kind is None or c["kind"] == kind]


@NEEDS_FIXTURE
class VerlTest(unittest.TestCase):
    def naive_call(self, fn, case):
        """NaiveRewardManager.__call__ (verl/workers/reward_manager/naive.py): keywords per sample."""
        row = FIXTURE["verl_rows"][case["row"]]
        return fn(
            data_source=row["data_source"],
            solution_str=case["completion"],
            ground_truth=row["reward_model"]["ground_truth"],
            extra_info=verl_extra_info(row),
        )

    def test_compute_score_gold_is_one_faults_less(self):
        raw, wrap = load_like_verl("compute_score")
        fn = wrap({})
        kinds = set()
        for case in cases():
            out = self.naive_call(fn, case)
            with self.subTest(row=case["row"], kind=case["kind"]):
                self.assertIsInstance(out, dict)
                self.assertEqual(tuple(out), verl_mod.RESULT_KEYS)
                for k, v in out.items():
                    self.assertIsInstance(v, str if k == "pred" else float, k)
                self.assertEqual(out["score"], case["expected"]["composite"])
                self.assertEqual(out["strict"], case["expected"]["strict"])
                self.assertEqual(out["verified"], float(case["expected"]["verified"]))
                if case["kind"] == "gold":
                    self.assertEqual(out["score"], 1.0)
                    self.assertEqual(out["verified"], 1.0)
                    self.assertEqual(out["pred"], FIXTURE["verl_rows"][case["row"]]["reward_model"]["ground_truth"])
                else:
                    self.assertLess(out["score"], 1.0)
                    self.assertEqual(out["verified"], 0.0)
                if case["kind"] == "wrongAnswer":
                    self.assertEqual(out["answer_correct"], 0.0)
                if case["kind"] == "dropStep":
                    self.assertGreaterEqual(out["missing"], 1.0)
                if case["kind"] == "wrongNumber":
                    self.assertLess(out["process_acc"], 1.0)
            kinds.add(case["kind"])
        self.assertEqual(kinds, {"gold", "wrongAnswer", "wrongNumber", "dropStep"})

    def test_reward_kwargs_pick_the_variant(self):
        _, wrap = load_like_verl("compute_score")
        strict = wrap({"reward": "strict"})
        for case in cases()[:12]:
            self.assertEqual(self.naive_call(strict, case)["score"], case["expected"]["strict"])
        as_float = wrap({"return_dict": False, "reward": "outcome"})
        for case in cases()[:12]:
            v = self.naive_call(as_float, case)
            self.assertIsInstance(v, float)
            self.assertEqual(v, case["expected"]["outcome"])

    def test_env_picks_the_variant_and_the_float_return(self):
        _, wrap = load_like_verl("compute_score")
        fn = wrap({})
        os.environ["INTERPLAY_REWARD"] = "strict"
        os.environ["INTERPLAY_RETURN"] = "float"
        try:
            for case in cases()[:8]:
                self.assertEqual(self.naive_call(fn, case), case["expected"]["strict"])
        finally:
            del os.environ["INTERPLAY_REWARD"], os.environ["INTERPLAY_RETURN"]

    def test_batch_equals_single(self):
        """BatchRewardManager.verify (verl/workers/reward_manager/batch.py): one call, plural keywords."""
        _, wrap = load_like_verl("compute_score")
        _, wrap_batch = load_like_verl("compute_score_batch")
        single, batch = wrap({}), wrap_batch({})
        cs = cases()
        rows = [FIXTURE["verl_rows"][c["row"]] for c in cs]
        out = batch(
            data_sources=[r["data_source"] for r in rows],
            solution_strs=[c["completion"] for c in cs],
            ground_truths=[r["reward_model"].get("ground_truth", None) for r in rows],
            extra_infos=[verl_extra_info(r) for r in rows],
        )
        self.assertEqual(out, [self.naive_call(single, c) for c in cs])

    def test_batch_is_chunked_by_the_service_max_batch(self):
        cs = cases()
        rows = [FIXTURE["verl_rows"][c["row"]] for c in cs]
        with start_service("--max-batch", "4") as small:
            client = RewardClient(small.url)
            out = verl_mod.compute_score_batch(
                data_sources=[r["data_source"] for r in rows],
                solution_strs=[c["completion"] for c in cs],
                ground_truths=[r["reward_model"]["ground_truth"] for r in rows],
                extra_infos=[verl_extra_info(r) for r in rows],
                client=client,
            )
            # GET / for the limits, then ceil(n / 4) scoring requests.
            self.assertEqual(client.requests_sent, 1 + -(-len(cs) // 4))
        self.assertEqual([o["score"] for o in out], [c["expected"]["composite"] for c in cs])

    def test_gold_by_id_or_json_ground_truth_equals_embedded(self):
        _, wrap = load_like_verl("compute_score")
        fn = wrap({})
        by_id = wrap({"gold_from": "id"})
        for case in cases()[:16]:
            row = FIXTURE["verl_rows"][case["row"]]
            want = self.naive_call(fn, case)
            self.assertEqual(self.naive_call(by_id, case), want)
            only_id = {"id": row["extra_info"]["id"], "num_turns": None}
            self.assertEqual(fn(data_source="x", solution_str=case["completion"], ground_truth="?", extra_info=only_id), want)
            gold_json = json.dumps({"graph": row["extra_info"]["gold_graph"], "answer": row["reward_model"]["ground_truth"]})
            self.assertEqual(fn(data_source="x", solution_str=case["completion"], ground_truth=gold_json, extra_info=None), want)
            self.assertEqual(
                fn(data_source="x", solution_str=case["completion"], ground_truth=row["extra_info"]["id"]), want
            )
        with self.assertRaisesRegex(ValueError, "cannot tell the gold"):
            fn(data_source="x", solution_str="y", ground_truth="42", extra_info={})

    def test_async_equals_sync(self):
        raw, _ = load_like_verl("compute_score_async")
        self.assertTrue(asyncio.iscoroutinefunction(raw))
        sync = verl_mod.compute_score

        async def all_of():
            return await asyncio.gather(
                *(
                    raw(
                        data_source="interplay",
                        solution_str=c["completion"],
                        ground_truth=FIXTURE["verl_rows"][c["row"]]["reward_model"]["ground_truth"],
                        extra_info=verl_extra_info(FIXTURE["verl_rows"][c["row"]]),
                    )
                    for c in cases()
                )
            )

        got = asyncio.run(all_of())
        for c, g in zip(cases(), got):
            row = FIXTURE["verl_rows"][c["row"]]
            self.assertEqual(g, sync("interplay", c["completion"], row["reward_model"]["ground_truth"], verl_extra_info(row)))


def trl_batch(conversational=False, drop=()):
    """What GRPOTrainer._calculate_rewards (trl/trainer/grpo_trainer.py) passes: prompts,
    completions, completion_ids, every other dataset column as a list, trainer_state, log_extra,
    log_metric."""
    cs = cases()
    rows = [FIXTURE["trl_rows"][c["row"]] for c in cs]
    logged = {"metrics": [], "extra": []}
    kwargs = {k: [r[k] for r in rows] for k in rows[0] if k not in ("prompt", "completion", "completion_ids") and k not in drop}
    kwargs["trainer_state"] = None
    kwargs["log_extra"] = lambda column, values: logged["extra"].append((column, len(values)))
    kwargs["log_metric"] = lambda name, value: logged["metrics"].append((name, value))
    if conversational:
        prompts = [[{"role": "user", "content": r["prompt"]}] for r in rows]
        completions = [[{"role": "assistant", "content": c["completion"]}] for c in cs]
    else:
        prompts = [r["prompt"] for r in rows]
        completions = [c["completion"] for c in cs]
    completion_ids = [[0] * 3 for _ in cs]
    return dict(prompts=prompts, completions=completions, completion_ids=completion_ids, **kwargs), logged


@NEEDS_FIXTURE
class TrlTest(unittest.TestCase):
    def test_sync_standard_and_conversational(self):
        want = [c["expected"]["composite"] for c in cases()]
        for conversational in (False, True):
            call, logged = trl_batch(conversational)
            out = trl_mod.interplay_reward(**call)
            self.assertEqual(out, want)
            self.assertTrue(all(isinstance(x, float) for x in out))
            names = [n for n, _ in logged["metrics"]]
            self.assertEqual(names, [f"interplay/{m}" for m in trl_mod.METRICS])
            verified = dict(logged["metrics"])["interplay/verified"]
            self.assertAlmostEqual(verified, sum(c["expected"]["verified"] for c in cases()) / len(cases()))
            self.assertEqual(logged["extra"], [("interplay_verified", len(want))])

    def test_gold_by_id_column(self):
        call, _ = trl_batch(drop=("gold_graph",))
        self.assertEqual(trl_mod.interplay_reward(**call), [c["expected"]["composite"] for c in cases()])
        call, _ = trl_batch(drop=("gold_graph", "id"))
        with self.assertRaisesRegex(ValueError, "no `gold_graph`"):
            trl_mod.interplay_reward(**call)

    def test_async_agrees_with_sync_on_trl_event_loop(self):
        """TRL starts an event loop in a daemon thread and runs async reward functions there with
        asyncio.gather through asyncio.run_coroutine_threadsafe (grpo_trainer.py)."""
        self.assertTrue(asyncio.iscoroutinefunction(trl_mod.interplay_reward_async))
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            call, _ = trl_batch(conversational=True)
            strict = trl_mod.make_reward_func("strict", asynchronous=True, reward="strict")
            self.assertTrue(asyncio.iscoroutinefunction(strict))

            async def both():
                return await asyncio.gather(trl_mod.interplay_reward_async(**call), strict(**call))

            got, got_strict = asyncio.run_coroutine_threadsafe(both(), loop).result(timeout=60)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.close()
        self.assertEqual(got, trl_mod.interplay_reward(**call))
        self.assertEqual(got_strict, [c["expected"]["strict"] for c in cases()])
        self.assertEqual(strict.__name__, "strict")
        self.assertEqual(trl_mod.make_reward_func(reward="process").__name__, "interplay_process")
        with self.assertRaises(TypeError):
            trl_mod.make_reward_func(alpha="0.5")


@NEEDS_FIXTURE
class OpenRlhfTest(unittest.TestCase):
    def test_reward_func_file_one_sample_per_call(self):
        """OpenRLHF 0.11 calls reward_func([query], [prompt], [label]) through asyncio.to_thread;
        the query is prompt + response decoded with special tokens (so <eos> may end it)."""
        reward_func = load_like_openrlhf()

        async def all_of():
            calls = []
            for c in cases():
                row = FIXTURE["trl_rows"][c["row"]]
                query = row["prompt"] + c["completion"] + " <eos>"
                calls.append(asyncio.to_thread(reward_func, [query], [row["prompt"]], [row["id"]]))
            return await asyncio.gather(*calls)

        got = asyncio.run(all_of())
        for c, g in zip(cases(), got):
            self.assertEqual(set(g), {"rewards", "scores", "extra_logs"})
            self.assertEqual(g["rewards"], [c["expected"]["composite"]])
            self.assertEqual(g["scores"], g["rewards"])
            self.assertEqual(g["extra_logs"]["verified"], [1 if c["expected"]["verified"] else 0])

    def test_batch_with_json_labels_equals_the_url_route(self):
        reward_func = load_like_openrlhf()
        cs = cases()
        rows = [FIXTURE["trl_rows"][c["row"]] for c in cs]
        queries = [r["prompt"] + c["completion"] for r, c in zip(rows, cs)]
        prompts = [r["prompt"] for r in rows]
        labels = [json.dumps({"graph": r["gold_graph"], "answer": r["answer"]}) for r in rows]
        got = reward_func(queries, prompts, labels)
        self.assertEqual(got["rewards"], [c["expected"]["composite"] for c in cs])
        # What OpenRLHF posts itself with a URL (--reward.remote_url http://host:port/get_reward).
        req = urllib.request.Request(
            SERVICE.url + "/get_reward",
            data=json.dumps({"query": queries, "prompts": prompts, "labels": labels}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            self.assertEqual(json.load(r), got)
        os.environ["INTERPLAY_REWARD"] = "strict"
        try:
            self.assertEqual(reward_func(queries, prompts, labels)["rewards"], [c["expected"]["strict"] for c in cs])
        finally:
            del os.environ["INTERPLAY_REWARD"]


# --- the client against stub servers ---------------------------------------------------------


class Stub:
    """An HTTP server on loopback answering a script of (status, headers, body) in turn
    (the last one repeats), counting requests; `hang=True` never answers."""

    def __init__(self, script, hang=False):
        self.script, self.hits, self.hang = list(script), 0, hang
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def answer(self):
                n = int(self.headers.get("content-length") or 0)
                if n:
                    self.rfile.read(n)
                stub.hits += 1
                if stub.hang:
                    time.sleep(5)
                    return
                status, headers, body = stub.script[min(stub.hits - 1, len(stub.script) - 1)]
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


OK = (200, {}, {"reward": 1, "variant": "composite"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ClientTest(unittest.TestCase):
    def test_dead_service_is_a_clear_error_within_seconds(self):
        url = f"http://127.0.0.1:{free_port()}"
        t0 = time.monotonic()
        with self.assertRaises(ServiceUnavailable) as cm:
            RewardClient(url).score("x", "zoo-f-op3-s1-i0")  # the default retries and backoff
        spent = time.monotonic() - t0
        self.assertLess(spent, 8.0)
        msg = str(cm.exception)
        self.assertIn(url, msg)
        self.assertIn("5 attempts", msg)
        self.assertRegex(msg, "Connection refused|ConnectionRefused")
        # The trainer entry points raise the same error, naming the URL.
        with self.assertRaisesRegex(ServiceUnavailable, url):
            verl_mod.compute_score("x", "y", "1", {"id": "zoo-f-op3-s1-i0"}, client=RewardClient(url, retries=1, backoff=0.05))

    def test_4xx_is_not_retried_and_carries_the_service_message(self):
        for status, code in ((400, "bad_option"), (404, "not_found"), (413, "batch_too_large"), (422, "unknown_gold"), (429, "slow_down")):
            stub = Stub([(status, {}, {"error": f"the service says {code}", "code": code, "status": status})])
            try:
                with self.assertRaises(RequestRejected) as cm:
                    RewardClient(stub.url, sleep=lambda s: self.fail("slept before a retry")).score("x", "g")
                self.assertEqual(stub.hits, 1)
                self.assertEqual(cm.exception.status, status)
                self.assertEqual(cm.exception.code, code)
                self.assertIn(f"the service says {code}", str(cm.exception))
                self.assertIn(stub.url, str(cm.exception))
            finally:
                stub.close()

    def test_503_honours_retry_after_and_5xx_backs_off(self):
        waits = []
        stub = Stub([(503, {"retry-after": "1"}, {"error": "busy", "code": "busy"}), (502, {}, {"error": "gw"}), OK])
        try:
            out = RewardClient(stub.url, sleep=waits.append, backoff=0.25).score("x", "g")
        finally:
            stub.close()
        self.assertEqual(out["reward"], 1)
        self.assertEqual(stub.hits, 3)
        self.assertEqual(waits[0], 1.0)  # Retry-After
        self.assertTrue(0.2 <= waits[1] <= 0.7, waits)  # backoff (second attempt: 0.5 s ± 20 %)

    def test_persistent_503_gives_up_after_the_retries(self):
        waits = []
        stub = Stub([(503, {"retry-after": "2"}, {"error": "busy", "code": "busy"})])
        try:
            with self.assertRaisesRegex(ServiceUnavailable, r"after 3 attempts .*HTTP 503 busy"):
                RewardClient(stub.url, retries=2, sleep=waits.append).score("x", "g")
        finally:
            stub.close()
        self.assertEqual(stub.hits, 3)
        self.assertEqual(waits, [2.0, 2.0])

    def test_a_service_that_never_answers_times_out(self):
        stub = Stub([OK], hang=True)
        t0 = time.monotonic()
        try:
            with self.assertRaisesRegex(ServiceUnavailable, "timed out"):
                RewardClient(stub.url, timeout=0.3, retries=1, backoff=0.05).score("x", "g")
        finally:
            stub.close()
        self.assertLess(time.monotonic() - t0, 3.0)

    def test_url_forms_and_options(self):
        c = RewardClient("127.0.0.1:9/get_reward?reward=strict")
        self.assertEqual((c.url, c.query), ("http://127.0.0.1:9", "reward=strict"))
        self.assertEqual(RewardClient("https://rm.example/v1/reward").url, "https://rm.example:443")
        from interplay_reward.client import scoring_options

        self.assertEqual(scoring_options({"reward": "strict", "alpha": 1, "allow_extra": False, "other": 3}),
                         {"reward": "strict", "alpha": 1.0, "allowExtra": False})
        os.environ["INTERPLAY_ALPHA"] = "0.5"
        os.environ["INTERPLAY_ALLOW_SLIPS"] = "true"
        try:
            self.assertEqual(scoring_options({}), {"alpha": 0.5, "allowSlips": True})
            self.assertEqual(scoring_options({"alpha": 0.1})["alpha"], 0.1)
        finally:
            del os.environ["INTERPLAY_ALPHA"], os.environ["INTERPLAY_ALLOW_SLIPS"]
        with self.assertRaises(TypeError):
            scoring_options({"allow_extra": "yes"})


@NEEDS_FIXTURE
class ServiceTest(unittest.TestCase):
    def test_real_4xx_is_not_retried(self):
        c = RewardClient(SERVICE.url)
        before = c.requests_sent
        with self.assertRaisesRegex(RequestRejected, r"422 \(unknown_gold\).*unknown problem id \"nope\""):
            c.score("x", "nope")
        self.assertEqual(c.requests_sent - before, 1)
        with self.assertRaisesRegex(RequestRejected, r"400 \(bad_option\): reward must be one of"):
            c.score("x", FIXTURE["trl_rows"][0]["id"], reward="vibes")

    def test_health_and_limits(self):
        c = RewardClient(SERVICE.url)
        self.assertEqual(c.health()["status"], "ok")
        self.assertEqual(c.limits()["maxBatch"], 8192)

    def test_query_string_in_the_url_applies(self):
        c = RewardClient(SERVICE.url + "/get_reward?reward=strict")
        case = cases("wrongAnswer")[0]
        row = FIXTURE["verl_rows"][case["row"]]
        out = verl_mod.compute_score("interplay", case["completion"], row["reward_model"]["ground_truth"], row["extra_info"], client=c)
        self.assertEqual(out["score"], case["expected"]["strict"])


if __name__ == "__main__":
    unittest.main()
