export interface FuzzFailure {
  kind: "bug" | "hang" | "oom" | "crash";
  message: string;
  /** Description of the offending (shrunk, for bugs) input. */
  input: string | null;
  index?: number | null;
  path?: string;
}

export interface FuzzSummary {
  name: string;
  runs: number;
  accepted: number | null;
  rejected: number | null;
  errorNames: Record<string, number>;
  ms: number;
  seed: number;
  failure: FuzzFailure | null;
}

export interface FuzzOptions {
  /** Inputs per target (a number, or one per export name). */
  runs?: number | Record<string, number>;
  seed?: number;
  timeoutMs?: number;
  heapMb?: number;
  rssLimitMb?: number;
}

export function fuzzRuns(ciDefault: number): number;
export function fuzzSeed(): number;
/** Runs `exportName` of the module at `targetUrl` (a FuzzTarget) in a worker with a deadline per input. */
export function runFuzz(targetUrl: URL | string, exportName: string, opts?: FuzzOptions): Promise<FuzzSummary>;
/** Runs several targets of one module in one worker; results keyed by export name. */
export function runFuzzTargets(targetUrl: URL | string, exportNames: string[], opts?: FuzzOptions): Promise<Record<string, FuzzSummary>>;
