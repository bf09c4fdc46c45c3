"""PyTorch eager reference for bench/mlmStep.bench.ts: BERT pretrained with masked-language
modelling as Hugging Face's BertForMaskedLM computes it (post-LN encoder, exact GELU, the
head's transform and layer norm, the decoder tied to the word embeddings plus its own
bias), with the head gathered at the masked positions first, as the engine does. Every
weight trains with AdamW (decay on weights only, not on biases and layer norms), global-norm
clipping, and the engine's warm-up/decay schedule.

  time    one shape: median step time after one warm-up step, peak RSS; random weights
  parity  the engine's initial weights (init.safetensors) and masked batches (batches.json)
          from --dir, dropout off: the loss at every step

Parameter names are the engine's (Hugging Face's BertForMaskedLM names without `bert.`), so
the engine's safetensors file loads with load_state_dict as it is. Prints JSON."""
import argparse, json, math, resource, struct, time

import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("mode", choices=["time", "parity"])
p.add_argument("--layers", type=int, default=4)
p.add_argument("--hidden", type=int, default=256)
p.add_argument("--heads", type=int, default=4)
p.add_argument("--ffn", type=int, default=1024)
p.add_argument("--vocab", type=int, default=8192)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--steps", type=int, default=3)
p.add_argument("--warmup", type=int, default=1)
p.add_argument("--lr", type=float, default=1e-3)
p.add_argument("--weight-decay", type=float, default=0.01)
p.add_argument("--beta2", type=float, default=0.98)
p.add_argument("--eps", type=float, default=1e-6)
p.add_argument("--max-grad-norm", type=float, default=1.0)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--dir", default=None)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
DROPOUT = 0.1 if a.mode == "time" else 0.0
EPS = 1e-12


class Embeddings(nn.Module):
    def __init__(self):
        super().__init__()
        d = a.hidden
        self.word_embeddings = nn.Embedding(a.vocab, d)
        # As the engine's shapes: 512 positions for timing, --seq for parity (the engine's table).
        self.position_embeddings = nn.Embedding(max(512, a.seq) if a.mode == "time" else a.seq, d)
        self.token_type_embeddings = nn.Embedding(2, d)
        self.LayerNorm = nn.LayerNorm(d, eps=EPS)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1])
        x = self.word_embeddings(ids) + self.position_embeddings(pos)[None] + self.token_type_embeddings(torch.zeros_like(ids))
        return F.dropout(self.LayerNorm(x), DROPOUT, self.training)


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        d = a.hidden
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)


class DenseNorm(nn.Module):
    def __init__(self, d_in):
        super().__init__()
        self.dense = nn.Linear(d_in, a.hidden)
        self.LayerNorm = nn.LayerNorm(a.hidden, eps=EPS)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.self = SelfAttention()
        self.output = DenseNorm(a.hidden)


class Intermediate(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(a.hidden, a.ffn)


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = Attention()
        self.intermediate = Intermediate()
        self.output = DenseNorm(a.ffn)

    def forward(self, x):
        B, S, d = x.shape
        H = a.heads
        sa = self.attention.self
        split = lambda t: t.view(B, S, H, d // H).transpose(1, 2)
        # Every sequence is full (packed text): no padding, so no attention mask.
        scores = split(sa.query(x)) @ split(sa.key(x)).transpose(-1, -2) / math.sqrt(d // H)
        probs = F.dropout(scores.softmax(-1), DROPOUT, self.training)
        ctx = (probs @ split(sa.value(x))).transpose(1, 2).reshape(B, S, d)
        out = self.attention.output
        x = out.LayerNorm(x + F.dropout(out.dense(ctx), DROPOUT, self.training))
        h = F.gelu(self.intermediate.dense(x))
        return self.output.LayerNorm(x + F.dropout(self.output.dense(h), DROPOUT, self.training))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.ModuleList(Layer() for _ in range(a.layers))


class Transform(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense = nn.Linear(a.hidden, a.hidden)
        self.LayerNorm = nn.LayerNorm(a.hidden, eps=EPS)


class Predictions(nn.Module):
    def __init__(self):
        super().__init__()
        self.transform = Transform()
        self.bias = nn.Parameter(torch.zeros(a.vocab))


class Cls(nn.Module):
    def __init__(self):
        super().__init__()
        self.predictions = Predictions()


class BertForMaskedLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = Embeddings()
        self.encoder = Encoder()
        self.cls = Cls()

    def forward(self, ids, positions):
        x = self.embeddings(ids)
        for layer in self.encoder.layer:
            x = layer(x)
        # The head only at the masked positions: [masked, d], then the tied decoder.
        picked = x.reshape(-1, a.hidden).index_select(0, positions)
        t = self.cls.predictions.transform
        h = t.LayerNorm(F.gelu(t.dense(picked)))
        return h @ self.embeddings.word_embeddings.weight.t() + self.cls.predictions.bias


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        start, end = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(raw[8 + n + start : 8 + n + end]), dtype=torch.float32).reshape(info["shape"])
    return out


def optimizer_for(model, total):
    # As the engine (and Hugging Face's Trainer): no weight decay on biases and layer norms.
    decay = [q for n, q in model.named_parameters() if not n.endswith(".bias") and "LayerNorm" not in n]
    rest = [q for n, q in model.named_parameters() if n.endswith(".bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": rest, "weight_decay": 0.0}], lr=a.lr, betas=(0.9, a.beta2), eps=a.eps)
    w = max(0, a.warmup)

    # The engine's rate for (1-based) step t of T: lr·min(t/W, (T − t)/(T − W)); LambdaLR's
    # counter starts at 0 for the first step, hence t = e + 1.
    def rate(e):
        t = e + 1
        up = t / w if w > 0 else 1.0
        return max(0.0, min(up, (total - t) / max(1, total - w)))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, rate)


def step(model, opt, sched, ids, positions, labels):
    loss = F.cross_entropy(model(ids, positions), labels)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), a.max_grad_norm)
    opt.step()
    sched.step()
    return loss.item()


def blas():
    # The BLAS library torch's process mapped: a reference BLAS is ~50× slower than OpenBLAS.
    with open("/proc/self/maps") as f:
        libs = sorted({line.split()[-1] for line in f if "blas" in line.lower() and "/" in line})
    return ", ".join(libs) or "none mapped"


if a.mode == "time":
    t0 = time.perf_counter()
    model = BertForMaskedLM().train()
    for n, q in model.named_parameters():
        if n.endswith(".weight") and "LayerNorm" not in n:
            nn.init.normal_(q, std=0.02)
    opt, sched = optimizer_for(model, 10_000)
    build = time.perf_counter() - t0
    n = a.batch * a.seq
    ids = torch.randint(5, a.vocab, (a.batch, a.seq))
    ids[:, 0] = 2
    masked = round(0.15 * n)
    positions = torch.tensor([k * n // masked + (1 if (k * n // masked) % a.seq == 0 else 0) for k in range(masked)])
    labels = ids.reshape(-1)[positions].clone()
    ids.view(-1)[positions] = 4
    times = []
    for s in range(a.steps + 1):
        t = time.perf_counter()
        step(model, opt, sched, ids, positions, labels)
        if s > 0:
            times.append(time.perf_counter() - t)
    print(json.dumps({"step_seconds": sorted(times)[len(times) // 2], "build_seconds": build, "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "torch": torch.__version__, "blas": blas()}))
else:
    model = BertForMaskedLM().train()
    state = read_safetensors(f"{a.dir}/init.safetensors")
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    with open(f"{a.dir}/batches.json") as f:
        batches = json.load(f)
    opt, sched = optimizer_for(model, a.steps)
    losses = []
    for b in batches[: a.steps]:
        ids = torch.tensor(b["input_ids"]).reshape(a.batch, a.seq)
        losses.append(step(model, opt, sched, ids, torch.tensor(b["positions"]), torch.tensor(b["labels"])))
    print(json.dumps({"losses": losses, "torch": torch.__version__, "blas": blas()}))
