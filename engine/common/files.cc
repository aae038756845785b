#include "engine/common/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "engine/common/error.h"

namespace starattn {
namespace {

// fsync of a file or directory by path (an fsync through any descriptor flushes the file).
void SyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) Fail("{}: cannot open to sync: {}", path, std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) Fail("{}: fsync failed: {}", path, std::strerror(err));
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path)
    : path_(std::move(path)), tmp_(path_ + ".tmp." + std::to_string(::getpid())) {
  out_.open(tmp_, std::ios::binary | std::ios::trunc);
  if (!out_) Fail("{}: cannot write: {}", tmp_, std::strerror(errno));
}

AtomicFileWriter::~AtomicFileWriter() {
  if (committed_) return;
  out_.close();
  std::error_code ec;
  std::filesystem::remove(tmp_, ec);  // best effort: the target is untouched either way
}

void AtomicFileWriter::Commit() {
  out_.flush();
  if (!out_) Fail("{}: write failed", tmp_);
  out_.close();
  if (!out_) Fail("{}: write failed on close", tmp_);
  SyncPath(tmp_, /*directory=*/false);
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    Fail("{}: cannot rename {} over it: {}", path_, tmp_, std::strerror(errno));
  }
  committed_ = true;
  // The rename itself is durable once the directory is synced.
  const std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  SyncPath(dir.empty() ? std::string(".") : dir.string(), /*directory=*/true);
}

void WriteFileAtomically(const std::string& path, std::string_view text) {
  AtomicFileWriter w(path);
  w.out().write(text.data(), static_cast<std::streamsize>(text.size()));
  w.Commit();
}

}  // namespace starattn
