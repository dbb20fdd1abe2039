"""TRL reward functions backed by the interplay reward service.

  from interplay_reward.trl import interplay_reward          # or interplay_reward_async
  GRPOTrainer(model=..., reward_funcs=interplay_reward, train_dataset=load_dataset(
      "json", data_files="data/rl-train.trl.jsonl", split="train"), ...)

Calling convention, from TRL's trl/trainer/grpo_trainer.py (GRPOTrainer._calculate_rewards): every
dataset column but "prompt"/"completion"/"completion_ids" is passed as a keyword list, one entry per
completion, next to `prompts=`, `completions=`, `completion_ids=`, `trainer_state=`, `log_extra=`
(log_extra(column, values): a column of the completions table) and `log_metric=`
(log_metric(name, value): a scalar plot); in conversational datasets a completion is a list of
messages (`[{"role": "assistant", "content": ...}]`), otherwise a string. A function for which
`inspect.iscoroutinefunction` holds is awaited on TRL's event loop thread (asyncio.gather with the
other async reward functions, via asyncio.run_coroutine_threadsafe). The function returns a list of
floats (None marks a sample it does not apply to); the trainer logs `rewards/<function name>/mean`.

The gold comes from the columns `interplay export-data --format trl` writes (src/interop/rows.ts,
trlRow): `gold_graph` with `answer` (embedded: the service needs no problem files), else `id`.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Sequence

try:
    from .client import RewardClient, default_client, option_kwargs, scoring_options
    from .gold import trl_golds
except ImportError:  # loaded by file path
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from interplay_reward.client import RewardClient, default_client, option_kwargs, scoring_options
    from interplay_reward.gold import trl_golds

#: Scalars sent to TRL's log_metric (the same keys on every call, as TRL asks of distributed runs).
METRICS = ("verified", "answer_correct", "process_acc", "parse_failed")


def completion_text(c: Any) -> str:
    """A TRL completion as text: the string itself, or the assistant messages' contents joined
    (a content may be a string or a list of parts `{"type": "text", "text": ...}`)."""
    if isinstance(c, str):
        return c
    if isinstance(c, dict):
        c = [c]
    if isinstance(c, (list, tuple)):
        msgs = [m for m in c if isinstance(m, dict)]
        chosen = [m for m in msgs if m.get("role") == "assistant"] or msgs
        out = []
        for m in chosen:
            content = m.get("content")
            if isinstance(content, str):
                out.append(content)
            elif isinstance(content, (list, tuple)):
                out.extend(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
        return "".join(out)
    raise TypeError(f"a completion must be a string or a list of messages, got {type(c).__name__}")


def _score(
    completions: Sequence[Any], columns: dict[str, Any], client: RewardClient | None, options: dict[str, Any]
) -> list[float]:
    golds = trl_golds(len(completions), columns, prefer=columns.get("gold_from") or "graph")
    items = [{"completion": completion_text(c), "gold": g} for c, g in zip(completions, golds)]
    results = (client or default_client(columns.get("url"))).score_batch(items, **options)
    log_metric, log_extra = columns.get("log_metric"), columns.get("log_extra")
    if callable(log_metric) and results:
        n = len(results)
        log_metric("interplay/verified", sum(bool(r["verified"]) for r in results) / n)
        log_metric("interplay/answer_correct", sum(bool(r["answerCorrect"]) for r in results) / n)
        log_metric("interplay/process_acc", sum(float(r["processAcc"]) for r in results) / n)
        log_metric("interplay/parse_failed", sum(bool(r["parseFailed"]) for r in results) / n)
    if callable(log_extra):
        log_extra("interplay_verified", [bool(r["verified"]) for r in results])
    return [float(r["reward"]) for r in results]


def interplay_reward(prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **kwargs: Any) -> list[float]:
    """TRL reward function: one service request (chunked by its limits) per call. Keywords besides
    TRL's and the dataset columns: reward, alpha, form, allow_extra, allow_slips (else INTERPLAY_*
    variables, else the service's defaults), url, client, gold_from ("graph" or "id")."""
    client = kwargs.get("client") if isinstance(kwargs.get("client"), RewardClient) else None
    return _score(list(completions), kwargs, client, option_kwargs(kwargs))


async def interplay_reward_async(
    prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **kwargs: Any
) -> list[float]:
    """interplay_reward as a coroutine function: TRL awaits it on its event loop, the HTTP call
    runs in a worker thread (asyncio.to_thread), so other async reward functions overlap it."""
    return await asyncio.to_thread(interplay_reward, prompts, list(completions), **kwargs)


def make_reward_func(
    name: str | None = None,
    *,
    asynchronous: bool = False,
    url: str | None = None,
    client: RewardClient | None = None,
    gold_from: str = "graph",
    **options: Any,
) -> Callable[..., Any]:
    """A reward function with fixed options, e.g. `make_reward_func("strict", reward="strict")`
    (TRL logs it as rewards/<name>/mean; default name interplay_<reward>). Options are checked now."""
    scoring_options(options)  # fail fast on a bad option
    fixed = {**options, "gold_from": gold_from}
    if url is not None:
        fixed["url"] = url
    if client is not None:
        fixed["client"] = client

    def merged(kwargs: dict[str, Any]) -> dict[str, Any]:
        return {**kwargs, **fixed}

    if asynchronous:

        async def fn(prompts: Any = None, completions: Sequence[Any] = (), **kwargs: Any) -> list[float]:
            return await interplay_reward_async(prompts, completions, **merged(kwargs))

    else:

        def fn(prompts: Any = None, completions: Sequence[Any] = (), **kwargs: Any) -> list[float]:
            return interplay_reward(prompts, completions, **merged(kwargs))

    fn.__name__ = fn.__qualname__ = name or f"interplay_{options.get('reward') or 'reward'}"
    return fn


__all__ = ["completion_text", "interplay_reward", "interplay_reward_async", "make_reward_func"]
