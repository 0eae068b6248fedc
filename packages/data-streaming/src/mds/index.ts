/** MDS (mosaicml-streaming) format: reader, writer, encodings, compression, hashing. */
export { MDSReader, readIndexFile, decodeColumns, type MDSReaderOptions, type RawSample } from "./reader.js";
export { MDSWriter, DEFAULT_SIZE_LIMIT, type MDSWriterOptions } from "./writer.js";
export { getCodec, supportedEncodings, IMAGE_ENCODINGS, type Codec } from "./encodings.js";
export { ndarrayValues, type NDArray, type NdDtype } from "./ndarray.js";
export { readPickle, pickleToJs, PickleTuple, type PickleValue } from "./pickle.js";
export { compress, decompress, zstdDecoder, parseCompression, COMPRESSION_FAMILIES, type CompressionFamily } from "./compression.js";
export { hashHex, supportedHashes } from "./hashing.js";
export { validateIndex, parseIndexText, type MdsIndex, type ShardEntry, type FileInfo } from "./index-file.js";
export { RawShard, buildShard, packSample } from "./shard.js";
export { loadShard, type ValidateHash } from "./shard-file.js";
export { renderSampleLine, renderColumn } from "./render.js";
export { pyDumps, parsePyJson, PyFloat, pyFloatRepr } from "./pyjson.js";
export { parseByteSize } from "./sizes.js";
export { halfToNumber, numberToHalf } from "./float16.js";
