#!/usr/bin/env python3
"""Do the folders `mosaicbert pretrain` writes load in Hugging Face transformers and give our numbers?

For a MosaicBERT and a BERT checkpoint (written here by `pretrain`, a few tiny steps, unless given), and a
classifier made from each (the checkpoint plus a seeded pooler and classifier, in our folder format):
  - the same inputs (tokenized with the folder's own tokenizer files) go through `mosaicbert infer --input ...
    --output ...` (float32, CPU) and through the transformers Auto classes (float32, CPU);
  - logits must agree within --tol (default 1e-4, max absolute difference over the real tokens);
  - the MosaicBERT folder must load only with trust_remote_code=True (and then with no missing or unexpected
    weights); without it transformers must refuse it, never build a plain BERT; the BERT folder loads as is.
Exits non-zero on any failure. Needs torch, transformers and safetensors; no network.

  python3 scripts/hf-compat/check.py --cli .results-build/dist/mosaicbert.mjs [--work DIR] [--mosaic DIR] [--bert DIR]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoTokenizer

TEXTS = [
    "the capital of france is [MASK] .",
    "he took the [MASK] to work every morning , and it was late again .",
    "[MASK] is a city .",
]
failures = []


def say(msg):
    print(f"hf-compat: {msg}", flush=True)


def fail(msg):
    failures.append(msg)
    say(f"FAIL {msg}")


def node(cli, *args):
    cmd = ["node", cli, *args]
    say("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def pretrain(cli, work, name, extra):
    save = os.path.join(work, name)
    if os.path.exists(save):
        shutil.rmtree(save)
    node(cli, "pretrain", "--config", "tiny-cpu", "--device", "cpu", "--max-duration", "3ba", "--save-folder", save,
         "--set", "global_train_batch_size=8", "--set", "device_train_microbatch_size=8", "--set", "eval_subset_num_batches=1", *extra)
    with open(os.path.join(save, "latest")) as f:
        return os.path.join(save, f.read().strip())


def make_classifier(src, dst, num_labels=3, seed=0):
    """Our folder format with a classification head: the checkpoint's encoder, a seeded pooler and classifier."""
    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.makedirs(dst)
    for f in os.listdir(src):
        if f.endswith(".py") or f in ("vocab.txt", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"):
            shutil.copy(os.path.join(src, f), dst)
    with open(os.path.join(src, "config.json")) as f:
        config = json.load(f)
    mosaic = config.get("model_type") == "mosaic_bert"
    config["architectures"] = ["MosaicBertForSequenceClassification" if mosaic else "BertForSequenceClassification"]
    config["id2label"] = {str(i): f"LABEL_{i}" for i in range(num_labels)}
    config["label2id"] = {f"LABEL_{i}": i for i in range(num_labels)}
    config["num_labels"] = num_labels
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    weights = {k: v for k, v in load_file(os.path.join(src, "model.safetensors")).items() if not k.startswith("cls.")}
    g = torch.Generator().manual_seed(seed)
    H = config["hidden_size"]
    weights["bert.pooler.dense.weight"] = torch.randn(H, H, generator=g) * 0.2
    weights["bert.pooler.dense.bias"] = torch.randn(H, generator=g) * 0.2
    weights["classifier.weight"] = torch.randn(num_labels, H, generator=g) * 0.2
    weights["classifier.bias"] = torch.randn(num_labels, generator=g) * 0.2
    save_file({k: v.contiguous() for k, v in weights.items()}, os.path.join(dst, "model.safetensors"), metadata={"format": "pt"})
    return dst


def check_folder(cli, work, name, folder, task, tol):
    tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    enc = tok(TEXTS, padding=True, return_tensors="pt")
    inputs = {k: enc[k].tolist() for k in ("input_ids", "attention_mask", "token_type_ids")}
    inputs_file = os.path.join(work, f"{name}-inputs.json")
    out_file = os.path.join(work, f"{name}-ours.safetensors")
    with open(inputs_file, "w") as f:
        json.dump(inputs, f)
    node(cli, "infer", "--model", folder, "--device", "cpu", "--input", inputs_file, "--output", out_file)
    ours = load_file(out_file)["logits"].float()

    with open(os.path.join(folder, "config.json")) as f:
        mosaic = json.load(f).get("model_type") == "mosaic_bert"
    auto = AutoModelForMaskedLM if task == "mlm" else AutoModelForSequenceClassification
    if mosaic:
        try:
            auto.from_pretrained(folder)
            fail(f"{name}: {auto.__name__}.from_pretrained without trust_remote_code loaded a MosaicBERT folder")
        except Exception as e:  # transformers refuses: unknown model type / custom code needs trust_remote_code
            say(f"{name}: without trust_remote_code transformers refuses it: {type(e).__name__}: {str(e).splitlines()[0][:160]}")
    model, info = auto.from_pretrained(folder, trust_remote_code=mosaic, output_loading_info=True, dtype=torch.float32)
    model.eval()
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        if info.get(k):
            fail(f"{name}: {k}: {sorted(info[k])[:10]}")
    expected_class = ("MosaicBert" if mosaic else "Bert") + ("ForMaskedLM" if task == "mlm" else "ForSequenceClassification")
    if type(model).__name__ != expected_class:
        fail(f"{name}: loaded {type(model).__name__}, expected {expected_class}")
    with torch.no_grad():
        theirs = model(**{k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids")}).logits.float()
    if tuple(theirs.shape) != tuple(ours.shape):
        fail(f"{name}: logits shape {tuple(theirs.shape)} (transformers) vs {tuple(ours.shape)} (ours)")
        return
    if task == "mlm":
        real = enc["attention_mask"].bool()
        diff = (theirs[real] - ours[real]).abs().max().item()
        scale = ours[real].abs().max().item()
    else:
        diff = (theirs - ours).abs().max().item()
        scale = ours.abs().max().item()
    ok = diff <= tol
    say(f"{name}: {type(model).__name__}, logits {tuple(ours.shape)}, max |transformers - ours| = {diff:.3g} (max |logit| {scale:.3g}) {'ok' if ok else 'FAIL'}")
    if not ok:
        fail(f"{name}: logits differ by {diff:.3g} > {tol}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", required=True, help="the mosaicbert CLI (.js/.mjs) to run with node")
    ap.add_argument("--work", help="working folder (default: a temporary one)")
    ap.add_argument("--mosaic", help="a MosaicBERT MLM folder (default: pretrain one)")
    ap.add_argument("--bert", help="a BERT MLM folder (default: pretrain one)")
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    torch.manual_seed(0)
    work = a.work or tempfile.mkdtemp(prefix="hf-compat-")
    os.makedirs(work, exist_ok=True)
    say(f"torch {torch.__version__}, transformers {transformers.__version__}, work folder {work}")
    mosaic = a.mosaic or pretrain(a.cli, work, "mosaic", [])
    bert = a.bert or pretrain(a.cli, work, "bert", ["--set", "model.name=hf_bert"])
    folders = [
        ("mosaic-mlm", mosaic, "mlm"),
        ("bert-mlm", bert, "mlm"),
        ("mosaic-cls", make_classifier(mosaic, os.path.join(work, "mosaic-cls")), "cls"),
        ("bert-cls", make_classifier(bert, os.path.join(work, "bert-cls")), "cls"),
    ]
    for name, folder, task in folders:
        try:
            check_folder(a.cli, work, name, folder, task, a.tol)
        except Exception as e:
            fail(f"{name}: {type(e).__name__}: {e}")
    if failures:
        say(f"{len(failures)} failure(s):\n  " + "\n  ".join(failures))
        sys.exit(1)
    say("all folders load through the Auto classes and match `mosaicbert infer` within %g" % a.tol)


if __name__ == "__main__":
    main()
