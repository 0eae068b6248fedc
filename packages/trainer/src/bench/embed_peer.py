"""PyTorch peer of the embedding benchmark (embed-bench.ts): Hugging Face BertModel (bert-base config,
random weights, bf16, SDPA attention) embedding the very same token ids file, batched the same way.

  python3 embed_peer.py ids-128.json [eager] [compile]      PASSES=5 BUDGET=32768 OURS="a.json b.json" (env)

With OURS (result files of embed-bench.ts run), a last line per file gives our tokens/s over each mode's.

Batches: rows sorted by length (longest first), as many per batch as keep rows x longest <= BUDGET,
padded to the batch's longest row. The padded id/mask tensors are built on the host before timing
(our side builds its batches inside the timed loop); each timed batch is copied to the GPU, run
through the encoder, mean-pooled over its real tokens in float32 on the GPU and copied back.
tokens/s = real tokens (no padding) per second of wall clock, one JSON line per mode.
"""
import json, os, sys, time
import torch

torch.backends.cuda.matmul.allow_tf32 = True
spec = json.load(open(sys.argv[1]))
modes = sys.argv[2:] or ['eager', 'compile']
PASSES = int(os.environ.get('PASSES', 5))
BUDGET = int(os.environ.get('BUDGET', 32768))
ids = spec['ids']
tokens = sum(len(r) for r in ids)

order = sorted(range(len(ids)), key=lambda i: (-len(ids[i]), i))
batches, cur, longest = [], [], 0
for i in order:
    L = max(longest, len(ids[i]))
    if cur and (len(cur) + 1) * L > BUDGET:
        batches.append(cur); cur = []
    if not cur: longest = len(ids[i])
    cur.append(i)
if cur: batches.append(cur)

host = []
for b in batches:
    S = len(ids[b[0]])
    x = torch.zeros(len(b), S, dtype=torch.long)
    m = torch.zeros(len(b), S, dtype=torch.long)
    for r, i in enumerate(b):
        x[r, :len(ids[i])] = torch.tensor(ids[i]); m[r, :len(ids[i])] = 1
    host.append((b, x.pin_memory(), m.pin_memory()))
padded = sum(x.numel() for _, x, _ in host)

from transformers import BertConfig, BertModel
torch._dynamo.config.cache_size_limit = 256

def run(name, compile_):
    try:
        model = BertModel(BertConfig(attn_implementation='sdpa'), add_pooling_layer=False).cuda().to(torch.bfloat16).eval()
        # dynamic=True: one graph for every batch shape (batches differ in rows and length).
        f = torch.compile(model, dynamic=True) if compile_ else model
        out = torch.empty(len(ids), model.config.hidden_size)

        def one_pass():
            with torch.inference_mode():
                for b, x, m in host:
                    x, m = x.cuda(non_blocking=True), m.cuda(non_blocking=True)
                    h = f(input_ids=x, attention_mask=m).last_hidden_state
                    mf = m.unsqueeze(-1).float()
                    pooled = (h.float() * mf).sum(1) / mf.sum(1)
                    out[b] = pooled.cpu()

        t0 = time.perf_counter(); one_pass(); torch.cuda.synchronize(); warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(PASSES): one_pass()
        torch.cuda.synchronize(); dt = (time.perf_counter() - t0) / PASSES
        r = dict(impl=name, ids=spec['name'], max_seq_len=spec['max_seq_len'], texts=len(ids), tokens=tokens,
                 padded_positions=padded, budget=BUDGET, warmup_s=round(warm, 3), pass_s=round(dt, 4),
                 tokens_per_s=round(tokens / dt), torch=torch.__version__)
    except Exception as e:
        r = dict(impl=name, error=f'{type(e).__name__}: {str(e)[:300]}')
    print(json.dumps(r), flush=True)
    return r

results = []
if 'eager' in modes: results.append(run('hf bert-base (bf16, sdpa, eager)', False))
if 'compile' in modes: results.append(run('hf bert-base (bf16, sdpa, torch.compile dynamic)', True))
for f in os.environ.get('OURS', '').split():
    if not os.path.exists(f): continue
    o = json.load(open(f))
    ratios = ', '.join(f"{q['impl']}: {o['tokens_per_s'] / q['tokens_per_s']:.2f}x" for q in results if 'tokens_per_s' in q)
    print(f"embed {spec['max_seq_len']}: {o['impl']} {o['tokens_per_s'] / 1e3:.1f}k tok/s | vs {ratios}", flush=True)
