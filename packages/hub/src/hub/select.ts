import { PYTORCH_FILE, PYTORCH_INDEX, SAFETENSORS_FILE, SAFETENSORS_INDEX, TOKENIZER_FILES } from "../folder/folder.js";

/** Top-level files besides weights, tokenizer and code that `hub pull` fetches by default. */
const CARD_AND_CONFIGS = new Set(["config.json", "README.md", "generation_config.json", ...TOKENIZER_FILES]);
const SAFETENSORS_WEIGHTS = /^model(-\d+-of-\d+)?\.safetensors$/;
const PYTORCH_WEIGHTS = /^pytorch_model(-\d+-of-\d+)?\.bin$/;

/**
 * Which files of a repo listing the model-folder loader can use (what `hub pull` fetches by default):
 * config.json, tokenizer files, `*.safetensors` with model.safetensors.index.json, `pytorch_model*.bin`
 * with its index only when the repo has no safetensors weights, top-level `*.py` (trust_remote_code
 * modules), README.md and generation_config.json / special_tokens_map.json. Never files in sub-folders
 * (onnx/, coreml/, …) nor other frameworks' weights (tf_model.h5, flax_model.msgpack, rust_model.ot).
 */
export function modelFileFilter(paths: readonly string[]): (repoPath: string) => boolean {
  const hasSafetensors = paths.some((p) => SAFETENSORS_WEIGHTS.test(p) || p === SAFETENSORS_INDEX);
  return (p) => {
    if (p.includes("/")) return false;
    if (CARD_AND_CONFIGS.has(p) || p.endsWith(".safetensors") || p === SAFETENSORS_INDEX || p.endsWith(".py")) return true;
    if (!hasSafetensors && (PYTORCH_WEIGHTS.test(p) || p === PYTORCH_FILE || p === PYTORCH_INDEX)) return true;
    return false;
  };
}

/**
 * A glob over repo paths as a RegExp: `*` and `?` stay within one path segment, `**` crosses segments
 * (`onnx/**`, `**\/*.json`), everything else is literal. Refuses globs over 1000 characters.
 */
export function globToRegExp(glob: string): RegExp {
  if (glob.length === 0 || glob.length > 1000) throw new TypeError(`--include: expected a glob of 1 to 1000 characters such as "onnx/**" or "*.h5", got ${JSON.stringify(glob.slice(0, 60))}`);
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      i++;
      if (glob[i + 1] === "/") {
        i++;
        re += "(?:.*/)?";
      } else re += ".*";
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[\\^$.|+()[\]{}]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** `hub pull`'s choice of files: everything with `all`, else the loader's files plus any path matching `include`. */
export function pullSelection(o: { all?: boolean; include?: readonly string[] } = {}): ((paths: readonly string[]) => (repoPath: string) => boolean) | undefined {
  if (o.all) return undefined;
  const extra = (o.include ?? []).map(globToRegExp);
  return (paths) => {
    const model = modelFileFilter(paths);
    return (p) => model(p) || extra.some((re) => re.test(p));
  };
}
