// Writing whole files so that a reader (or a rerun after a crash) sees the old content or the new,
// never a part: the text goes to a temporary file in the same directory ("<path>.tmp.<pid>"),
// which is flushed to disk (fsync) and renamed over the target.
#pragma once

#include <fstream>
#include <string>
#include <string_view>

namespace starattn {

// Throws Error naming the file when it cannot be written.
void WriteFileAtomically(const std::string& path, std::string_view text);

// The streaming form, for files too large to build in memory:
//   AtomicFileWriter w(path);  w.out() << ...;  w.Commit();
// Without Commit() (an exception on the way), the destructor removes the temporary file and the
// target stays as it was.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  std::ostream& out() { return out_; }
  const std::string& path() const { return path_; }
  // Flushes, fsyncs and renames; throws Error when any write failed.
  void Commit();

 private:
  std::string path_;
  std::string tmp_;
  std::ofstream out_;
  bool committed_ = false;
};

}  // namespace starattn
