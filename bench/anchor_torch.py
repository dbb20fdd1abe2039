"""PyTorch CPU anchor for the engine benchmarks (benchmarks.md): W1 = one training step of the
3.3M-parameter Qwen2-style model (vocab 512, hidden 256, 4 layers, 4 heads, MLP 688, context 256,
batch 16x256, AdamW); W2 = sampling from the same model: 64 sequences, 64-token prompt, 192 new
tokens, preallocated KV cache, prefill included. Prints one JSON line. Run with 2 threads and OpenBLAS-openmp, as the spec
requires for a fair anchor:

  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp python3 bench/anchor_torch.py train|sample

W3 (`pretrain`) trains a model of the shape given as JSON on the token rows the engine's bench wrote
(block-diagonal causal mask from the rows' document starts), in fp32 or under
torch.autocast("cpu", dtype=torch.bfloat16); bench/pretrain.ts runs both.
"""
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

V, C, L, H, HKV, FF, T, B = 512, 256, 4, 4, 4, 688, 256, 16
HD = C // H


def configure(cfg):
    """Sets the model's shape from a dict (W3 passes the `tiny` preset's; W1/W2 use the defaults above)."""
    global V, C, L, H, HKV, FF, T, B, HD
    V, C, L, H, HKV, FF = cfg["vocabSize"], cfg["hidden"], cfg["layers"], cfg["heads"], cfg["kvHeads"], cfg["mlp"]
    T, B = cfg["seqLen"], cfg["batch"]
    HD = C // H


class RMSNorm(torch.nn.Module):
    def __init__(self, n, eps=1e-6):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1 = RMSNorm(C)
        self.q = torch.nn.Linear(C, H * HD)
        self.k = torch.nn.Linear(C, HKV * HD)
        self.v = torch.nn.Linear(C, HKV * HD)
        self.o = torch.nn.Linear(H * HD, C, bias=False)
        self.ln2 = RMSNorm(C)
        self.gate = torch.nn.Linear(C, FF, bias=False)
        self.up = torch.nn.Linear(C, FF, bias=False)
        self.down = torch.nn.Linear(FF, C, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        h = self.ln1(x)
        q = self.q(h).view(b, t, H, HD).transpose(1, 2)
        k = self.k(h).view(b, t, HKV, HD).transpose(1, 2)
        v = self.v(h).view(b, t, HKV, HD).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if HKV != H:
            k = k.repeat_interleave(H // HKV, dim=1)
            v = v.repeat_interleave(H // HKV, dim=1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(HD) + mask
        y = torch.softmax(att, dim=-1) @ v
        x = x + self.o(y.transpose(1, 2).reshape(b, t, C))
        h = self.ln2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(V, C)
        self.layers = torch.nn.ModuleList([Layer() for _ in range(L)])
        self.norm = RMSNorm(C)
        inv = 1.0 / (10000 ** (torch.arange(0, HD, 2).float() / HD))
        f = torch.outer(torch.arange(T).float(), inv)
        e = torch.cat((f, f), dim=-1)
        self.register_buffer("cos", e.cos()[None, None])
        self.register_buffer("sin", e.sin()[None, None])
        self.register_buffer("mask", torch.full((T, T), float("-inf")).triu(1))

    def forward(self, idx, targets, mask=None):
        x = self.emb(idx)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin, self.mask if mask is None else mask)
        logits = self.norm(x) @ self.emb.weight.t()
        return F.cross_entropy(logits.view(-1, V).float(), targets.view(-1), ignore_index=-1)


def layer_step(layer, x, cos, sin, kc, vc, t0, mask):
    """One layer over x [b, t, C] at positions t0.. with the key/value cache kc, vc [b, HKV, Tmax, HD]."""
    b, t, _ = x.shape
    h = layer.ln1(x)
    q = layer.q(h).view(b, t, H, HD).transpose(1, 2)
    k = layer.k(h).view(b, t, HKV, HD).transpose(1, 2)
    v = layer.v(h).view(b, t, HKV, HD).transpose(1, 2)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    kc[:, :, t0 : t0 + t] = k
    vc[:, :, t0 : t0 + t] = v
    keys, vals = kc[:, :, : t0 + t], vc[:, :, : t0 + t]
    if HKV != H:
        keys = keys.repeat_interleave(H // HKV, dim=1)
        vals = vals.repeat_interleave(H // HKV, dim=1)
    att = (q @ keys.transpose(-1, -2)) / math.sqrt(HD)
    if mask is not None:
        att = att + mask
    y = torch.softmax(att, dim=-1) @ vals
    x = x + layer.o(y.transpose(1, 2).reshape(b, t, C))
    h = layer.ln2(x)
    return x + layer.down(F.silu(layer.gate(h)) * layer.up(h))


def bench_sample(nseq=64, prompt=64, new=192, reps=3, warmup=1, autocast=False):
    torch.manual_seed(0)
    model = Model().eval()
    tmax = prompt + new
    idx = torch.randint(0, V, (nseq, prompt))
    caches = [(torch.zeros(nseq, HKV, tmax, HD), torch.zeros(nseq, HKV, tmax, HD)) for _ in model.layers]
    times = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        for i in range(warmup + reps):
            t0 = time.perf_counter()
            x = model.emb(idx)
            cos, sin = model.cos[:, :, :prompt], model.sin[:, :, :prompt]
            mask = model.mask[:prompt, :prompt]
            for layer, (kc, vc) in zip(model.layers, caches):
                x = layer_step(layer, x, cos, sin, kc, vc, 0, mask)
            logits = model.norm(x[:, -1]) @ model.emb.weight.t()
            tok = torch.multinomial(torch.softmax(logits, -1), 1)
            for pos in range(prompt, tmax - 1):
                x = model.emb(tok)
                cos, sin = model.cos[:, :, pos : pos + 1], model.sin[:, :, pos : pos + 1]
                for layer, (kc, vc) in zip(model.layers, caches):
                    x = layer_step(layer, x, cos, sin, kc, vc, pos, None)
                logits = model.norm(x[:, -1]) @ model.emb.weight.t()
                tok = torch.multinomial(torch.softmax(logits, -1), 1)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    return nseq * new / statistics.median(times)


def bench_train(steps=7, warmup=2, autocast=False):
    torch.manual_seed(0)
    model = Model()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
    idx = torch.randint(0, V, (B, T))
    tgt = torch.randint(0, V, (B, T))
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = model(idx, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        if i >= warmup:
            times.append(dt)
    return B * T / statistics.median(times)


def document_mask(starts):
    """Additive mask [B, 1, T, T]: position t sees s when start[t] <= s <= t (block-diagonal causal)."""
    t = torch.arange(T)
    allowed = (t[None, None, :] <= t[None, :, None]) & (t[None, None, :] >= starts[:, :, None])
    return torch.where(allowed, 0.0, float("-inf"))[:, None]


def bench_pretrain(rows_path, steps, warmup, autocast):
    """W3: trains on the token rows the engine wrote (int32 tokens, targets, document starts per step)."""
    torch.manual_seed(0)
    model = Model()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=3e-3)
    rows = torch.from_numpy(__import__("numpy").fromfile(rows_path, dtype="int32").copy()).view(-1, 3, B, T).long()
    times = []
    for i in range(warmup + steps):
        idx, tgt, starts = rows[i % rows.shape[0]]
        t0 = time.perf_counter()
        mask = document_mask(starts)
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = model(idx, tgt, mask)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return B * T / statistics.median(times)


def blas_config():
    lib = os.environ.get("LD_LIBRARY_PATH", "")
    variant = "openblas-openmp" if "openblas-openmp" in lib else "default (Debian alternatives; pthread unless switched)"
    return f"torch {torch.__version__}, {torch.get_num_threads()} threads, BLAS {variant}"


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("ANCHOR_THREADS", "2")))
    what = sys.argv[1] if len(sys.argv) > 1 else "train"
    if what in ("train", "sample"):
        # train|sample [fp32|bf16]: bf16 runs under torch.autocast("cpu", dtype=torch.bfloat16)
        bf16 = len(sys.argv) > 2 and sys.argv[2] == "bf16"
        tps = (bench_train if what == "train" else bench_sample)(autocast=bf16)
        name = "pytorch-cpu" + (" bf16 autocast" if bf16 else " fp32")
        print(json.dumps({"name": name, "tokensPerSec": tps, "config": blas_config()}))
    elif what == "pretrain":
        # pretrain CONFIG_JSON ROWS_FILE STEPS WARMUP fp32|bf16
        cfg, rows, steps, warmup, dtype = json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
        configure(cfg)
        tps = bench_pretrain(rows, steps, warmup, dtype == "bf16")
        name = "pytorch-cpu" + (" bf16 autocast" if dtype == "bf16" else " fp32")
        print(json.dumps({"name": name, "tokensPerSec": tps, "config": blas_config()}))
    else:
        raise SystemExit(f"unknown workload {what}")
