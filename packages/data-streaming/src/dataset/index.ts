/** StreamingDataset, streams, downloads. */
export { StreamingDataset, type OpenedDataset, type StreamingDatasetOptions, type StreamingState, type World } from "./dataset.js";
export { Stream, type StreamOptions } from "./stream.js";
export { download, joinRemote, redactUrl } from "./download.js";
export { streamChoose, shardSampling, resample } from "./weights.js";
export { convertToMds, catLines, epochOrder, isRemoteDataset, type ConvertOptions, type OrderOptions } from "./cli-ops.js";
export { endpointVar, isObjectStoreUrl, openObjectUrl, parseObjectUrl, RemoteError, type ObjectStore, type ObjectInfo, type ObjectUrl } from "./remotes/index.js";
