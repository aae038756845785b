// Shared pieces of the libFuzzer targets.
//
// What counts as a bug: any crash, sanitizer report, leak, allocation over libFuzzer's
// -malloc_limit_mb, or an exception other than starattn::Error escaping the code under test (the
// engine reports bad input as Error; anything else would reach the user as a less helpful message
// or, from a worker thread, std::terminate). Each target catches Error and lets the rest through,
// which libFuzzer reports as a crash ("deadly signal" after std::terminate).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace starattn::fuzz {

// The input cut at NUL bytes into at most `max_parts` parts (the last part keeps any further
// NULs). JSON text cannot hold a raw NUL, so "config.json \0 binary" splits cleanly, and the seeds
// stay readable.
inline std::vector<std::string_view> SplitParts(const uint8_t* data, size_t size,
                                                size_t max_parts) {
  std::vector<std::string_view> parts;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (parts.size() + 1 < max_parts) {
    const size_t nul = rest.find('\0');
    if (nul == std::string_view::npos) break;
    parts.push_back(rest.substr(0, nul));
    rest.remove_prefix(nul + 1);
  }
  parts.push_back(rest);
  return parts;
}

// A per-process scratch directory (for code that only reads paths), removed at exit.
class ScratchDir {
 public:
  ScratchDir() {
    const char* shm = "/dev/shm";
    const std::filesystem::path base =
        std::filesystem::is_directory(shm) ? shm : std::filesystem::temp_directory_path();
    dir_ = base / ("starattn_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // Writes `text` to `name` in the directory and returns its path.
  std::string Write(const std::string& name, std::string_view text) const {
    const std::string path = (dir_ / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) {
      std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
      std::abort();
    }
    return path;
  }
  std::string path() const { return dir_.string(); }

 private:
  std::filesystem::path dir_;
};

// An Error the target caught: printed when STARATTN_FUZZ_VERBOSE is set (to see why seeds are
// rejected), else ignored.
inline void Rejected(const std::exception& e) {
  static const bool verbose = std::getenv("STARATTN_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "rejected: %s\n", e.what());
}

// Aborts with a message (libFuzzer reports the input as a crash).
[[noreturn]] inline void Violation(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

}  // namespace starattn::fuzz
