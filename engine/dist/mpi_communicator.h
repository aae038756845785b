// Communicator over MPI_COMM_WORLD: one host per MPI process (`mpirun -np H starattn ...`).
#pragma once

#include <memory>

#include "engine/dist/communicator.h"

namespace starattn {

// True when this process was started by an MPI launcher (OpenMPI, MPICH, or PMIx env).
bool LaunchedUnderMpi();
// True when the build has MPI support.
bool MpiAvailable();
// Initialises MPI (once) and returns the world communicator; MPI is finalised at exit.
// Throws Error when the build has no MPI support.
std::unique_ptr<Communicator> MpiWorld();

}  // namespace starattn
