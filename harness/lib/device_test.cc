// --device parsing and the availability check: names round-trip, unknown names and an unusable
// CUDA backend are one-line errors naming the problem.
#include "harness/lib/device.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/common/error.h"

namespace starattn::cli {
namespace {

namespace po = boost::program_options;

po::variables_map Parse(const std::vector<std::string>& args) {
  po::options_description desc;
  AddDeviceOptions(desc);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  return vm;
}

std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DeviceTest, NamesRoundTripAndUnknownNamesAreErrors) {
  for (Device d : {Device::kCpu, Device::kCuda}) EXPECT_EQ(ParseDevice(DeviceName(d)), d);
  const std::string e = ErrorOf([] { ParseDevice("gpu"); });
  EXPECT_NE(e.find("unknown --device 'gpu'"), std::string::npos) << e;
  const std::string t = ErrorOf([] { DeviceFromOptions(Parse({"--compute", "fp8"})); });
  EXPECT_NE(t.find("unknown --compute 'fp8'"), std::string::npos) << t;
  const std::string kv = ErrorOf([] { DeviceFromOptions(Parse({"--kv-dtype", "int4"})); });
  EXPECT_NE(kv.find("unknown --kv-dtype 'int4'"), std::string::npos) << kv;
  const std::string f16 = ErrorOf([] { DeviceFromOptions(Parse({"--compute", "f16"})); });
  EXPECT_NE(f16.find("the CPU computes in f32 or bf16"), std::string::npos) << f16;
}

TEST(DeviceTest, CpuIsTheDefaultAndAlwaysAvailable) {
  const DeviceChoice c = DeviceFromOptions(Parse({}));
  EXPECT_EQ(c.device, Device::kCpu);
  EXPECT_EQ(c.precision(), "compute bf16, kv bf16");
  EXPECT_NO_THROW(RequireDevice(Device::kCpu));
}

TEST(DeviceTest, CudaIsAvailableOrAOneLineErrorSayingWhy) {
  const std::string e = ErrorOf([] {
    DeviceFromOptions(Parse({"--device", "cuda", "--compute", "bf16"}));
  });
  if (!BuildHasCuda()) {
    EXPECT_NE(e.find("--device cuda: this build has no CUDA support"), std::string::npos) << e;
  } else if (!e.empty()) {  // a CUDA build on a machine without a usable device
    EXPECT_EQ(e.rfind("--device cuda: ", 0), 0u) << e;
    EXPECT_NE(e.find("CUDA"), std::string::npos) << e;
  }
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

}  // namespace
}  // namespace starattn::cli
