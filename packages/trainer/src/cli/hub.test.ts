import { Command } from "commander";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "./program.js";
import { registerHub } from "./hub.js";
import { FakeHub } from "@mosaicbert/hub/testing";
import { preset, toHfConfig } from "@mosaicbert/layers";
import { checkpointName, saveCheckpoint, type TrainerState } from "../checkpoint/checkpoint.js";

const TOKEN = "hf_cli_test_token";
const root = fs.mkdtempSync(path.join(os.tmpdir(), "cli-hub-"));
let hub: FakeHub;

beforeAll(async () => {
  hub = await new FakeHub(TOKEN).start();
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(root, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ out: string; err: string }> {
  let out = "";
  let err = "";
  const program = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
  registerHub(program, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s), isTTY: false } });
  await program.parseAsync(["hub", ...args], { from: "user" });
  return { out, err };
}

describe("mosaicbert hub", () => {
  it("is registered on the program", () => {
    const hubCmd = buildProgram().commands.find((c) => c.name() === "hub");
    expect(hubCmd?.commands.map((c) => c.name())).toEqual(["pull", "push"]);
  });

  it("pushes a folder and pulls it back", async () => {
    const src = path.join(root, "model");
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, "config.json"), '{"model_type":"bert"}\n');
    fs.writeFileSync(path.join(src, "model.safetensors"), new Uint8Array(20_000).map((_, i) => i % 251));
    const push = await cli(["push", src, "me/cli", "--hub-url", hub.url, "--token", TOKEN, "--private"]);
    expect(push.out).toMatch(new RegExp(`^${hub.url}/me/cli/commit/[0-9a-f]{40}\n$`));
    expect(push.err).toContain("pushed 3 files to me/cli"); // config, weights and a generated README.md
    expect(push.err).not.toContain(TOKEN);
    const to = path.join(root, "pulled");
    process.env.MOSAICBERT_CACHE = path.join(root, "cache");
    try {
      const pull = await cli(["pull", "me/cli", "--to", to, "--hub-url", hub.url, "--token", TOKEN]);
      expect(pull.out).toBe(`${to}\n`);
      expect(pull.err).toMatch(/pull model\.safetensors \[#+\] 100%/);
    } finally {
      delete process.env.MOSAICBERT_CACHE;
    }
    expect(Buffer.compare(fs.readFileSync(path.join(to, "model.safetensors")), fs.readFileSync(path.join(src, "model.safetensors")))).toBe(0);
  });

  describe("push of a training checkpoint", () => {
    // A save folder as `mosaicbert pretrain` leaves it: checkpoints/ep0-ba3 (a MosaicBERT folder plus optimizer and
    // trainer state), latest, metrics.jsonl, and something that is not a model file on both levels.
    const save = path.join(root, "run");
    const ckpt = path.join(save, "checkpoints", checkpointName(0, 3));
    const model = ["README.md", "config.json", "configuration_mosaic_bert.py", "model.safetensors", "modeling_mosaic_bert.py", "tokenizer_config.json", "vocab.txt"];
    beforeAll(() => {
      const state: TrainerState = {
        format: "mosaicbert-trainer-state", version: 1, step: 3, samplesSeen: 48, tokensSeen: 6144, loader: {}, seed: 17,
        elapsedSeconds: 90, worldSize: 1, runName: "tiny-cpu", lastLoss: 9.1, savedAt: "2026-01-01T00:00:00.000Z",
        recipe: { data_local: "/home/someone/mosaicbert/node_modules/@mosaicbert/trainer/assets/sample-corpus", data_remote: null, max_seq_len: 128, global_train_batch_size: 16, mlm_probability: 0.3, optimizer: { lr: 0.002 }, precision: "fp32" },
      };
      saveCheckpoint(save, checkpointName(0, 3), {
        hfConfig: toHfConfig(preset("tiny")),
        tensors: new Map([["bert.embeddings.word_embeddings.weight", { dtype: "f32", shape: [4, 2], data: new Float32Array(8).fill(0.5) }]]),
        optimizer: { step: 3, m: [new Float32Array(8)], v: [new Float32Array(8)] },
        state,
        files: { "vocab.txt": "[PAD]\n[UNK]\n", "tokenizer_config.json": "{}\n" },
      });
      const metrics = [
        { type: "train", step: 1, time: 30, loss: 10.3 },
        { type: "eval", step: 2, time: 60, samples: 32, tokens: 4096, loss: 9.25, mlm_accuracy: 0.125, eval_tokens: 640 },
        { type: "eval", step: 5, time: 150, samples: 80, tokens: 10240, loss: 8.5, mlm_accuracy: 0.25, eval_tokens: 640 },
      ];
      fs.writeFileSync(path.join(save, "metrics.jsonl"), metrics.map((m) => JSON.stringify(m) + "\n").join(""));
      fs.writeFileSync(path.join(save, "loss.svg"), "<svg/>");
      fs.writeFileSync(path.join(ckpt, "notes.txt"), "local notes");
    });
    const published = (repo: string) => [...hub.repos.get(repo)!.commits.at(-1)!.files.keys()].sort();

    it("refuses the save folder itself and names a checkpoint to push instead", async () => {
      await expect(cli(["push", save, "me/run", "--hub-url", hub.url, "--token", TOKEN])).rejects.toThrow(
        new RegExp(`no config\\.json at the top of the folder.*publish one of its checkpoints, e\\.g\\. ${ckpt.replace(/[.]/g, "\\.")}`),
      );
      expect(hub.repos.has("me/run")).toBe(false);
    });

    it("--dry-run lists what would go and what stays, and contacts nothing", async () => {
      const before = hub.requests.length;
      const r = await cli(["push", ckpt, "me/dry", "--hub-url", hub.url, "--token", TOKEN, "--dry-run"]);
      const listed = r.out.split("\n").slice(1).filter(Boolean).map((l) => l.trim().split(" ")[0]).sort();
      expect(r.out.split("\n")[0]).toBe("would push to me/dry:");
      expect(listed).toEqual(model);
      expect(r.out).toMatch(/README\.md \(generated model card/);
      expect(r.err).toContain("left out: optimizer.safetensors: training state (--include-training-state publishes it)");
      expect(r.err).toContain("left out: trainer_state.json: training state");
      expect(r.err).toContain("left out: notes.txt: not a model file");
      expect(hub.requests.length).toBe(before);
    });

    it("publishes exactly the model files and a model card from trainer_state.json and metrics.jsonl", async () => {
      await cli(["push", ckpt, "me/tiny", "--hub-url", hub.url, "--token", TOKEN]);
      expect(published("me/tiny")).toEqual(model);
      const card = hub.repos.get("me/tiny")!.commits.at(-1)!.files.get("README.md")!.content.toString("utf8");
      expect(card).toContain("`MosaicBertForMaskedLM`: a MosaicBERT encoder");
      expect(card).toMatch(/hidden size 128, 2 layers, 2 attention heads/);
      expect(card).toContain("8 parameters");
      expect(card).toContain("| optimizer steps | 3 |");
      expect(card).toContain("| data | the English sample corpus shipped with @mosaicbert/trainer |");
      expect(card).toContain("| held-out MLM accuracy (15% masking) | 12.5% |"); // step 2: the eval after the checkpoint is not this model's
      expect(card).toContain("| evaluated at step | 2 |");
      expect(card).toContain('mosaicbert infer --model ./model --text "the capital of france is [MASK] ."');
      expect(card).toContain('AutoModelForMaskedLM.from_pretrained("me/tiny", trust_remote_code=True)');
      expect(card).not.toContain("/home/someone");
      expect(JSON.parse(hub.repos.get("me/tiny")!.commits.at(-1)!.files.get("config.json")!.content.toString("utf8")).model_type).toBe("mosaic_bert");
    });

    it("--include-training-state publishes the optimizer and trainer state too", async () => {
      await cli(["push", ckpt, "me/resumable", "--hub-url", hub.url, "--token", TOKEN, "--include-training-state"]);
      expect(published("me/resumable")).toEqual([...model, "optimizer.safetensors", "trainer_state.json"].sort());
    });
  });
});
