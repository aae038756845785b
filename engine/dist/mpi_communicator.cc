#include "engine/dist/mpi_communicator.h"

#include <cstdlib>

#include "engine/common/error.h"

#ifdef STARATTN_HAVE_MPI
#include <mpi.h>

// Every MPI call goes through this: the failing expression, file and line in a one-line error.
#define STARATTN_MPI_CHECK(expr)                                                                   \
  do {                                                                                             \
    const int starattn_rc_ = (expr);                                                               \
    if (starattn_rc_ != MPI_SUCCESS) {                                                             \
      char starattn_msg_[MPI_MAX_ERROR_STRING];                                                    \
      int starattn_len_ = 0;                                                                       \
      MPI_Error_string(starattn_rc_, starattn_msg_, &starattn_len_);                               \
      ::starattn::Fail("MPI error '{}' in {} at {}:{}", std::string(starattn_msg_, starattn_len_), \
                       #expr, __FILE__, __LINE__);                                                 \
    }                                                                                              \
  } while (0)
#endif

namespace starattn {

bool LaunchedUnderMpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"}) {
    if (std::getenv(v) != nullptr) return true;
  }
  return false;
}

#ifdef STARATTN_HAVE_MPI

bool MpiAvailable() { return true; }

namespace {

// MPI counts are int; larger messages go in chunks.
constexpr size_t kMaxChunk = size_t{1} << 30;

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator() {
    STARATTN_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
    STARATTN_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string kind() const override { return "mpi"; }

  void AllGather(const void* send, size_t bytes, void* recv) override {
    if (bytes > kMaxChunk) Fail("MPI all-gather of {} bytes exceeds {}", bytes, kMaxChunk);
    STARATTN_MPI_CHECK(MPI_Allgather(send, static_cast<int>(bytes), MPI_BYTE, recv,
                                     static_cast<int>(bytes), MPI_BYTE, MPI_COMM_WORLD));
  }
  void Broadcast(void* buf, size_t bytes, int root) override {
    for (size_t off = 0; off < bytes; off += kMaxChunk) {
      const int n = static_cast<int>(std::min(kMaxChunk, bytes - off));
      STARATTN_MPI_CHECK(
          MPI_Bcast(static_cast<char*>(buf) + off, n, MPI_BYTE, root, MPI_COMM_WORLD));
    }
  }
  void SendRecv(const void* send, size_t send_bytes, int dest, void* recv, size_t recv_bytes,
                int src) override {
    if (send_bytes > kMaxChunk || recv_bytes > kMaxChunk) {
      Fail("MPI send/recv of {} bytes exceeds {}", std::max(send_bytes, recv_bytes), kMaxChunk);
    }
    STARATTN_MPI_CHECK(MPI_Sendrecv(send, static_cast<int>(send_bytes), MPI_BYTE, dest, 0, recv,
                                    static_cast<int>(recv_bytes), MPI_BYTE, src, 0, MPI_COMM_WORLD,
                                    MPI_STATUS_IGNORE));
  }
  void Barrier() override { STARATTN_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD)); }

 private:
  int rank_ = 0;
  int size_ = 1;
};

void FinalizeMpi() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace

std::unique_ptr<Communicator> MpiWorld() {
  int initialized = 0;
  STARATTN_MPI_CHECK(MPI_Initialized(&initialized));
  if (!initialized) {
    int provided = 0;
    STARATTN_MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
    std::atexit(FinalizeMpi);
  }
  return std::make_unique<MpiCommunicator>();
}

#else

bool MpiAvailable() { return false; }

std::unique_ptr<Communicator> MpiWorld() {
  Fail("this starattn was built without MPI (install libopenmpi-dev and rebuild)");
}

#endif

}  // namespace starattn
