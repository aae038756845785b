// Dense, star and ring attention across hosts on GPUs: the device counterpart of
// engine/model/distributed.h, with the same configuration (DistConfig, validated by
// ValidateDistConfig), the same placement (HostContextShare, StarBlockInput) and the same result
// type. A host is a CudaModel (its own stream, GEMM handle and activations) with a
// DeviceCommunicator: logical hosts on one GPU in this process (InProcessDeviceGroup), or one
// process per GPU under mpirun (NCCL; device buffers staged through MPI where NCCL cannot run).
//   phase 1: star: anchor-prefixed blocks, no communication, the anchor's K/V discarded;
//            ring: exact zigzag ring attention (K/V blocks passed with SendRecv);
//            dense: one host, causal prefill.
//   phase 2: the query and generated tokens on every host; per layer the {out, lse} states of
//            all hosts are all-gathered and merged (cuda::MergeStates); the last host stores the
//            query's K/V. Greedy tokens are taken on the device and broadcast from the last host.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/cuda/device_communicator.h"
#include "engine/model/cuda_model.h"
#include "engine/model/distributed.h"

namespace starattn {

// Every rank of `comm` calls this with the same inputs (RunSample's contract).
SampleResult CudaRunSample(CudaModel& model, cuda::DeviceCommunicator& comm, const DistConfig& cfg,
                           std::span<const int32_t> context, std::span<const int32_t> query,
                           const GenerateOptions& opts);

// cfg.hosts logical hosts on the weights' GPU, one thread and one CudaModel each (the weights are
// shared); returns the query host's result.
SampleResult CudaRunInProcess(const CudaWeights& weights, const DistConfig& cfg,
                              std::span<const int32_t> context, std::span<const int32_t> query,
                              const GenerateOptions& opts);

// Phase 2 alone, for tests (Phase2Logits' contract): the query over per-host device caches that
// already hold context K/V (the last rank's cache also receives the query's K/V). Returns the
// logits of every query token [n_query, vocab].
std::vector<float> CudaPhase2Logits(CudaModel& model, cuda::DeviceCommunicator& comm,
                                    DeviceKvCache& host_cache, std::span<const int32_t> query,
                                    int32_t first_position);

}  // namespace starattn
