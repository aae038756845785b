#include "engine/backends/registry.h"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>

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

std::unique_ptr<DeviceModel> NewCpu(const Model& m, const BackendOptions& o) {
  if (o.compute == DType::kF16) Fail("--compute f16: the CPU computes in f32 or bf16");
  return cpu::NewCpuDeviceModel(
      m, o.compute == DType::kBf16 ? cpu::Compute::kBf16 : cpu::Compute::kF32, o.kv);
}

#if STARATTN_HAVE_CUDA
// The CUDA backend's shared library, loaded on first use: beside the executable, one folder up
// (test binaries), $STARATTN_CUDA_BACKEND, or where the build put it. Null with `why` set when
// it cannot be loaded.
const cuda::BackendEntry* CudaEntry(std::string* why) {
  static std::string error;
  static const cuda::BackendEntry* entry = []() -> const cuda::BackendEntry* {
    namespace fs = std::filesystem;
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("STARATTN_CUDA_BACKEND")) candidates.push_back(env);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      candidates.push_back((exe.parent_path() / STARATTN_CUDA_BACKEND_FILE).string());
      candidates.push_back((exe.parent_path().parent_path() / STARATTN_CUDA_BACKEND_FILE).string());
    }
    candidates.push_back(STARATTN_CUDA_BACKEND_BUILD_PATH);
    for (const std::string& path : candidates) {
      if (!fs::exists(path, ec)) continue;
      void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (lib == nullptr) {
        error = fmt::format("cannot load the CUDA backend {}: {}", path, dlerror());
        return nullptr;
      }
      using EntryFn = const cuda::BackendEntry* (*)();
      auto fn = reinterpret_cast<EntryFn>(dlsym(lib, "starattn_cuda_backend_entry"));
      if (fn == nullptr) {
        error = fmt::format("{} is not the CUDA backend: {}", path, dlerror());
        return nullptr;
      }
      return fn();
    }
    error = fmt::format(
        "the CUDA backend library {} was not found (looked beside the executable "
        "and in {})",
        STARATTN_CUDA_BACKEND_FILE, STARATTN_CUDA_BACKEND_BUILD_PATH);
    return nullptr;
  }();
  if (entry == nullptr && why != nullptr) *why = error;
  return entry;
}

int CudaDevices(std::string* why) {
  const cuda::BackendEntry* e = CudaEntry(why);
  return e == nullptr ? 0 : e->device_count(why);
}

std::unique_ptr<DeviceModel> NewCuda(const Model& m, const BackendOptions& o) {
  if (o.kv != o.compute) {
    Fail("--device cuda holds K/V in its compute type: --kv-dtype {} differs from --compute {}",
         DTypeName(o.kv), DTypeName(o.compute));
  }
  std::string why;
  const cuda::BackendEntry* e = CudaEntry(&why);
  if (e == nullptr) Fail("--device cuda: {}", why);
  return e->new_device_model(m, o.compute, o.local_rank);
}
#endif

const std::vector<Entry>& Entries() {
  static const std::vector<Entry> entries = {
    {"cpu", true, [](std::string*) { return 1; }, NewCpu},
#if STARATTN_HAVE_CUDA
    {"cuda", true, CudaDevices, NewCuda},
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
    const std::string upper = name == "cuda" ? "CUDA" : std::string(name);
    return fmt::format(
        "this build has no {} support (its compiler was not found at configure time, or it was "
        "switched off: -DSTARATTN_{}=OFF)",
        upper, upper);
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
