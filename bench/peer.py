"""The peer benchmark: tesserae's training step written directly in PyTorch.

bench/speed.ts runs this script beside its own measurement (the same spec, batch and thread
count, interleaved so that machine drift hits both) and reports tesserae's speed as a ratio
against it. The script reads one configuration, derived by bench/speed.ts from the ModelSpec
(src/models/spec.ts) that tesserae trains, so both sides build the same network:

  /usr/bin/python3 bench/peer.py --config '{"label": "mae micro/4", "image": [32, 32, 3], "patch": 4,
      "encoder": {"width": 64, "depth": 4, "heads": 4, "mlpRatio": 4, "clsTokens": 1, "conditioning": "none", "pos": "sincos"},
      "decoder": {"kind": "mask-token", "width": 64, "depth": 2, "heads": 4, "mlpRatio": 4},
      "heads": ["x0"],
      "branches": [{"share": 1, "keep": 16, "noise": "none", "objective": [{"target": "x0", "region": "masked", "weight": 1}]}]}' \
    --threads 1,2 --batch 64 --steps 5

The networks (src/vision/vit.ts, cross.ts, condAe.ts; src/layers/conditioning.ts):
- pre-norm ViT blocks (LayerNorm eps 1e-6, fused qkv with bias, MLP ratio 4, exact GELU);
- conditioning "none" and decoder "mask-token" (MAE): every patch embedded, the visible ones
  kept, CLS prepended, ViT blocks and LayerNorm; a light decoder maps the latent to its width,
  refills the removed slots with a mask token, adds sin-cos positions and predicts every patch;
- conditioning "none" and decoder "cross" or "cross-self" (DiffMAE): the same encoder; queries
  are the embedded noisy removed patches plus positions and a timestep embedding; each decoder
  block runs self-attention among the queries (cross-self), cross-attention to the normed
  encoder output, and an MLP; a LayerNorm and a linear head predict the removed patches;
- conditioning "adaln" and decoder "mask-token" (UMD): a condition c (the timestep embedding)
  enters every block through adaLN-Zero; CLS tokens in front of the visible tokens, their mean
  is the representation, which the decoder puts in front of the visible tokens and mask tokens.
Each branch of the corruption takes its share of the batch (its own mask, noise, timesteps and
loss terms: per-patch MSE over a region), and the step is forward, backward and AdamW.

FLOPs: every matrix product of one forward pass is counted as the ops run (a dispatch mode
sees each mm, addmm, bmm and baddbmm), per image; a training step counts three times the
forward, the convention of src/eval/flops.ts, whose count bench/speed.ts prints beside it.

Output: one JSON line per thread count on stdout (each thread count runs in its own process, with
OpenMP and the BLAS library pinned to it before torch loads).
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time


def _pin_threads():
    """With one thread count, pin OpenMP and the BLAS library to it before torch loads them (OpenBLAS reads its
    thread count once, at load time; torch.set_num_threads does not reach it)."""
    argv = sys.argv[1:]
    for i, a in enumerate(argv):
        value = a.split("=", 1)[1] if a.startswith("--threads=") else argv[i + 1] if a == "--threads" and i + 1 < len(argv) else None
        if value is not None and value.isdigit():
            for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[name] = value


_pin_threads()

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

EPS = 1e-6
STEPS_T = 1000


def sincos_1d(width, pos):
    omega = 1.0 / 10000 ** (torch.arange(width // 2, dtype=torch.float64) / (width / 2.0))
    out = pos.reshape(-1, 1).double() * omega.reshape(1, -1)
    return torch.cat([torch.sin(out), torch.cos(out)], dim=1)


def sincos_2d(width, rows, cols):
    """MAE's fixed 2D sin-cos table [rows * cols, width]."""
    gy, gx = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
    return torch.cat([sincos_1d(width // 2, gy), sincos_1d(width // 2, gx)], dim=1).float()


def timestep_features(t, dim=256, max_period=10000):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float().reshape(-1, 1) * freqs.reshape(1, -1)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class TimestepEmbedding(nn.Module):
    def __init__(self, width, freq=256):
        super().__init__()
        self.freq = freq
        self.fc1 = nn.Linear(freq, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, t):
        return self.fc2(F.silu(self.fc1(timestep_features(t, self.freq))))


def heads_of(x, heads):
    b, n, d = x.shape
    return x.reshape(b, n, heads, d // heads).transpose(1, 2)


def merge(x):
    b, h, n, dh = x.shape
    return x.transpose(1, 2).reshape(b, n, h * dh)


def attend(q, k, v):
    scores = torch.matmul(q * (1.0 / math.sqrt(q.shape[-1])), k.transpose(-1, -2))
    return torch.matmul(torch.softmax(scores, dim=-1), v)


class SelfAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        h = self.heads
        return self.proj(merge(attend(heads_of(q, h), heads_of(k, h), heads_of(v, h))))


class CrossAttention(nn.Module):
    def __init__(self, width, memory_width, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(memory_width, 2 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x, memory):
        k, v = self.kv(memory).chunk(2, dim=-1)
        h = self.heads
        return self.proj(merge(attend(heads_of(self.q(x), h), heads_of(k, h), heads_of(v, h))))


class Mlp(nn.Module):
    def __init__(self, width, ratio):
        super().__init__()
        self.fc1 = nn.Linear(width, round(width * ratio))
        self.fc2 = nn.Linear(round(width * ratio), width)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm ViT block."""

    def __init__(self, width, heads, ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, eps=EPS)
        self.attn = SelfAttention(width, heads)
        self.norm2 = nn.LayerNorm(width, eps=EPS)
        self.mlp = Mlp(width, ratio)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class CrossBlock(nn.Module):
    """DiffMAE decoder block: self-attention among the queries (cross-self only), cross-attention, MLP."""

    def __init__(self, width, memory_width, heads, ratio, self_attention):
        super().__init__()
        self.self_attention = self_attention
        if self_attention:
            self.norm0 = nn.LayerNorm(width, eps=EPS)
            self.attn = SelfAttention(width, heads)
        self.norm_x = nn.LayerNorm(width, eps=EPS)
        self.norm_m = nn.LayerNorm(memory_width, eps=EPS)
        self.cross = CrossAttention(width, memory_width, heads)
        self.norm2 = nn.LayerNorm(width, eps=EPS)
        self.mlp = Mlp(width, ratio)

    def forward(self, x, memory):
        if self.self_attention:
            x = x + self.attn(self.norm0(x))
        x = x + self.cross(self.norm_x(x), self.norm_m(memory))
        return x + self.mlp(self.norm2(x))


def modulate(x, shift, scale):
    return F.layer_norm(x, x.shape[-1:], eps=EPS) * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class AdaLnBlock(nn.Module):
    """DiT's adaLN-Zero block: shift, scale and gate of both sublayers from c."""

    def __init__(self, width, cond_width, heads, ratio):
        super().__init__()
        self.ada = nn.Linear(cond_width, 6 * width)
        self.attn = SelfAttention(width, heads)
        self.mlp = Mlp(width, ratio)

    def forward(self, x, c):
        s1, sc1, g1, s2, sc2, g2 = self.ada(F.silu(c)).chunk(6, dim=1)
        x = x + g1.unsqueeze(1) * self.attn(modulate(x, s1, sc1))
        return x + g2.unsqueeze(1) * self.mlp(modulate(x, s2, sc2))


def gather_tokens(x, ids):
    return torch.gather(x, 1, ids.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


class Encoder(nn.Module):
    """MAE's encoder: embed every patch, add positions, keep the visible ones, CLS in front, blocks, LayerNorm."""

    def __init__(self, cfg, patch_dim, rows, cols):
        super().__init__()
        e = cfg["encoder"]
        d = e["width"]
        self.embed = nn.Linear(patch_dim, d)
        self.register_buffer("pos", sincos_2d(d, rows, cols).unsqueeze(0))
        self.cls = nn.Parameter(torch.randn(1, e["clsTokens"], d) * 0.02)
        self.blocks = nn.ModuleList([Block(d, e["heads"], e.get("mlpRatio", 4)) for _ in range(e["depth"])])
        self.norm = nn.LayerNorm(d, eps=EPS)

    def forward(self, xt, ids_keep):
        x = gather_tokens(self.embed(xt) + self.pos, ids_keep)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        for b in self.blocks:
            x = b(x)
        return self.norm(x)


class Mae(nn.Module):
    """MAE: encoder on the visible tokens, a light joint decoder with mask tokens."""

    def __init__(self, cfg, patch_dim, rows, cols, out_dim):
        super().__init__()
        e, dec = cfg["encoder"], cfg["decoder"]
        dd = dec["width"]
        self.n = e["clsTokens"]
        self.encoder = Encoder(cfg, patch_dim, rows, cols)
        self.dec_embed = nn.Linear(e["width"], dd)
        self.mask_token = nn.Parameter(torch.randn(1, 1, dd) * 0.02)
        pos = sincos_2d(dd, rows, cols)
        self.register_buffer("dec_pos", torch.cat([torch.zeros(self.n, dd), pos]).unsqueeze(0))
        self.blocks = nn.ModuleList([Block(dd, dec["heads"], dec.get("mlpRatio", 4)) for _ in range(dec["depth"])])
        self.norm = nn.LayerNorm(dd, eps=EPS)
        self.pred = nn.Linear(dd, out_dim)

    def forward(self, xt, ids_keep, ids_restore, ids_removed, t):
        latent = self.encoder(xt, ids_keep)
        y = self.dec_embed(latent)
        b, l = ids_restore.shape
        prefix, visible = y[:, : self.n], y[:, self.n :]
        full = torch.cat([visible, self.mask_token.expand(b, l - visible.shape[1], -1)], dim=1)
        y = torch.cat([prefix, gather_tokens(full, ids_restore)], dim=1) + self.dec_pos
        for blk in self.blocks:
            y = blk(y)
        return self.pred(self.norm(y)[:, self.n :]), None


class DiffMae(nn.Module):
    """DiffMAE: encoder on the visible tokens, cross (or cross-self) decoder on the noisy removed patches."""

    def __init__(self, cfg, patch_dim, rows, cols, out_dim):
        super().__init__()
        e, dec = cfg["encoder"], cfg["decoder"]
        d, dd = e["width"], dec["width"]
        self.encoder = Encoder(cfg, patch_dim, rows, cols)
        self.query_embed = nn.Linear(patch_dim, dd)
        self.register_buffer("pos", sincos_2d(dd, rows, cols).unsqueeze(0))
        self.time = TimestepEmbedding(dd)
        cross_self = dec["kind"] == "cross-self"
        self.blocks = nn.ModuleList([CrossBlock(dd, d, dec["heads"], dec.get("mlpRatio", 4), cross_self) for _ in range(dec["depth"])])
        self.norm = nn.LayerNorm(dd, eps=EPS)
        self.pred = nn.Linear(dd, out_dim)

    def forward(self, xt, ids_keep, ids_restore, ids_removed, t):
        memory = self.encoder(xt, ids_keep)
        q = gather_tokens(self.query_embed(xt) + self.pos, ids_removed) + self.time(t).unsqueeze(1)
        for blk in self.blocks:
            q = blk(q, memory)
        # predictions of the removed patches only (in the order of ids_removed)
        return None, self.pred(self.norm(q))


class Umd(nn.Module):
    """UMD's conditioned autoencoder (adaLN-Zero on the timestep embedding) with its joint decoder."""

    def __init__(self, cfg, patch_dim, rows, cols, out_dim):
        super().__init__()
        e, dec = cfg["encoder"], cfg["decoder"]
        d, dd, l = e["width"], dec["width"], rows * cols
        self.n = e["clsTokens"]
        self.time = TimestepEmbedding(d)
        self.embed = nn.Linear(patch_dim, d)
        self.pos = nn.Parameter(torch.randn(1, l, d) / math.sqrt(l))
        self.cls = nn.Parameter(torch.zeros(1, self.n, d))
        self.enc_blocks = nn.ModuleList([AdaLnBlock(d, d, e["heads"], e.get("mlpRatio", 4)) for _ in range(e["depth"])])
        self.enc_norm = nn.LayerNorm(d, eps=EPS)
        self.dec_embed = nn.Linear(d, dd)
        self.mask_token = nn.Parameter(torch.randn(1, 1, dd) * 0.02)
        self.dec_pos = nn.Parameter(torch.randn(1, l, dd) / math.sqrt(l))
        self.dec_blocks = nn.ModuleList([AdaLnBlock(dd, d, dec["heads"], dec.get("mlpRatio", 4)) for _ in range(dec["depth"])])
        self.final_ada = nn.Linear(d, 2 * dd)
        self.final_proj = nn.Linear(dd, out_dim)

    def forward(self, xt, ids_keep, ids_restore, ids_removed, t):
        b, l = ids_restore.shape
        c = self.time(t)
        x = gather_tokens(self.embed(xt) + self.pos, ids_keep)
        if self.n > 0:
            x = torch.cat([self.cls.expand(b, -1, -1), x], dim=1)
        for blk in self.enc_blocks:
            x = blk(x, c)
        latent = self.enc_norm(x)
        visible = latent[:, self.n :]
        vis = self.dec_embed(visible)
        full = torch.cat([vis, self.mask_token.expand(b, l - vis.shape[1], -1)], dim=1)
        y = gather_tokens(full, ids_restore) + self.dec_pos
        if self.n > 0:
            rep = latent[:, : self.n].mean(dim=1)
            y = torch.cat([self.dec_embed(rep).unsqueeze(1), y], dim=1)
        for blk in self.dec_blocks:
            y = blk(y, c)
        if self.n > 0:
            y = y[:, 1:]
        shift, scale = self.final_ada(F.silu(c)).chunk(2, dim=1)
        return self.final_proj(modulate(y, shift, scale)), None


def build(cfg, patch_dim, rows, cols):
    e, dec = cfg["encoder"], cfg["decoder"]
    out_dim = patch_dim * len(cfg["heads"])
    if e["conditioning"] == "none" and dec["kind"] == "mask-token":
        return Mae(cfg, patch_dim, rows, cols, out_dim)
    if e["conditioning"] == "none" and dec["kind"] in ("cross", "cross-self"):
        return DiffMae(cfg, patch_dim, rows, cols, out_dim)
    if e["conditioning"] == "adaln" and dec["kind"] == "mask-token":
        return Umd(cfg, patch_dim, rows, cols, out_dim)
    raise SystemExit(f"peer.py: no PyTorch peer for encoder conditioning {e['conditioning']!r} with decoder {dec['kind']!r}")


def patchify(images, p):
    b, h, w, c = images.shape
    x = images.reshape(b, h // p, p, w // p, p, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, (h // p) * (w // p), p * p * c)


def alpha_bar(t):
    s = 0.008
    f = lambda u: torch.cos((u / STEPS_T + s) / (1 + s) * math.pi / 2) ** 2
    return f(t.double()) / f(torch.zeros(1, dtype=torch.float64))


class Step:
    """One training step: corrupt each branch's share of the batch, run the network, the weighted loss, backward, AdamW."""

    def __init__(self, cfg, batch):
        h, w, ch = cfg["image"]
        p = cfg["patch"]
        self.p = p
        self.rows, self.cols = h // p, w // p
        self.l = self.rows * self.cols
        self.patch_dim = p * p * ch
        self.cfg = cfg
        self.model = build(cfg, self.patch_dim, self.rows, self.cols)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.05)
        shares = [br["share"] for br in cfg["branches"]]
        counts = [round(s * batch) for s in shares]
        counts[-1] = batch - sum(counts[:-1])
        self.counts = counts
        self.cross = isinstance(self.model, DiffMae)

    def corrupt(self, x0, br):
        b = x0.shape[0]
        ids_shuffle = torch.argsort(torch.rand(b, self.l), dim=1)
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        keep = br["keep"]
        ids_keep, ids_removed = ids_shuffle[:, :keep], ids_shuffle[:, keep:]
        mask = torch.ones(b, self.l)
        mask[:, :keep] = 0
        mask = torch.gather(mask, 1, ids_restore)
        eps = torch.zeros_like(x0)
        t = torch.zeros(b, dtype=torch.long)
        xt = x0
        if br["noise"] != "none":
            t = torch.randint(1, STEPS_T + 1, (b,))
            ab = alpha_bar(t).float().reshape(b, 1, 1)
            eps = torch.randn_like(x0)
            noised = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
            xt = noised if br["noise"] == "all" else torch.where(mask.unsqueeze(-1) > 0, noised, x0)
        return xt, eps, mask, ids_keep, ids_restore, ids_removed, t

    def branch_loss(self, x0, br):
        xt, eps, mask, ids_keep, ids_restore, ids_removed, t = self.corrupt(x0, br)
        full, removed = self.model(xt, ids_keep, ids_restore, ids_removed, t)
        heads = self.cfg["heads"]
        loss = x0.new_zeros(())
        for term in br["objective"]:
            truth = x0 if term["target"] == "x0" else eps
            if removed is not None:
                # the cross decoder predicts the removed patches only
                if term["region"] != "masked":
                    raise SystemExit("peer.py: a cross decoder scores the masked region only")
                pred = removed.chunk(len(heads), dim=-1)[heads.index(term["target"])]
                loss = loss + term["weight"] * ((pred - gather_tokens(truth, ids_removed)) ** 2).mean()
                continue
            pred = full.chunk(len(heads), dim=-1)[heads.index(term["target"])]
            per_patch = ((pred - truth) ** 2).mean(dim=-1)
            region = term["region"]
            w = mask if region == "masked" else (1 - mask) if region == "visible" else torch.ones_like(mask)
            loss = loss + term["weight"] * (per_patch * w).sum() / w.sum().clamp_min(1e-12)
        return loss

    def loss(self, images):
        x0 = patchify(images, self.p)
        total = x0.new_zeros(())
        start = 0
        for br, n in zip(self.cfg["branches"], self.counts):
            if n > 0:
                total = total + (n / images.shape[0]) * self.branch_loss(x0[start : start + n], br)
            start += n
        return total

    def __call__(self, images):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss(images)
        loss.backward()
        self.opt.step()
        return float(loss)


class CountFlops(TorchDispatchMode):
    """Counts 2·M·K·N for every matrix product the ops run."""

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__
        if name in ("mm", "addmm"):
            a, b = (args[0], args[1]) if name == "mm" else (args[1], args[2])
            self.flops += 2 * a.shape[0] * a.shape[1] * b.shape[1]
        elif name in ("bmm", "baddbmm"):
            a, b = (args[0], args[1]) if name == "bmm" else (args[1], args[2])
            self.flops += 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
        return out


def measure(cfg, threads, batch, steps, warmup):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    h, w, ch = cfg["image"]
    step = Step(cfg, batch)
    images = [torch.randn(batch, h, w, ch) for _ in range(4)]
    counter = CountFlops()
    with torch.no_grad(), counter:
        step.loss(images[0])
    forward = counter.flops / batch
    times = []
    for i in range(warmup + steps if steps > 0 else 0):
        t0 = time.perf_counter()
        step(images[i % len(images)])
        took = (time.perf_counter() - t0) * 1000
        if i >= warmup:
            times.append(took)
    times.sort()
    ms = times[len(times) // 2] if times else None  # the upper median, as bench/common.ts
    train = 3 * forward
    row = {
        "peer": "pytorch",
        "torch": torch.__version__,
        "label": cfg.get("label"),
        "threads": threads,
        "batch": batch,
        "stepMs": None if ms is None else round(ms, 1),
        "stepsMs": [round(t, 1) for t in times],
        "flopsPerImage": train,
        "achievedGflops": None if ms is None else round(train * batch / ms / 1e6, 2),
    }
    ref = cfg.get("flopsPerImage")
    if ref:
        row["tesseraeFlopsPerImage"] = ref
        row["flopsRatio"] = round(train / ref, 4)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="the network and branches as JSON (see the module comment)")
    ap.add_argument("--threads", default="1", help="comma-separated thread counts, one measurement each")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5, help="timed steps (the median is reported); 0 counts the FLOPs only")
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    counts = [int(t) for t in a.threads.split(",")]
    if len(counts) > 1:
        # one process per thread count, each pinned from its start
        for threads in counts:
            args = ["--config", a.config, "--threads", str(threads), "--batch", str(a.batch), "--steps", str(a.steps)]
            subprocess.run([sys.executable, __file__, *args, "--warmup", str(a.warmup)], check=True)
        return
    print(json.dumps(measure(json.loads(a.config), counts[0], a.batch, a.steps, a.warmup)), flush=True)


if __name__ == "__main__":
    main()
