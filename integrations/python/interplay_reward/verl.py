"""verl custom reward functions backed by the interplay reward service.

Use with verl's `custom_reward_function` config (verl/trainer/ppo/reward.py, get_custom_reward_fn,
loads `path` by file with verl/utils/import_utils.py load_extern_object; `pkg://interplay_reward.verl`
works too when integrations/python is on PYTHONPATH):

  reward_model.reward_manager=naive  custom_reward_function.name=compute_score
  reward_model.reward_manager=batch  custom_reward_function.name=compute_score_batch
  custom_reward_function.path=integrations/python/interplay_reward/verl.py
  +custom_reward_function.reward_kwargs.reward=strict     (optional; else $INTERPLAY_REWARD, else the service's)

Calling conventions, from verl's source:

- verl/workers/reward_manager/naive.py (NaiveRewardManager.__call__) and
  verl/experimental/reward_loop/reward_manager/naive.py (run_single) call
  `compute_score(data_source=, solution_str=, ground_truth=, extra_info=)` per sample, with
  `ground_truth = row["reward_model"]["ground_truth"]` and `extra_info = row["extra_info"]` to which
  they add `num_turns` and `rollout_reward_scores`; the reward loop awaits the function when it is a
  coroutine function (compute_score_async here) and passes `reward_router_address` /
  `reward_model_tokenizer` keywords when a reward model runs.
- verl/workers/reward_manager/batch.py (BatchRewardManager.verify) calls
  `compute_score(data_sources=, solution_strs=, ground_truths=, extra_infos=, **reward_kwargs)` once
  per batch and wants one result per sample back.
- Both take a float or a dict; a dict must hold "score" (the reward) and every key of it is
  appended to `reward_extra_info`, which verl/trainer/ppo/ray_trainer.py turns into numpy arrays
  per key (so every dict must have the same keys) and verl/trainer/ppo/metric_utils.py
  (process_validation_metrics) averages per key, skipping string values; a "pred" key (a string)
  also gives maj@N. So every value here is a float except "pred", the extracted answer ("" when none).

Set INTERPLAY_RETURN=float to return the bare reward instead of the dict.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Sequence

try:
    from .client import RewardClient, default_client, option_kwargs
    from .gold import verl_gold
except ImportError:  # loaded by file path (verl's custom_reward_function.path): no package context
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from interplay_reward.client import RewardClient, default_client, option_kwargs
    from interplay_reward.gold import verl_gold

#: Keys of the dict result, in order (verl needs the same keys for every sample).
RESULT_KEYS = (
    "score",
    "outcome",
    "process",
    "composite",
    "strict",
    "verified",
    "verified_no_extra",
    "answer_correct",
    "process_acc",
    "parse_failed",
    "truncated",
    "missing",
    "extra",
    "wrong_value",
    "wrong_dependency",
    "arithmetic_slips",
    "penalty",
    "pred",
)


def verl_result(r: dict[str, Any]) -> dict[str, Any]:
    """A service result as verl's dict: `score` (the chosen reward) and numeric diagnostics."""
    rw, p = r["rewards"], r["penalty"]
    return {
        "score": float(r["reward"]),
        "outcome": float(rw["outcome"]),
        "process": float(rw["process"]),
        "composite": float(rw["composite"]),
        "strict": float(rw["strict"]),
        "verified": float(bool(r["verified"])),
        "verified_no_extra": float(bool(r["verifiedNoExtra"])),
        "answer_correct": float(bool(r["answerCorrect"])),
        "process_acc": float(r["processAcc"]),
        "parse_failed": float(bool(r["parseFailed"])),
        "truncated": float(bool(r["truncated"])),
        "missing": float(p["missing"]),
        "extra": float(p["extra"]),
        "wrong_value": float(p["wrongValue"]),
        "wrong_dependency": float(p["wrongDependency"]),
        "arithmetic_slips": float(p["arithmeticSlips"]),
        "penalty": float(p["total"]),
        "pred": "" if r.get("answer") is None else str(r["answer"]),
    }


def _as_dict(kwargs: dict[str, Any]) -> bool:
    v = kwargs.get("return_dict")
    if v is not None:
        return bool(v)
    return os.environ.get("INTERPLAY_RETURN", "dict").strip().lower() != "float"


def _client(kwargs: dict[str, Any]) -> RewardClient:
    c = kwargs.get("client")
    if isinstance(c, RewardClient):
        return c
    return default_client(kwargs.get("url"))


def compute_score(
    data_source: Any = None,
    solution_str: str = "",
    ground_truth: Any = None,
    extra_info: Any = None,
    **kwargs: Any,
) -> dict[str, Any] | float:
    """verl's per-sample scorer (naive reward manager). Keywords (verl's reward_kwargs, all
    optional): reward, alpha, form, allow_extra, allow_slips (else INTERPLAY_* variables, else the
    service's defaults), url, client, gold_from ("graph", default, or "id": score by problem id),
    return_dict. `data_source` only labels verl's metrics."""
    gold = verl_gold(ground_truth, extra_info, prefer=kwargs.get("gold_from", "graph"))
    r = _client(kwargs).score(solution_str, gold, **option_kwargs(kwargs))
    return verl_result(r) if _as_dict(kwargs) else float(r["reward"])


def compute_score_batch(
    data_sources: Sequence[Any] | None = None,
    solution_strs: Sequence[str] = (),
    ground_truths: Sequence[Any] = (),
    extra_infos: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]] | list[float]:
    """verl's batched scorer (batch reward manager): one request per chunk of the service's max
    batch (and body size), results in order. Keywords as compute_score."""
    sols = list(solution_strs)
    gts = list(ground_truths)
    infos = list(extra_infos) if extra_infos is not None else [None] * len(sols)
    if not (len(sols) == len(gts) == len(infos)):
        raise ValueError(f"{len(sols)} solution_strs, {len(gts)} ground_truths and {len(infos)} extra_infos")
    prefer = kwargs.get("gold_from", "graph")
    items = [{"completion": s, "gold": verl_gold(g, e, prefer=prefer)} for s, g, e in zip(sols, gts, infos)]
    results = _client(kwargs).score_batch(items, **option_kwargs(kwargs))
    if _as_dict(kwargs):
        return [verl_result(r) for r in results]
    return [float(r["reward"]) for r in results]


async def compute_score_async(
    data_source: Any = None,
    solution_str: str = "",
    ground_truth: Any = None,
    extra_info: Any = None,
    **kwargs: Any,
) -> dict[str, Any] | float:
    """compute_score as a coroutine function, for verl's reward loop (it awaits coroutine
    functions instead of running them in its executor); the HTTP call runs in a thread."""
    return await asyncio.to_thread(
        compute_score,
        data_source=data_source,
        solution_str=solution_str,
        ground_truth=ground_truth,
        extra_info=extra_info,
        **kwargs,
    )


__all__ = ["RESULT_KEYS", "compute_score", "compute_score_async", "compute_score_batch", "verl_result"]
