#!/usr/bin/env python3
"""An independent Qwen2 causal LM in PyTorch, for checking the folders `interplay export` writes.

Written from the semantics of Hugging Face transformers (not a copy of its code):

- src/transformers/models/qwen2/modeling_qwen2.py: Qwen2RMSNorm (float32, then the weight),
  Qwen2RotaryEmbedding (inv_freq = 1 / theta^(arange(0, d, 2) / d) in float32, cos/sin of
  cat(freqs, freqs)), rotate_half on the full head dimension, repeat_kv (query head h reads
  key/value head h // (heads / kv_heads)), q/k/v projections with bias and o_proj without,
  scaling head_dim^-0.5, softmax in float32, the SiLU-gated MLP, the final norm and lm_head
  (the embedding when tied).
- src/transformers/models/qwen2/configuration_qwen2.py: Qwen2Config's defaults for every field
  config.json leaves out (notably tie_word_embeddings False and num_key_value_heads 32, null
  meaning num_attention_heads), sliding-window layer types.
- src/transformers/modeling_rope_utils.py (RotaryEmbeddingConfigMixin): rope_scaling or
  rope_parameters, rope_theta inside it first, then top-level, then 10000; only the "default"
  RoPE type is implemented here.

The computation is always float32 (bf16 weights are upcast exactly), so a bf16 folder gives the
float32 forward of the bf16-rounded weights.

safetensors is read and written with the standard library (8-byte little-endian header length,
JSON header, raw little-endian data) and torch.frombuffer; sharded folders use
model.safetensors.index.json ({"metadata": {"total_size": N}, "weight_map": {name: file}}).

Usage:
  qwen2_torch.py logits DIR --ids '[[1,2,3],[4,5]]' [--out FILE]
  qwen2_torch.py greedy DIR --ids '[1,2,3]' --max-new N [--stop '[1]']
  qwen2_torch.py save DIR OUT --dtype bf16|fp32 [--shards N] [--lm-head]
  qwen2_torch.py jobs FILE.json      (a list of the above as objects, run in one process)

Needs only PyTorch (and NumPy, which PyTorch's tensors use to expose bytes).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import struct
import sys

import torch

# safetensors dtype names <-> torch dtypes (the ones this reader accepts).
ST_DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}
TORCH_TO_ST = {v: k for k, v in ST_DTYPES.items()}
ITEM_BYTES = {"F32": 4, "BF16": 2, "F16": 2}

TOKENIZER_FILES = [
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "generation_config.json",
]


class CheckpointError(Exception):
    """A folder this reference cannot read; the message names the file and the field."""


# ---------------------------------------------------------------------------------------------
# safetensors


def read_safetensors(path: str) -> dict[str, torch.Tensor]:
    """Reads every tensor of one safetensors file (validated: offsets tile the data block)."""
    try:
        with open(path, "rb") as f:
            buf = bytearray(f.read())
    except OSError as e:
        raise CheckpointError(f"cannot read {path}: {e}") from e
    if len(buf) < 8:
        raise CheckpointError(f"{path}: too short for a safetensors header")
    (hlen,) = struct.unpack("<Q", bytes(buf[:8]))
    if hlen > len(buf) - 8:
        raise CheckpointError(f"{path}: header length {hlen} exceeds the file")
    try:
        header = json.loads(bytes(buf[8 : 8 + hlen]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: header is not JSON ({e})") from e
    start = 8 + hlen
    data_len = len(buf) - start
    out: dict[str, torch.Tensor] = {}
    spans = []
    for name, e in header.items():
        if name == "__metadata__":
            continue
        dtype = e.get("dtype")
        if dtype not in ST_DTYPES:
            raise CheckpointError(f"{path}: tensor {name} has dtype {dtype} (this reader: F32, BF16, F16)")
        shape = e.get("shape")
        b, end = e.get("data_offsets", [None, None])
        n = math.prod(shape)
        if not (isinstance(b, int) and isinstance(end, int) and 0 <= b <= end <= data_len):
            raise CheckpointError(f"{path}: tensor {name} has bad data_offsets")
        if end - b != n * ITEM_BYTES[dtype]:
            raise CheckpointError(f"{path}: tensor {name} has {end - b} bytes for shape {shape} of {dtype}")
        spans.append((b, end, name))
        t = torch.frombuffer(buf, dtype=ST_DTYPES[dtype], count=n, offset=start + b) if n else torch.empty(0, dtype=ST_DTYPES[dtype])
        out[name] = t.reshape(shape).clone()
    at = 0
    for b, end, name in sorted(spans):
        if b != at:
            raise CheckpointError(f"{path}: tensor {name} starts at {b}, expected {at}")
        at = end
    if at != data_len:
        raise CheckpointError(f"{path}: {data_len - at} trailing bytes")
    return out


def tensor_bytes(t: torch.Tensor) -> bytes:
    """The little-endian bytes of a tensor (bf16 through an int16 view, which NumPy can hold)."""
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()  # native order: main() refuses big-endian machines


def write_safetensors(path: str, tensors: list[tuple[str, torch.Tensor]]) -> int:
    """Writes tensors in the given order; returns the size of the data block."""
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs = []
    off = 0
    for name, t in tensors:
        b = tensor_bytes(t)
        header[name] = {"dtype": TORCH_TO_ST[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":"))
    h += " " * ((8 - (8 + len(h.encode())) % 8) % 8)  # data block 8-byte aligned, as the format allows
    hb = h.encode()
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
    return off


def load_state(folder: str) -> tuple[dict[str, torch.Tensor], list[str]]:
    """All tensors of a folder (model.safetensors, else the shards of model.safetensors.index.json)."""
    single = os.path.join(folder, "model.safetensors")
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(single):
        return read_safetensors(single), ["model.safetensors"]
    if not os.path.exists(index):
        raise CheckpointError(f"{folder}: neither model.safetensors nor model.safetensors.index.json")
    with open(index, encoding="utf-8") as f:
        weight_map = json.load(f).get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise CheckpointError(f"{index}: no weight_map")
    files = sorted(set(weight_map.values()))
    state: dict[str, torch.Tensor] = {}
    for file in files:
        if os.path.basename(file) != file:
            raise CheckpointError(f"{index}: shard name {file!r} is not a plain file name")
        shard = read_safetensors(os.path.join(folder, file))
        for name, t in shard.items():
            if weight_map.get(name) != file:
                raise CheckpointError(f"{file} holds {name}, which the index maps to {weight_map.get(name)}")
            state[name] = t
    for name, file in weight_map.items():
        if name not in state:
            raise CheckpointError(f"{index} maps {name} to {file}, which does not hold it")
    return state, files


# ---------------------------------------------------------------------------------------------
# config.json with Qwen2Config's defaults

QWEN2_DEFAULTS = {
    "vocab_size": 151936,
    "hidden_size": 4096,
    "intermediate_size": 22016,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "hidden_act": "silu",
    "max_position_embeddings": 32768,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": False,
    "use_sliding_window": False,
    "sliding_window": 4096,
    "max_window_layers": 28,
}


class Config:
    """config.json read as transformers' Qwen2Config would (missing fields take its defaults)."""

    def __init__(self, j: dict):
        if j.get("model_type") not in (None, "qwen2") and "Qwen2ForCausalLM" not in (j.get("architectures") or []):
            raise CheckpointError(f"not a Qwen2 model (model_type {j.get('model_type')!r})")
        g = lambda k: j[k] if k in j else QWEN2_DEFAULTS[k]  # noqa: E731
        self.vocab_size = int(g("vocab_size"))
        self.hidden_size = int(g("hidden_size"))
        self.intermediate_size = int(g("intermediate_size"))
        self.num_hidden_layers = int(g("num_hidden_layers"))
        self.num_attention_heads = int(g("num_attention_heads"))
        kv = g("num_key_value_heads")
        self.num_key_value_heads = self.num_attention_heads if kv is None else int(kv)
        if g("hidden_act") != "silu":
            raise CheckpointError(f"hidden_act {g('hidden_act')!r} is not implemented (silu)")
        self.max_position_embeddings = int(g("max_position_embeddings"))
        self.rms_norm_eps = float(g("rms_norm_eps"))
        self.tie_word_embeddings = bool(g("tie_word_embeddings"))
        # modeling_qwen2: head_dim = getattr(config, "head_dim", hidden_size // num_attention_heads)
        self.head_dim = int(j.get("head_dim") or self.hidden_size // self.num_attention_heads)
        # RoPE: rope_scaling (older) or rope_parameters (newer); rope_theta inside first.
        rp = j.get("rope_scaling") or j.get("rope_parameters") or {}
        if set(rp) and set(rp) <= {"full_attention", "sliding_attention"}:
            kinds = list(rp.values())
            if any(k != kinds[0] for k in kinds):
                raise CheckpointError("per-layer-type RoPE parameters that differ are not implemented")
            rp = kinds[0] or {}
        rope_type = rp.get("rope_type", rp.get("type", "default"))
        if rope_type != "default":
            raise CheckpointError(f"RoPE type {rope_type!r} is not implemented (default only)")
        self.rope_theta = float(rp.get("rope_theta") or j.get("rope_theta") or 10000.0)
        prf = rp.get("partial_rotary_factor", j.get("partial_rotary_factor", 1.0))
        if prf not in (None, 1, 1.0):
            raise CheckpointError(f"partial_rotary_factor {prf} is not implemented")
        # Sliding-window layers (Qwen2Config.__post_init__): window only with use_sliding_window.
        window = g("sliding_window") if g("use_sliding_window") else None
        types = j.get("layer_types")
        if types is None:
            types = [
                "sliding_attention" if window is not None and i >= g("max_window_layers") else "full_attention"
                for i in range(self.num_hidden_layers)
            ]
        self.windows = [window if t == "sliding_attention" else None for t in types]


# ---------------------------------------------------------------------------------------------
# the model


class Qwen2:
    """Weights (float32) and the forward pass of Qwen2ForCausalLM."""

    def __init__(self, folder: str):
        cfg_path = os.path.join(folder, "config.json")
        try:
            with open(cfg_path, encoding="utf-8") as f:
                self.raw_config = json.load(f)
        except OSError as e:
            raise CheckpointError(f"cannot read {cfg_path}: {e}") from e
        self.cfg = Config(self.raw_config)
        self.state, self.files = load_state(folder)
        self.dtypes = sorted({TORCH_TO_ST[t.dtype] for t in self.state.values()})
        c = self.cfg
        w = {k: v.to(torch.float32) for k, v in self.state.items()}
        self.w = w
        need = ["model.embed_tokens.weight", "model.norm.weight"]
        for i in range(c.num_hidden_layers):
            p = f"model.layers.{i}."
            need += [p + n for n in (
                "input_layernorm.weight", "post_attention_layernorm.weight",
                "self_attn.q_proj.weight", "self_attn.q_proj.bias", "self_attn.k_proj.weight",
                "self_attn.k_proj.bias", "self_attn.v_proj.weight", "self_attn.v_proj.bias",
                "self_attn.o_proj.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
                "mlp.down_proj.weight")]
        missing = [n for n in need if n not in w]
        if missing:
            raise CheckpointError(f"{folder}: missing tensors {missing[:4]}{' …' if len(missing) > 4 else ''}")
        if c.tie_word_embeddings:
            self.head = w["model.embed_tokens.weight"]  # tie_weights(): the embedding wins
        elif "lm_head.weight" in w:
            self.head = w["lm_head.weight"]
        else:
            raise CheckpointError(
                f"{folder}: tie_word_embeddings is false (Qwen2Config's default when absent) and there is "
                "no lm_head.weight: transformers would initialise the head at random")
        q = c.num_attention_heads * c.head_dim
        kv = c.num_key_value_heads * c.head_dim
        shapes = {"model.embed_tokens.weight": (c.vocab_size, c.hidden_size),
                  "model.layers.0.self_attn.q_proj.weight": (q, c.hidden_size),
                  "model.layers.0.self_attn.k_proj.weight": (kv, c.hidden_size),
                  "model.layers.0.mlp.gate_proj.weight": (c.intermediate_size, c.hidden_size)}
        for n, s in shapes.items():
            if n in w and tuple(w[n].shape) != s:
                raise CheckpointError(f"{folder}: {n} has shape {list(w[n].shape)}, config.json implies {list(s)}")
        # Qwen2RotaryEmbedding.compute_default_rope_parameters, in float32.
        d = c.head_dim
        self.inv_freq = 1.0 / (c.rope_theta ** (torch.arange(0, d, 2, dtype=torch.int64).to(torch.float32) / d))

    def rmsnorm(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        x = x.to(torch.float32)
        var = x.pow(2).mean(-1, keepdim=True)
        return weight * (x * torch.rsqrt(var + self.cfg.rms_norm_eps))

    @staticmethod
    def rotate_half(x: torch.Tensor) -> torch.Tensor:
        h = x.shape[-1] // 2
        return torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    @torch.no_grad()
    def forward(self, ids: list[int]) -> torch.Tensor:
        """Logits [T, V] (float32) of one sequence at positions 0 … T-1."""
        c, w = self.cfg, self.w
        T = len(ids)
        if T == 0:
            raise CheckpointError("empty sequence")
        if T > c.max_position_embeddings:
            raise CheckpointError(f"{T} tokens exceed max_position_embeddings {c.max_position_embeddings}")
        idx = torch.tensor(ids, dtype=torch.int64)
        if int(idx.min()) < 0 or int(idx.max()) >= c.vocab_size:
            raise CheckpointError("token id outside the vocabulary")
        H, Hkv, d = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        rep = H // Hkv
        pos = torch.arange(T, dtype=torch.int64).to(torch.float32)
        freqs = pos[:, None] * self.inv_freq[None, :]  # [T, d/2]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()  # [T, d]
        qi = torch.arange(T)[:, None]
        ki = torch.arange(T)[None, :]
        neg = torch.finfo(torch.float32).min
        x = w["model.embed_tokens.weight"][idx]  # [T, C]
        for i in range(c.num_hidden_layers):
            p = f"model.layers.{i}."
            h = self.rmsnorm(x, w[p + "input_layernorm.weight"])
            lin = lambda n, b=True: torch.nn.functional.linear(  # noqa: E731
                h, w[p + n + ".weight"], w[p + n + ".bias"] if b else None)
            q = lin("self_attn.q_proj").view(T, H, d).transpose(0, 1)  # [H, T, d]
            k = lin("self_attn.k_proj").view(T, Hkv, d).transpose(0, 1)
            v = lin("self_attn.v_proj").view(T, Hkv, d).transpose(0, 1)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            # repeat_kv: key/value head g serves query heads g·rep … g·rep + rep − 1.
            k = k[:, None].expand(Hkv, rep, T, d).reshape(H, T, d)
            v = v[:, None].expand(Hkv, rep, T, d).reshape(H, T, d)
            allowed = ki <= qi
            if c.windows[i] is not None:
                allowed = allowed & (ki > qi - c.windows[i])
            mask = torch.zeros(T, T).masked_fill(~allowed, neg)
            scores = torch.matmul(q, k.transpose(1, 2)) * (d**-0.5) + mask
            probs = torch.softmax(scores, dim=-1, dtype=torch.float32)
            att = torch.matmul(probs, v).transpose(0, 1).reshape(T, H * d)
            x = x + torch.nn.functional.linear(att, w[p + "self_attn.o_proj.weight"])
            h = self.rmsnorm(x, w[p + "post_attention_layernorm.weight"])
            gate = torch.nn.functional.linear(h, w[p + "mlp.gate_proj.weight"])
            up = torch.nn.functional.linear(h, w[p + "mlp.up_proj.weight"])
            x = x + torch.nn.functional.linear(torch.nn.functional.silu(gate) * up, w[p + "mlp.down_proj.weight"])
        x = self.rmsnorm(x, w["model.norm.weight"])
        return torch.nn.functional.linear(x, self.head)

    def greedy(self, ids: list[int], max_new: int, stop: list[int]) -> list[int]:
        """Greedy continuation (argmax, first index on ties), recomputing the whole sequence each step."""
        seq = list(ids)
        out: list[int] = []
        for _ in range(max_new):
            if len(seq) >= self.cfg.max_position_embeddings:
                break
            nxt = int(torch.argmax(self.forward(seq)[-1]))
            seq.append(nxt)
            out.append(nxt)
            if nxt in stop:
                break
        return out


# ---------------------------------------------------------------------------------------------
# saving in Hugging Face layout


def save(folder: str, out: str, dtype: str, shards: int = 1, lm_head: bool = False) -> dict:
    """Re-saves a folder's weights (bf16 rounds to nearest even), config and tokenizer files."""
    if dtype not in ("fp32", "bf16"):
        raise CheckpointError(f"dtype {dtype!r}: fp32 or bf16")
    if shards < 1:
        raise CheckpointError("shards must be at least 1")
    m = Qwen2(folder)
    tdtype = torch.float32 if dtype == "fp32" else torch.bfloat16
    tensors = [(n, t.to(tdtype)) for n, t in m.state.items() if not n.endswith("rotary_emb.inv_freq")]
    if lm_head and not any(n == "lm_head.weight" for n, _ in tensors):
        tensors.append(("lm_head.weight", m.head.to(tdtype).clone()))
    if os.path.exists(out) and os.listdir(out):
        raise CheckpointError(f"{out} exists and is not empty")
    os.makedirs(out, exist_ok=True)
    cfg = dict(m.raw_config)
    cfg["torch_dtype"] = "float32" if dtype == "fp32" else "bfloat16"
    with open(os.path.join(out, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
    files: list[str] = []
    if shards == 1:
        write_safetensors(os.path.join(out, "model.safetensors"), tensors)
        files = ["model.safetensors"]
    else:
        if shards > len(tensors):
            raise CheckpointError(f"{shards} shards for {len(tensors)} tensors")
        total = sum(t.numel() * t.element_size() for _, t in tensors)
        per = total / shards
        # Contiguous groups of about total/shards bytes each, exactly `shards` of them, none empty.
        groups: list[list[tuple[str, torch.Tensor]]] = [[]]
        acc = 0
        for i, (n, t) in enumerate(tensors):
            left = len(tensors) - i
            if groups[-1] and len(groups) < shards and (acc >= per * len(groups) or left <= shards - len(groups)):
                groups.append([])
            groups[-1].append((n, t))
            acc += t.numel() * t.element_size()
        weight_map = {}
        for i, g in enumerate(groups):
            name = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
            write_safetensors(os.path.join(out, name), g)
            files.append(name)
            for n, _ in g:
                weight_map[n] = name
        with open(os.path.join(out, "model.safetensors.index.json"), "w", encoding="utf-8") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    copied = []
    for name in TOKENIZER_FILES:
        src = os.path.join(folder, name)
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(out, name))
            copied.append(name)
    if "generation_config.json" not in copied:
        # save_pretrained writes one for generative models (from the config's token ids).
        gen = {k: cfg[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id") if cfg.get(k) is not None}
        with open(os.path.join(out, "generation_config.json"), "w", encoding="utf-8") as f:
            json.dump({**gen, "_from_model_config": True}, f, indent=2)
    return {"out": out, "files": files, "dtype": TORCH_TO_ST[tdtype], "tokenizer_files": copied}


# ---------------------------------------------------------------------------------------------
# command line


def as_batch(ids) -> list[list[int]]:
    if not isinstance(ids, list) or not ids:
        raise CheckpointError("--ids must be a non-empty JSON list")
    return [list(map(int, s)) for s in ids] if isinstance(ids[0], list) else [list(map(int, ids))]


_models: dict[str, Qwen2] = {}


def model(folder: str) -> Qwen2:
    if folder not in _models:
        _models[folder] = Qwen2(folder)
    return _models[folder]


def run(job: dict) -> dict:
    cmd = job.get("cmd")
    if cmd == "logits":
        m = model(job["dir"])
        seqs = as_batch(job["ids"])
        rows = [m.forward(s) for s in seqs]
        res = {"shapes": [list(r.shape) for r in rows], "dtypes": m.dtypes}
        if job.get("out"):
            with open(job["out"], "wb") as f:
                for r in rows:
                    f.write(tensor_bytes(r.contiguous()))
            res["out"] = job["out"]
        else:
            res["logits"] = [r.tolist() for r in rows]
        return res
    if cmd == "greedy":
        m = model(job["dir"])
        stop = [int(s) for s in job.get("stop") or []]
        return {"completions": [m.greedy(s, int(job.get("max_new", 32)), stop) for s in as_batch(job["ids"])]}
    if cmd == "save":
        return save(job["dir"], job["out"], job.get("dtype", "fp32"), int(job.get("shards", 1)), bool(job.get("lm_head")))
    raise CheckpointError(f"unknown command {cmd!r} (logits, greedy, save)")


def main(argv: list[str]) -> int:
    if sys.byteorder != "little":
        print("error: this reference assumes a little-endian machine", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("logits", help="logits of token sequences")
    a.add_argument("dir")
    a.add_argument("--ids", required=True, help="JSON list of ids, or of lists")
    a.add_argument("--out", help="write float32 little-endian [T, V] per sequence here instead of printing")
    a = sub.add_parser("greedy", help="greedy continuation")
    a.add_argument("dir")
    a.add_argument("--ids", required=True)
    a.add_argument("--max-new", type=int, default=32)
    a.add_argument("--stop", default="[]", help="JSON list of ids that end generation")
    a = sub.add_parser("save", help="re-save in Hugging Face layout")
    a.add_argument("dir")
    a.add_argument("out")
    a.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    a.add_argument("--shards", type=int, default=1)
    a.add_argument("--lm-head", action="store_true", help="also store lm_head.weight (as some trainers do)")
    a = sub.add_parser("jobs", help="run a JSON list of {cmd, ...} objects in one process")
    a.add_argument("file")
    o = ap.parse_args(argv)
    try:
        if o.cmd == "jobs":
            with open(o.file, encoding="utf-8") as f:
                res = [run(j) for j in json.load(f)]
        elif o.cmd == "logits":
            res = run({"cmd": "logits", "dir": o.dir, "ids": json.loads(o.ids), "out": o.out})
        elif o.cmd == "greedy":
            res = run({"cmd": "greedy", "dir": o.dir, "ids": json.loads(o.ids), "max_new": o.max_new,
                       "stop": json.loads(o.stop)})
        else:
            res = run({"cmd": "save", "dir": o.dir, "out": o.out, "dtype": o.dtype, "shards": o.shards,
                       "lm_head": o.lm_head})
    except (CheckpointError, json.JSONDecodeError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
