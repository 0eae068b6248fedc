// The GEMM algorithm cache file (native/gemm_cache.h) without a GPU: where it lives, what a valid file
// is, that anything else is ignored, and that writes replace the file whole. Run by gemm-cache.test.ts.
#include "../native/gemm_cache.h"
#include <cstdio>
#include <cstdlib>
#include <string>

static int failures = 0;
#define CHECK(cond)                                                       \
  do {                                                                    \
    if (!(cond)) {                                                        \
      printf("gemm_cache: FAIL line %d: %s\n", __LINE__, #cond);         \
      failures++;                                                         \
    }                                                                     \
  } while (0)

using namespace gemm_cache;

static Key key(int64_t base) {
  Key k;
  for (int i = 0; i < KEY_LEN; i++) k[i] = base + i;
  return k;
}
static Words words(uint64_t base) {
  Words w;
  for (int i = 0; i < 8; i++) w[i] = base * (i + 1);
  return w;
}

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp";

  // The first line: what the choices are valid for; device names cannot break it.
  const std::string h = header("NVIDIA H200", 90, 130400, 13000, 32);
  CHECK(h == "mosaicbert-gemm-cache 1 device=NVIDIA_H200 sm=90 cublaslt=130400 cudart=13000 candidates=32");
  CHECK(header("a/b\nc d", 80, 1, 2, 8) == "mosaicbert-gemm-cache 1 device=a_b_c_d sm=80 cublaslt=1 cudart=2 candidates=8");
  CHECK(sanitize("") == "unknown");
  CHECK(sanitize(std::string(100, 'x')).size() == 64);

  // Where it lives.
  CHECK(path_from_env("0", "/x", "/h", "NVIDIA H200", 90) == "");
  CHECK(path_from_env("off", "/x", "/h", "NVIDIA H200", 90) == "");
  CHECK(path_from_env("/tmp/mine.txt", "/x", "/h", "NVIDIA H200", 90) == "/tmp/mine.txt");
  CHECK(path_from_env(nullptr, "/x", "/h", "NVIDIA H200", 90) == "/x/mosaicbert/gemm-NVIDIA_H200-sm90.txt");
  CHECK(path_from_env("", "", "/h", "NVIDIA A100-SXM4-80GB", 80) == "/h/.cache/mosaicbert/gemm-NVIDIA_A100-SXM4-80GB-sm80.txt");
  CHECK(path_from_env(nullptr, "relative", "/h", "G", 86) == "/h/.cache/mosaicbert/gemm-G-sm86.txt");
  CHECK(path_from_env(nullptr, nullptr, nullptr, "G", 86) == "");
  CHECK(path_from_env(nullptr, nullptr, "relative", "G", 86) == "");

  // Round trip, with negative key fields and full 64-bit words.
  Entries e;
  e[key(-3)] = words(0x0123456789abcdefull);
  e[key(1000)] = words(0);
  Key big = key(0);
  big[0] = INT64_MAX;
  Words full;
  full.fill(UINT64_MAX);
  e[big] = full;
  const std::string text = format(h, e);
  CHECK(parse(text, h) == e);
  CHECK(text.rfind(h + "\n", 0) == 0);

  // Another GPU, library or candidate count: nothing (also a header that only starts the same way).
  CHECK(parse(text, header("NVIDIA H100", 90, 130400, 13000, 32)).empty());
  CHECK(parse(text, header("NVIDIA H200", 90, 130400, 13000, 3)).empty());
  CHECK(parse(text.substr(0, h.size() - 1) + "\n", h).empty());
  CHECK(parse("", h).empty());
  CHECK(parse(h, h).empty());  // no newline at all

  // A line that does not parse exactly is skipped; the good ones stay.
  const std::string good = format(h, Entries{{key(7), words(9)}}).substr(h.size() + 1);  // "… \n"
  const std::string goodLine = good.substr(0, good.size() - 1);
  const std::string bad[] = {
      "1 2 3",                                             // too few fields
      goodLine + " 0",                                     // one too many
      goodLine + "\r",                                     // CRLF
      " " + goodLine,                                      // leading space
      goodLine.substr(0, goodLine.rfind(' ')) + " 1ffffffffffffffff",  // 17 hex digits
      goodLine.substr(0, goodLine.rfind(' ')) + " g",      // not hex
      goodLine.substr(0, goodLine.rfind(' ')) + " -1",     // a sign on a word
      "x" + goodLine.substr(1),                            // not a number
      "99999999999999999999" + goodLine.substr(goodLine.find(' ')),  // out of range
      "",
  };
  for (const std::string& b : bad) {
    const Entries got = parse(h + "\n" + b + "\n" + good, h);
    CHECK(got.size() == 1 && got.count(key(7)) == 1 && got.at(key(7)) == words(9));
  }
  // A last line cut short (no newline): not used.
  CHECK(parse(h + "\n" + goodLine, h).empty());

  // Over the bounds: ignored whole.
  std::string many = h + "\n";
  for (size_t i = 0; i <= MAX_ENTRIES; i++) many += good;
  CHECK(parse(many, h).empty());
  std::string huge = h + "\n" + good + std::string(MAX_BYTES, '\n');
  CHECK(parse(huge, h).empty());

  // Files: written whole through a rename (folders made), read back bounded; no temporary left.
  const std::string path = dir + "/a/b/gemm.txt";
  CHECK(write_file(path, text));
  std::string back;
  CHECK(read_file(path, back) && back == text);
  CHECK(write_file(path, format(h, Entries{{key(7), words(9)}})));
  CHECK(read_file(path, back) && parse(back, h).size() == 1);
  const std::string tmp = path + "." + std::to_string((long)getpid()) + ".tmp";
  CHECK(fopen(tmp.c_str(), "rb") == nullptr);
  CHECK(!read_file(dir + "/missing.txt", back));
  CHECK(!write_file("/proc/no/such/place/gemm.txt", text));
  FILE* f = fopen((dir + "/big.txt").c_str(), "wb");
  CHECK(f != nullptr);
  if (f) {
    fputs((h + "\n").c_str(), f);
    for (size_t i = 0; i < MAX_BYTES / good.size() + 10; i++) fputs(good.c_str(), f);
    fclose(f);
  }
  CHECK(read_file(dir + "/big.txt", back) && back.size() <= MAX_BYTES + 65536 && parse(back, h).empty());

  if (failures == 0) printf("gemm_cache: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
