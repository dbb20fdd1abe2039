"""Reward functions for GPU trainers (verl, TRL, OpenRLHF) backed by the interplay reward service.

Standard library only, so the package drops into any trainer environment: put
integrations/python on PYTHONPATH (or copy the interplay_reward folder), run `interplay serve`,
and point INTERPLAY_REWARD_URL at it (default http://127.0.0.1:8000). See ../README.md.

  interplay_reward.verl       compute_score, compute_score_batch, compute_score_async
  interplay_reward.trl        interplay_reward, interplay_reward_async, make_reward_func
  interplay_reward.openrlhf   reward_func (a file for --reward.remote_url / --remote_rm_url)
  interplay_reward.client         RewardClient: timeouts, retries with backoff, clear errors
  interplay_reward.local          start_service(): `interplay serve --port 0` as a subprocess
"""

from .client import (
    DEFAULT_URL,
    URL_ENV,
    RequestRejected,
    RewardClient,
    RewardServiceError,
    ServiceUnavailable,
    default_client,
    scoring_options,
)
from .openrlhf import reward_func
from .trl import interplay_reward, interplay_reward_async, make_reward_func
from .verl import compute_score, compute_score_async, compute_score_batch
from .local import LocalService, start_service

__all__ = [
    "DEFAULT_URL",
    "URL_ENV",
    "LocalService",
    "RequestRejected",
    "RewardClient",
    "RewardServiceError",
    "ServiceUnavailable",
    "compute_score",
    "compute_score_async",
    "compute_score_batch",
    "default_client",
    "interplay_reward",
    "interplay_reward_async",
    "make_reward_func",
    "reward_func",
    "scoring_options",
    "start_service",
]
