"""OpenRLHF reward function file backed by the interplay reward service.

OpenRLHF takes either the service's URL or a Python file as its remote reward model:

  --reward.remote_url http://HOST:8000/get_reward                       (OpenRLHF >= 0.10.2)
  --remote_rm_url     http://HOST:8000/get_reward                       (<= 0.10.1)
  --reward.remote_url integrations/python/interplay_reward/openrlhf.py   (this file)

Calling convention, from OpenRLHF's openrlhf/utils/agent.py (SingleTurnAgentExecutor): a path
ending in ".py" is loaded with importlib (spec_from_file_location) and its `reward_func(queries,
prompts, labels)` is called through asyncio.to_thread with lists (one sample per call in 0.11),
`query` being the decoded prompt + response (special tokens kept) and `label` the dataset's
`--data.label_key` column; with a URL it POSTs `{query, prompts, labels}` itself (5 tries, 1 s
apart). Either way the answer is read as `{rewards, scores, extra_logs}`
(openrlhf/trainer/ppo_utils/samples_generator.py); examples/python/reward_func.py shows the shape.
This function returns the service's /get_reward answer unchanged (lists, as the URL route gets),
after the client's own retries with backoff and its clear errors (client.py).

Labels: the TRL export's `id` column (`--data.label_key id`), or a JSON `{graph, answer}` string.
Options: INTERPLAY_REWARD, INTERPLAY_ALPHA, ... and INTERPLAY_REWARD_URL in the environment of the
Ray workers (or a query string in the URL: INTERPLAY_REWARD_URL=http://h:8000?reward=strict).
"""

from __future__ import annotations

from typing import Any, Sequence

try:
    from .client import RewardClient, default_client, option_kwargs
except ImportError:  # loaded by file path, as OpenRLHF does
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from interplay_reward.client import RewardClient, default_client, option_kwargs


def reward_func(
    queries: Sequence[str], prompts: Sequence[str] | None, labels: Sequence[Any], **kwargs: Any
) -> dict[str, Any]:
    """OpenRLHF's `reward_func(queries, prompts, labels)`: {rewards, scores, extra_logs} (lists)."""
    client = kwargs.get("client")
    if not isinstance(client, RewardClient):
        client = default_client(kwargs.get("url"))
    return client.get_reward(queries, prompts, labels, **option_kwargs(kwargs))


__all__ = ["reward_func"]
