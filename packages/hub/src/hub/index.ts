export * from "./env.js";
export { downloadFile, incompleteFile, type RemoteFile, type DownloadProgress, type DownloadOptions } from "./download.js";
export * from "./pull.js";
export * from "./push.js";
export * from "./progress.js";
export * from "./commands.js";
export { type HubLimits, HubTimeoutError, DEFAULT_TIMEOUT_MS, safeRelPath } from "./listing.js";
export * from "./select.js";
