export { MAX_PAGE_BYTES, openParquet, parquetBudget, parquetCodecs, type ParquetFile } from "./read.js";
export { lz4HadoopDecompress, lz4RawDecompress } from "./lz4.js";
