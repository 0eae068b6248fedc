"""Does a `mosaicbert finetune` folder load in PyTorch and give our class probabilities?

  python3 finetuned_hf.py <folder> <ours.jsonl>        (ours.jsonl: {"text", "probs": {label: p}} per line)

BERT baseline: transformers BertForSequenceClassification.from_pretrained(folder) and the folder's
tokenizer (vocab.txt). MosaicBERT: AutoModelForSequenceClassification with trust_remote_code (needs a
modeling file and auto_map in the folder; reported as not loadable otherwise). Probabilities in float32
and in bf16 on the GPU, each compared with ours (float32, CPU): max |difference| per label, label names
from config.json id2label. Exit 1 when float32 differs by more than 1e-4 or bf16 by more than 2e-2.
"""
import json, sys
import torch

folder, ours_file = sys.argv[1], sys.argv[2]
ours = [json.loads(l) for l in open(ours_file) if l.strip()]
config = json.load(open(f"{folder}/config.json"))
from transformers import BertTokenizer
tok = BertTokenizer.from_pretrained(folder)
try:
    if 'alibi_starting_size' in config:
        from transformers import AutoModelForSequenceClassification
        model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True)
    else:
        from transformers import BertForSequenceClassification
        model = BertForSequenceClassification.from_pretrained(folder)
except Exception as e:
    print(json.dumps(dict(folder=folder, loads=False, error=f'{type(e).__name__}: {str(e)[:300]}')))
    sys.exit(1)
model.eval()
names = [model.config.id2label[i] for i in range(model.config.num_labels)]
texts = [o['text'] for o in ours]
want = torch.tensor([[o['probs'][n] for n in names] for o in ours], dtype=torch.float64)
enc = tok(texts, padding=True, return_tensors='pt')

def probs(m, device, dtype):
    m = m.to(device=device, dtype=dtype)
    with torch.no_grad():
        logits = m(**{k: v.to(device) for k, v in enc.items()}).logits
    return torch.softmax(logits.double(), -1).cpu()

r = dict(folder=folder, loads=True, labels=names, texts=len(texts))
p32 = probs(model, 'cpu', torch.float32)
r['max_diff_f32'] = float((p32 - want).abs().max())
ok = r['max_diff_f32'] <= 1e-4
if torch.cuda.is_available():
    pbf = probs(model, 'cuda', torch.bfloat16)
    r['max_diff_bf16_cuda'] = float((pbf - want).abs().max())
    ok = ok and r['max_diff_bf16_cuda'] <= 2e-2
r['ok'] = ok
print(json.dumps(r))
sys.exit(0 if ok else 1)
