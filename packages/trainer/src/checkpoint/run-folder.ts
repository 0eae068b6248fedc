import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { CHECKPOINTS_DIR, LATEST_FILE, checkpointStates } from "./checkpoint.js";
import { writeFileDurable } from "./fsync.js";
import { METRICS_FILE } from "../log/metrics.js";

/**
 * One run per save folder. A run started without `--resume` refuses a save folder that any run has
 * used (a run.json, a checkpoint, `latest` or metrics.jsonl in it): otherwise its checkpoints would be
 * pruned among the old run's, its metrics appended to the old run's metrics.jsonl (one line in
 * `plot` for two runs), and `--resume auto` could pick up either. A resumed run continues the run
 * of its checkpoint; `run.json` records which run owns the folder.
 */
export const RUN_FILE = "run.json";

export interface RunRecord {
  format: "mosaicbert-run";
  version: 1;
  runId: string;
  runName: string;
  startedAt: string;
}

function readRun(saveFolder: string): RunRecord | null {
  const file = path.join(saveFolder, RUN_FILE);
  if (!fs.existsSync(file)) return null;
  let rec: RunRecord;
  try {
    rec = JSON.parse(fs.readFileSync(file, "utf8")) as RunRecord;
  } catch (e) {
    throw new Error(`save folder: ${file}: not valid JSON (${(e as Error).message})`);
  }
  if (rec?.format !== "mosaicbert-run" || typeof rec.runId !== "string" || !rec.runId) {
    throw new Error(`save folder: ${file}: expected {"format": "mosaicbert-run", "runId": "…", …}`);
  }
  return rec;
}

/** What shows that a run has used `saveFolder`, in words; null when nothing does. */
export function previousRun(saveFolder: string): string | null {
  if (!fs.existsSync(saveFolder)) return null;
  const rec = readRun(saveFolder);
  const cks = checkpointStates(saveFolder);
  const parts: string[] = [];
  if (cks.length) parts.push(`${cks.length} checkpoint(s), the newest ${CHECKPOINTS_DIR}/${cks[cks.length - 1]!.name}`);
  if (fs.existsSync(path.join(saveFolder, METRICS_FILE))) parts.push(METRICS_FILE);
  if (!parts.length && fs.existsSync(path.join(saveFolder, LATEST_FILE))) parts.push(`a '${LATEST_FILE}' pointer`);
  if (!rec && !parts.length) return null;
  return `${rec ? `run '${rec.runName}' (${rec.runId}, started ${rec.startedAt})` : "an earlier run"}${parts.length ? `: ${parts.join(", ")}` : ""}`;
}

/** For a run started without --resume: throws, before anything is created, when the save folder is already used. */
export function refuseUsedSaveFolder(saveFolder: string): void {
  const what = previousRun(saveFolder);
  if (what) {
    throw new Error(
      `save folder ${saveFolder} already holds ${what}. One run per save folder: continue that run with --resume auto, or give this run a save folder of its own (--save-folder)`,
    );
  }
}

function writeRun(saveFolder: string, runId: string, runName: string): void {
  fs.mkdirSync(saveFolder, { recursive: true });
  const rec: RunRecord = { format: "mosaicbert-run", version: 1, runId, runName, startedAt: new Date().toISOString() };
  writeFileDurable(path.join(saveFolder, RUN_FILE), JSON.stringify(rec, null, 2) + "\n");
}

/**
 * The run id this process's checkpoints carry (rank 0, after the resume decision), recording the run
 * in run.json when the folder has none. `resumed`: the checkpoint resumed from, if any (its run id
 * is absent in checkpoints older than run ids: undefined is returned and they keep pruning together).
 */
export function claimRun(saveFolder: string, o: { runName: string; resumed?: { dir: string; runId?: string } }): string | undefined {
  const rec = readRun(saveFolder);
  if (o.resumed) {
    const ck = o.resumed.runId;
    if (rec && ck && ck !== rec.runId) {
      throw new Error(
        `--resume: checkpoint ${o.resumed.dir} belongs to run ${ck}, but save folder ${saveFolder} holds run '${rec.runName}' (${rec.runId}); resume into the checkpoint's own save folder, or into an empty one`,
      );
    }
    if (rec) return rec.runId;
    if (ck) writeRun(saveFolder, ck, o.runName);
    return ck;
  }
  if (rec) return rec.runId; // --resume auto before this run's first checkpoint
  const id = crypto.randomUUID();
  writeRun(saveFolder, id, o.runName);
  return id;
}
