#include "engine/backends/registry.h"

#include "engine/common/error.h"
#include "engine/cpu/cpu_backend.h"
#if STARATTN_HAVE_CUDA
#include "engine/cuda/cuda_backend.h"
#endif

namespace starattn {
namespace {

// One entry per backend: the only build switch of the engine's backends.
struct Entry {
  std::string_view name;
  bool built;
  int (*devices)(std::string* why);
  std::unique_ptr<DeviceModel> (*make)(const Model&, const BackendOptions&);
};

const std::vector<Entry>& Entries() {
  static const std::vector<Entry> entries = {
    {"cpu", true, [](std::string*) { return 1; },
     [](const Model& m, const BackendOptions&) { return cpu::NewCpuDeviceModel(m); }},
#if STARATTN_HAVE_CUDA
    {"cuda", true, [](std::string* why) { return cuda::CudaDeviceCount(why); },
     [](const Model& m, const BackendOptions& o) {
       return cuda::NewCudaDeviceModel(m, o.dtype, o.local_rank);
     }},
#else
    {"cuda", false, nullptr, nullptr},
#endif
  };
  return entries;
}

const Entry* Find(std::string_view name) {
  for (const Entry& e : Entries()) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

}  // namespace

std::vector<std::string_view> BackendNames() {
  std::vector<std::string_view> names;
  for (const Entry& e : Entries()) names.push_back(e.name);
  return names;
}

bool BackendBuilt(std::string_view name) {
  const Entry* e = Find(name);
  return e != nullptr && e->built;
}

std::string BackendUnavailable(std::string_view name) {
  const Entry* e = Find(name);
  if (e == nullptr) return fmt::format("unknown backend '{}' (cpu, cuda)", name);
  if (!e->built) {
    return fmt::format(
        "this build has no {} support (its compiler was not found at configure time, or it was "
        "switched off: -DSTARATTN_{}=OFF)",
        name, name == "cuda" ? "CUDA" : name);
  }
  std::string why;
  if (e->devices(&why) == 0) return why.empty() ? fmt::format("no {} device", name) : why;
  return "";
}

int BackendDeviceCount(std::string_view name) {
  const Entry* e = Find(name);
  return e != nullptr && e->built ? e->devices(nullptr) : 0;
}

std::unique_ptr<DeviceModel> NewDeviceModel(const Model& model, const BackendOptions& options) {
  const std::string why = BackendUnavailable(options.name);
  if (!why.empty()) Fail("--device {}: {}", options.name, why);
  return Find(options.name)->make(model, options);
}

}  // namespace starattn
