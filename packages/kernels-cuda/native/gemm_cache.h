// The GEMM algorithms tuned per size class (matmul.cc), kept on disk between runs: a new process then
// does not time every cuBLASLt candidate of every class again (≈ 1.4 s at the first step of a
// MosaicBERT-base run on an H200, and again in every `infer`/`embed` call).
//
// One text file per GPU model: $MOSAICBERT_GEMM_CACHE (a file path; "0" or "off": no cache), else
// $XDG_CACHE_HOME/mosaicbert/, else ~/.cache/mosaicbert/. Its first line names what the choices are
// valid for (device, compute capability, cuBLASLt and CUDA runtime versions, candidates timed); a file
// whose first line differs is ignored, then replaced. Each other line: the 14 integers of a class key
// and the 8 words of cublasLtMatmulAlgo_t in hex (the struct is serialisable for the same cuBLASLt
// version). The file is a hint, never trusted: a line that does not parse exactly is skipped, a file
// over 1 MiB or 4096 lines is ignored, and matmul.cc checks each restored algorithm with
// cublasLtMatmulAlgoCheck before use (one it refuses is tuned again). Writes go to a temporary file
// renamed over the old one, so concurrent processes never see half a file; a cache that cannot be
// written costs nothing but the tuning.
//
// Plain C++ with no CUDA: src/gemm-cache.test.cc tests it with the host's compiler.
#pragma once
#include <sys/stat.h>
#include <unistd.h>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

namespace gemm_cache {

constexpr int KEY_LEN = 14;
using Key = std::array<int64_t, KEY_LEN>;
using Words = std::array<uint64_t, 8>;
using Entries = std::map<Key, Words>;
constexpr size_t MAX_BYTES = 1u << 20;
constexpr size_t MAX_ENTRIES = 4096;

// Letters, digits, '-' and '.' kept; anything else (spaces, '/', control bytes) becomes '_'; at most 64.
inline std::string sanitize(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (o.size() == 64) break;
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    o += ok ? c : '_';
  }
  return o.empty() ? "unknown" : o;
}

inline std::string header(const std::string& device, int cc, long cublaslt, int cudart, int candidates) {
  char buf[256];
  snprintf(buf, sizeof buf, "mosaicbert-gemm-cache 1 device=%s sm=%d cublaslt=%ld cudart=%d candidates=%d", sanitize(device).c_str(), cc,
           cublaslt, cudart, candidates);
  return buf;
}

// The file for this GPU model ("" when the cache is off or no directory is known).
inline std::string path_from_env(const char* cacheEnv, const char* xdg, const char* home, const std::string& device, int cc) {
  if (cacheEnv && *cacheEnv) {
    if (strcmp(cacheEnv, "0") == 0 || strcmp(cacheEnv, "off") == 0) return "";
    return cacheEnv;
  }
  std::string dir;
  if (xdg && *xdg == '/') dir = std::string(xdg) + "/mosaicbert";
  else if (home && *home == '/') dir = std::string(home) + "/.cache/mosaicbert";
  else return "";
  return dir + "/gemm-" + sanitize(device) + "-sm" + std::to_string(cc) + ".txt";
}

// One entry line: 14 decimal integers then 8 hex words, single spaces, nothing else.
inline bool parse_line(const char* s, size_t n, Key& k, Words& w) {
  std::string line(s, n);
  const char* p = line.c_str();
  for (int i = 0; i < KEY_LEN; i++) {
    if (!(*p == '-' || (*p >= '0' && *p <= '9'))) return false;
    char* end = nullptr;
    errno = 0;
    const long long v = strtoll(p, &end, 10);
    if (end == p || errno != 0 || *end != ' ') return false;
    k[i] = v;
    p = end + 1;
  }
  for (int i = 0; i < 8; i++) {
    char* end = nullptr;
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return false;
    errno = 0;
    const unsigned long long v = strtoull(p, &end, 16);
    if (end == p || errno != 0 || end - p > 16) return false;
    if (i < 7 ? *end != ' ' : *end != '\0') return false;
    w[i] = v;
    p = end + 1;
  }
  return true;
}

// The entries of a file's text whose first line is `hdr` (none otherwise).
inline Entries parse(const std::string& text, const std::string& hdr) {
  Entries out;
  if (text.size() > MAX_BYTES) return out;
  size_t nl = text.find('\n');
  if (nl == std::string::npos || text.compare(0, nl, hdr) != 0 || nl != hdr.size()) return out;
  size_t pos = nl + 1, lines = 0;
  while (pos < text.size()) {
    size_t e = text.find('\n', pos);
    if (e == std::string::npos) break;  // a last line without its newline was cut short: not used
    if (++lines > MAX_ENTRIES) return Entries{};
    Key k;
    Words w;
    if (parse_line(text.data() + pos, e - pos, k, w)) out[k] = w;
    pos = e + 1;
  }
  return out;
}

inline std::string format(const std::string& hdr, const Entries& entries) {
  std::string out = hdr + "\n";
  char buf[64];
  for (const auto& [k, w] : entries) {
    for (int i = 0; i < KEY_LEN; i++) {
      snprintf(buf, sizeof buf, "%" PRId64 " ", k[i]);
      out += buf;
    }
    for (int i = 0; i < 8; i++) {
      snprintf(buf, sizeof buf, i < 7 ? "%" PRIx64 " " : "%" PRIx64, w[i]);
      out += buf;
    }
    out += "\n";
  }
  return out;
}

// The file's text, at most MAX_BYTES + 1 bytes of it (false when it cannot be read).
inline bool read_file(const std::string& path, std::string& out) {
  out.clear();
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) return false;
  char buf[65536];
  size_t n;
  while (out.size() <= MAX_BYTES && (n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  fclose(f);
  return true;
}

// Creates the parent folders of path (mode 0700 for new ones).
inline void make_parents(const std::string& path) {
  for (size_t i = 1; i < path.size(); i++) {
    if (path[i] != '/') continue;
    const std::string dir = path.substr(0, i);
    mkdir(dir.c_str(), 0700);  // an existing folder: EEXIST, fine
  }
}

// Writes text to path through a temporary file in the same folder and a rename.
inline bool write_file(const std::string& path, const std::string& text) {
  make_parents(path);
  const std::string tmp = path + "." + std::to_string((long)getpid()) + ".tmp";
  FILE* f = fopen(tmp.c_str(), "wb");
  if (!f) return false;
  const bool ok = fwrite(text.data(), 1, text.size(), f) == text.size();
  if (fclose(f) != 0 || !ok || rename(tmp.c_str(), path.c_str()) != 0) {
    remove(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace gemm_cache
