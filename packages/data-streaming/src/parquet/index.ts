export { MAX_PAGE_BYTES, MAX_ROWS_FLOOR, openParquet, parquetBudget, parquetCodecs, type ParquetFile } from "./read.js";
export { lz4HadoopDecompress, lz4RawDecompress } from "./lz4.js";
