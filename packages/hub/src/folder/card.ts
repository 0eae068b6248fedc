/** Options for the generated README.md model card. */
export interface ModelCardOptions {
  /** The model's config.json object (decides MosaicBERT vs BERT, sizes, task). */
  config: Record<string, unknown>;
  /** Repo id used in the loading snippets, e.g. "me/mosaic-bert-tiny". */
  repo?: string;
  title?: string;
  /** One paragraph on what the model is for; a default is derived from the config. */
  description?: string;
  license?: string;
  datasets?: string[];
  tags?: string[];
  /** Training facts shown as a table (steps, batch size, sequence length, masking rate, ...). */
  training?: Record<string, string | number>;
  /** Free text appended to the training section. */
  trainingNotes?: string;
  /** Parameter count; computed by saveModelFolder from the tensors. */
  parameters?: number;
  /** Evaluation results shown as a table (metric → value). */
  results?: Record<string, string | number>;
}

function yamlScalar(s: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._/+-]*$/.test(s) && !/^(true|false|null|yes|no|on|off)$/i.test(s) ? s : JSON.stringify(s);
}

function yamlList(key: string, items: string[]): string {
  return items.length ? `${key}:\n${items.map((t) => `- ${yamlScalar(t)}`).join("\n")}\n` : "";
}

function num(n: unknown): string {
  return typeof n === "number" ? n.toLocaleString("en-US") : String(n ?? "?");
}

/** Whether a config describes MosaicBERT (ALiBi) rather than the Hugging Face BERT baseline. */
export function isMosaicConfig(config: Record<string, unknown>): boolean {
  return "alibi_starting_size" in config;
}

function architecture(config: Record<string, unknown>): string {
  const archs = config.architectures;
  return Array.isArray(archs) && typeof archs[0] === "string" ? archs[0] : "BertForMaskedLM";
}

function table(rows: Record<string, string | number>): string {
  const lines = Object.entries(rows).map(([k, v]) => `| ${k} | ${typeof v === "number" ? num(v) : v} |`);
  return `| | |\n|---|---|\n${lines.join("\n")}\n`;
}

/** A Hugging Face model card (README.md): YAML front matter, what the model is, training, loading. */
export function renderModelCard(o: ModelCardOptions): string {
  const c = o.config;
  const mosaic = isMosaicConfig(c);
  const arch = architecture(c);
  const mlm = arch.endsWith("ForMaskedLM");
  const repo = o.repo ?? "<user>/<model>";
  const pipeline = mlm ? "fill-mask" : "text-classification";
  const tags = [...new Set([mosaic ? "mosaicbert" : "bert", pipeline, "mosaicbert-ts", ...(o.tags ?? [])])];
  const front =
    "---\n" +
    "library_name: transformers\n" +
    `pipeline_tag: ${pipeline}\n` +
    yamlList("tags", tags) +
    yamlList("datasets", o.datasets ?? []) +
    `license: ${yamlScalar(o.license ?? "apache-2.0")}\n` +
    "---\n";
  const kind = mosaic
    ? "a MosaicBERT encoder (BERT with ALiBi attention on unpadded tokens, a GeGLU feed-forward block and post-LayerNorm; no position embeddings)"
    : "a BERT encoder (the Hugging Face `transformers` BERT architecture with learned position embeddings)";
  const sizes = [
    `hidden size ${num(c.hidden_size)}`, `${num(c.num_hidden_layers)} layers`, `${num(c.num_attention_heads)} attention heads`,
    `feed-forward width ${num(c.intermediate_size)}${mosaic ? " per GLU half" : ""}`, `vocabulary ${num(c.vocab_size)}`,
  ].join(", ");
  const desc = o.description ?? `\`${arch}\`: ${kind}; ${sizes}.${o.parameters ? ` ${num(o.parameters)} parameters.` : ""}`;
  const trainingRows = o.training && Object.keys(o.training).length ? table(o.training) : "";
  const training = `## Training\n\nTrained from Node.js with [mosaicbert-ts](https://github.com/) (TypeScript).` +
    `${o.datasets?.length ? ` Data: ${o.datasets.join(", ")}.` : ""}\n\n${trainingRows}${o.trainingNotes ? `\n${o.trainingNotes}\n` : ""}`;
  const results = o.results && Object.keys(o.results).length ? `## Results\n\n${table(o.results)}\n` : "";
  const autoClass = mlm ? "AutoModelForMaskedLM" : "AutoModelForSequenceClassification";
  // Our MosaicBERT folders name their own model type and ship the PyTorch code; the reference's use model_type bert.
  const ownCode = c.model_type === "mosaic_bert";
  const py = mosaic
    ? "```python\n" +
      `from transformers import AutoTokenizer, ${autoClass}\n\n` +
      `tokenizer = AutoTokenizer.from_pretrained("${ownCode ? repo : "bert-base-uncased"}")\n` +
      `model = ${autoClass}.from_pretrained("${repo}", trust_remote_code=True)\n` +
      "```\n\n" +
      (ownCode
        ? "MosaicBERT is not built into `transformers`: `config.json` names the model type `mosaic_bert` and its " +
          "`auto_map` points at `configuration_mosaic_bert.py` and `modeling_mosaic_bert.py` in this repository " +
          "(plain PyTorch, written by mosaicbert-ts), which `trust_remote_code=True` runs: read them first. Without " +
          "it `transformers` refuses to load the model.\n"
        : "MosaicBERT is not built into `transformers`: `trust_remote_code=True` loads the model code named by the " +
          "`auto_map` entry of `config.json` (the reference `bert_layers.py` / `configuration_bert.py`, e.g. from " +
          "`mosaicml/mosaic-bert-base`). Review that code before running it.\n")
    : "```python\n" +
      `from transformers import AutoTokenizer, ${arch}\n\n` +
      `tokenizer = AutoTokenizer.from_pretrained("${repo}")\n` +
      `model = ${arch}.from_pretrained("${repo}")\n` +
      "```\n";
  const ts = "```ts\n" +
    `import { pullModel, loadModelFolder } from "@mosaicbert/hub";\n\n` +
    `const dir = await pullModel("${repo}");\n` +
    "const { config, tensors } = loadModelFolder(dir);\n" +
    "```\n";
  const example = mlm ? 'the capital of france is [MASK] .' : "a sentence to classify";
  const cli = "```sh\n" +
    `npx -p @mosaicbert/trainer mosaicbert hub pull ${repo} --to ./model\n` +
    `npx -p @mosaicbert/trainer mosaicbert infer --model ./model --text "${example}"\n` +
    "```\n\n" +
    (mlm ? "prints the most probable tokens for each `[MASK]`" : "prints each text's class probabilities") +
    " (`--json` for JSON lines, `--output out.safetensors` for the hidden states and logits).\n";
  return `${front}\n# ${o.title ?? (o.repo ? o.repo.split("/").pop() : mosaic ? "MosaicBERT" : "BERT")}\n\n${desc}\n\n` +
    `${training}\n${results}## How to use\n\nFrom the command line ([mosaicbert-ts](https://www.npmjs.com/package/@mosaicbert/trainer), Node.js ≥ 20.19):\n\n${cli}\n` +
    `With Python \`transformers\`:\n\n${py}\nFrom Node.js:\n\n${ts}`;
}
