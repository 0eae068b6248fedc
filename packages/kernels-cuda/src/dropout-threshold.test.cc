// The integer dropout test of random.cuh (mb_bits24(key, c) >= drop_threshold(p)) against the float test it
// replaced (mb_uniform(key, c) >= p), on a plain C++ compiler: compiled and run by dropout-threshold.test.ts.
// For each p: every 24-bit value next to the threshold, and 2^20 generated values. Exits 1 naming each failure.
#define __host__
#define __device__
#define __forceinline__ inline
#include "../native/random.cuh"
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

static int failures = 0;

static bool floatTest(uint32_t k, float p) { return (float)k * (1.0f / 16777216.0f) >= p; }

static void check(float p) {
  const uint32_t thr = drop_threshold(p);
  // The values around the threshold (where an off-by-one would show), then the generator's own values.
  for (int64_t d = -3; d <= 3; d++) {
    const int64_t k = (int64_t)thr + d;
    if (k < 0 || k >= (1 << 24)) continue;
    if (((uint32_t)k >= thr) != floatTest((uint32_t)k, p)) {
      std::printf("FAIL p=%.9g k=%lld: integer %d, float %d\n", p, (long long)k, (uint32_t)k >= thr, floatTest((uint32_t)k, p));
      failures++;
    }
  }
  const uint32_t key = mb_seed_key(12345);
  for (uint32_t c = 0; c < (1u << 20); c++) {
    const bool a = mb_bits24(key, c) >= thr, b = mb_uniform(key, c) >= p;
    if (a != b) {
      std::printf("FAIL p=%.9g counter %u: integer %d, float %d\n", p, c, a, b);
      failures++;
      return;
    }
  }
}

int main(int argc, char** argv) {
  // `t values SEED N`: mb_seed_key(SEED) and mb_bits24 of counters 0 … N−1 and a few near 2^32, one a line, for the
  // test to compare with packages/tensor's generator (the CPU reference's masks).
  if (argc == 4 && std::strcmp(argv[1], "values") == 0) {
    const uint32_t key = mb_seed_key((uint32_t)std::strtoul(argv[2], nullptr, 10));
    const uint32_t n = (uint32_t)std::strtoul(argv[3], nullptr, 10);
    std::printf("%u\n", key);
    for (uint32_t c = 0; c < n; c++) std::printf("%u\n", mb_bits24(key, c));
    for (uint32_t c = 0xfffffff0u; c != 0; c++) std::printf("%u\n", mb_bits24(key, c));
    return 0;
  }
  for (float p : {0.1f, 0.15f, 0.3f, 0.5f, 0.9f, 1e-7f, 1e-30f, 0.99999994f, 1.0f / 3.0f, 0.0f, -0.5f, 1.0f, 2.0f})
    check(p);
  // Every p that is an exact multiple of 2^-24 (k = thr exactly kept) and its float neighbours.
  for (uint32_t k : {1u, 2u, 1677721u, 8388608u, 16777215u}) {
    const float p = (float)k / 16777216.0f;
    check(p);
    check(std::nextafter(p, 0.0f));
    check(std::nextafter(p, 1.0f));
  }
  if (drop_threshold(NAN) != (1u << 24)) { std::printf("FAIL NaN p keeps something\n"); failures++; }
  if (drop_threshold(0.0f) != 0u || drop_threshold(-1.0f) != 0u) { std::printf("FAIL p <= 0 drops something\n"); failures++; }
  if (failures) return 1;
  std::printf("dropout_threshold: all checks passed\n");
  return 0;
}
