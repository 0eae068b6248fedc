import type { GemmShapeTime } from "@mosaicbert/kernels-cuda";

/** "gemm 30.27 ms, elementwise 6.85 ms, …": device milliseconds per phase, largest first. */
export function formatPhases(phases: Record<string, number>): string {
  return Object.entries(phases)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(2)} ms`)
    .join(", ");
}

/** The `n` slowest GEMM shapes: "M×N×K TN bias ×12 1.97 ms 587 TFLOP/s; …". */
export function formatGemms(gemms: readonly GemmShapeTime[], n = 10): string {
  return gemms
    .slice(0, n)
    .map((g) => `${g.shape} ×${g.calls} ${g.ms.toFixed(2)} ms ${g.tflops.toFixed(0)} TFLOP/s`)
    .join("; ");
}
