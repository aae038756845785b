// A read-only memory map of a whole file, or an owned in-memory copy of bytes (FromBytes: for
// parsers fed from memory, e.g. fuzzers, where the exact-size heap block lets AddressSanitizer
// catch a read one byte past the end). Move-only; unmaps or frees on destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace starattn {

class MappedFile {
 public:
  // Maps `path` read-only. Throws Error("<path>: <reason>") when it cannot.
  static MappedFile Open(const std::string& path);
  // A copy of `bytes`; `name` stands for the path in error messages.
  static MappedFile FromBytes(std::string name, std::string_view bytes);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::unique_ptr<uint8_t[]> owned_;  // FromBytes: the copy data_ points to (else not mapped)
};

// Reads a whole (small) file into a string. Throws Error("<path>: <reason>").
std::string ReadFileToString(const std::string& path);

}  // namespace starattn
