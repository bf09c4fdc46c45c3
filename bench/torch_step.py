"""PyTorch eager reference for bench/trainStep.bench.ts: the same BERT shape with Houlsby
adapters, frozen base, AdamW, dropout 0.1, one training step per batch. Prints JSON."""
import argparse, json, math, resource, time

import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--layers", type=int, default=12)
p.add_argument("--hidden", type=int, default=768)
p.add_argument("--heads", type=int, default=12)
p.add_argument("--ffn", type=int, default=3072)
p.add_argument("--vocab", type=int, default=30522)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--adapter", type=int, default=64)
p.add_argument("--drop", type=int, default=0, help="lowest layers without adapters")
p.add_argument("--steps", type=int, default=3)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


class Adapter(nn.Module):
    def __init__(self, d, m):
        super().__init__()
        self.down, self.up = nn.Linear(d, m), nn.Linear(m, d)

    def forward(self, h):
        return h + self.up(F.gelu(self.down(h)))


class Layer(nn.Module):
    def __init__(self, with_adapters):
        super().__init__()
        d = a.hidden
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=1e-12), nn.LayerNorm(d, eps=1e-12)
        self.i, self.out = nn.Linear(d, a.ffn), nn.Linear(a.ffn, d)
        self.a1 = Adapter(d, a.adapter) if with_adapters else None
        self.a2 = Adapter(d, a.adapter) if with_adapters else None

    def forward(self, x, bias):
        B, S, d = x.shape
        H = a.heads
        split = lambda t: t.view(B, S, H, d // H).transpose(1, 2)
        scores = split(self.q(x)) @ split(self.k(x)).transpose(-1, -2) / math.sqrt(d // H) + bias
        probs = F.dropout(scores.softmax(-1), 0.1, self.training)
        ctx = (probs @ split(self.v(x))).transpose(1, 2).reshape(B, S, d)
        h = F.dropout(self.o(ctx), 0.1, self.training)
        if self.a1 is not None:
            h = self.a1(h)
        x = self.ln1(x + h)
        h = F.dropout(self.out(F.gelu(self.i(x))), 0.1, self.training)
        if self.a2 is not None:
            h = self.a2(h)
        return self.ln2(x + h)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        d = a.hidden
        self.word, self.pos, self.types = nn.Embedding(a.vocab, d), nn.Embedding(512, d), nn.Embedding(2, d)
        self.ln = nn.LayerNorm(d, eps=1e-12)
        self.layers = nn.ModuleList(Layer(i >= a.drop) for i in range(a.layers))
        self.pooler, self.cls = nn.Linear(d, d), nn.Linear(d, 2)

    def forward(self, ids, mask):
        x = self.ln(self.word(ids) + self.pos(torch.arange(ids.shape[1])) + self.types(torch.zeros_like(ids)))
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, bias)
        return self.cls(torch.tanh(self.pooler(x[:, 0])))


model = Model().train()
for n, prm in model.named_parameters():
    prm.requires_grad = ".a1." in n or ".a2." in n or ("ln" in n and "layers" in n) or n.startswith("cls")
opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=3e-4)
ids = torch.randint(0, a.vocab, (a.batch, a.seq))
mask = torch.ones(a.batch, a.seq, dtype=torch.long)
labels = torch.randint(0, 2, (a.batch,))
times = []
for s in range(a.steps + 1):
    t = time.perf_counter()
    loss = F.cross_entropy(model(ids, mask), labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if s > 0:
        times.append(time.perf_counter() - t)
print(json.dumps({"step_seconds": sorted(times)[len(times) // 2], "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "torch": torch.__version__}))
