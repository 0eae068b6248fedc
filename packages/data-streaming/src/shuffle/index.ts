/** NumPy-exact RNG, streaming's shuffle algorithms and partitioning. */
export { defaultRng, Generator, PCG64, seedSequenceState } from "./numpy-rng.js";
export { getShuffle, divideSpans, SHUFFLE_ALGOS, type ShuffleAlgo } from "./algos.js";
export { getPartition, partitionOrig, partitionRelaxed, rankPositions, rankPositionCount, type Partition, type PartitionArgs } from "./partition.js";
export { shufflePositions } from "./positions.js";
