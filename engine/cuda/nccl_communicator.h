// Device collectives over NCCL: one host per process and GPU (`mpirun -np H starattn ...
// --device cuda`). The NCCL communicator is bootstrapped through the host communicator (MPI):
// rank 0 creates the ncclUniqueId and broadcasts it. Built only when NCCL and MPI are found
// (STARATTN_HAVE_NCCL).
#pragma once

#include <memory>

#include "engine/cuda/device_communicator.h"

namespace starattn {

// True when the build has NCCL support.
bool NcclAvailable();

// One rank of an NCCL communicator over the ranks of `host` (which must outlive it), on CUDA
// device `device` (made current here). Throws Error (one line) when the build has no NCCL or
// NCCL fails to initialise.
std::unique_ptr<cuda::DeviceCommunicator> MakeNcclCommunicator(Communicator& host, int device);

}  // namespace starattn
