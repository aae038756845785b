// How hosts talk. A host is a rank of a Communicator: a logical host in this process
// (InProcessGroup) or an MPI process (MpiCommunicator). Collectives are blocking and must be
// called by every rank in the same order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace starattn {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string kind() const = 0;  // "in-process" or "mpi"

  // recv: [size(), bytes]; rank r's `send` lands at recv + r * bytes.
  virtual void AllGather(const void* send, size_t bytes, void* recv) = 0;
  // buf on `root` is copied to every rank's buf.
  virtual void Broadcast(void* buf, size_t bytes, int root) = 0;
  // Sends `send` to `dest` and receives `bytes` from `src` into recv (deadlock-free for rings).
  virtual void SendRecv(const void* send, size_t send_bytes, int dest, void* recv,
                        size_t recv_bytes, int src) = 0;
  virtual void Barrier() = 0;
  // Max over ranks of a double (critical paths), and sum of an int64.
  double AllReduceMax(double x);
  int64_t AllReduceSum(int64_t x);
};

// This process's place among the processes of its node, from the MPI launcher's environment
// (OpenMPI: OMPI_COMM_WORLD_LOCAL_RANK/_SIZE; MPICH: MPI_LOCALRANKID/MPI_LOCALNRANKS); the
// communicator's own rank and size when the launcher sets neither.
struct NodeRank {
  int rank = 0;
  int size = 1;
};
NodeRank LocalRank(const Communicator& world);

// H logical hosts in one process: Endpoint(r) is rank r's communicator. Each rank runs on its own
// thread; the group outlives them.
class InProcessGroup {
 public:
  struct Shared;
  explicit InProcessGroup(int size);
  ~InProcessGroup();
  Communicator& Endpoint(int rank);
  int size() const;

 private:
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Communicator>> endpoints_;
};

}  // namespace starattn
