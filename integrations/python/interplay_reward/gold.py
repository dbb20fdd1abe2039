"""The gold a completion is scored against, from what a trainer hands a reward function.

The lab's exports (src/interop/rows.ts; docs/scale-out.md, section 1) carry it twice:

- verl rows: `reward_model.ground_truth` is the gold ANSWER (a string), and `extra_info` holds
  `id`, `answer` and `gold_graph: {nodes: [{name, value, parents, expr}]}` (`expr` null outside
  reverse mode).
- TRL rows: the columns `id`, `answer` and `gold_graph`, which GRPOTrainer passes to reward
  functions as keyword lists.

The service takes a gold as a problem id (regenerated from the world or found among
`interplay serve --problems`), or as an embedded `{graph: {nodes}, answer}`. The embedded graph is
preferred: it needs no problem files and no regeneration on the service.

Values may come as numpy arrays and scalars (pandas-backed datasets, verl's object arrays), so they
are turned into plain Python first.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

#: A generated problem id: CONTEXT-{f|r}-opN-sSEED-iINDEX (src/serve/gold.ts, keyFromId).
_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def plain(x: Any) -> Any:
    """numpy arrays/scalars, tuples and mappings as plain lists, numbers and dicts."""
    if x is None or isinstance(x, (str, bool, int, float)):
        return x
    if isinstance(x, Mapping):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    tolist = getattr(x, "tolist", None)  # numpy arrays and scalars, torch tensors
    if callable(tolist):
        return plain(tolist())
    item = getattr(x, "item", None)
    if callable(item):
        return plain(item())
    if isinstance(x, bytes):
        return x.decode("utf-8")
    return x


def graph_gold(graph: Any, answer: Any, problem_id: Any = None) -> dict[str, Any]:
    """`{graph: {nodes}, answer}` from an exported gold graph (null `expr` dropped)."""
    g = plain(graph)
    if not isinstance(g, dict) or not isinstance(g.get("nodes"), list):
        raise ValueError(f"gold_graph must be {{nodes: [...]}}, got {type(graph).__name__}")
    nodes = []
    for n in g["nodes"]:
        node = {"name": n["name"], "value": n["value"], "parents": list(n.get("parents") or [])}
        if n.get("expr") is not None:
            node["expr"] = n["expr"]
        nodes.append(node)
    a = plain(answer)
    if a is None:
        raise ValueError("an embedded gold graph needs its answer")
    gold: dict[str, Any] = {"graph": {"nodes": nodes}, "answer": str(a)}
    if isinstance(problem_id, str):
        gold["id"] = problem_id
    return gold


def _looks_like_id(s: str) -> bool:
    return 0 < len(s) <= 200 and set(s) <= _ID_CHARS and "-op" in s


def verl_gold(ground_truth: Any, extra_info: Any = None, prefer: str = "graph") -> Any:
    """The gold of a verl row: `extra_info.gold_graph` with the answer (`prefer="graph"`, default)
    or `extra_info.id` (`prefer="id"`); without extra_info, `ground_truth` itself when it is a
    problem id, a JSON text or mapping of `{graph, answer}` (or `{id}` / a problem key)."""
    info = extra_info if isinstance(extra_info, Mapping) else {}
    gt = plain(ground_truth)
    graph = info.get("gold_graph")
    pid = plain(info.get("id"))
    if prefer == "id" and isinstance(pid, str):
        return pid
    if graph is not None:
        answer = info.get("answer")
        return graph_gold(graph, gt if answer is None else answer, pid)
    if isinstance(pid, str):
        return pid
    if isinstance(gt, dict):
        return gt
    if isinstance(gt, str):
        s = gt.strip()
        if s.startswith("{"):
            try:
                return json.loads(s)
            except ValueError as e:
                raise ValueError(f"ground_truth looks like JSON but does not parse: {e}") from None
        if _looks_like_id(s):
            return s
    raise ValueError(
        f"cannot tell the gold of this row: ground_truth {str(gt)[:60]!r} is not a problem id or a "
        "{graph, answer} JSON, and extra_info has neither gold_graph nor id "
        "(export the rows with `interplay export-data --format verl`)"
    )


def trl_golds(n: int, columns: Mapping[str, Any], prefer: str = "graph") -> list[Any]:
    """Golds of a TRL batch from its dataset columns (`gold_graph` + `answer`, else `id`)."""
    graphs, answers, ids = columns.get("gold_graph"), columns.get("answer"), columns.get("id")
    if prefer != "id" and graphs is not None and answers is not None:
        graphs, answers = plain(graphs), plain(answers)
        ids = plain(ids) if ids is not None else [None] * n
        _check_len("gold_graph", graphs, n)
        _check_len("answer", answers, n)
        return [graph_gold(g, a, i) for g, a, i in zip(graphs, answers, ids)]
    if ids is not None:
        ids = plain(ids)
        _check_len("id", ids, n)
        return [str(i) for i in ids]
    raise ValueError(
        "the dataset has no `gold_graph` and `answer` columns nor an `id` column for the reward "
        "function (export it with `interplay export-data --format trl`); columns given: "
        + ", ".join(sorted(k for k in columns if not k.startswith("log_") and k != "trainer_state"))
    )


def _check_len(name: str, values: Any, n: int) -> None:
    if not isinstance(values, list) or len(values) != n:
        got = len(values) if isinstance(values, list) else type(values).__name__
        raise ValueError(f"column {name!r} has {got} entries for {n} completions")
