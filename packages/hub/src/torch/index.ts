export { readPytorchBin, isTorchZip, UnsafePickleError, TorchTensor } from "./load.js";
export { unpickle, PickleError, PyGlobal, PyTuple, type PickleHooks } from "./pickle.js";
export { ZipArchive, type ZipEntry } from "./zip.js";
export { crc32 } from "./crc32.js";
