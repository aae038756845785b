// --device parsing and the availability check: names round-trip, unknown names and an unusable
// CUDA backend are one-line errors naming the problem.
#include "harness/lib/device.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "engine/common/error.h"
#include "engine/common/testing.h"

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

TEST(DeviceTest, NamesRoundTripAndUnknownNamesAreErrors) {
  for (Device d : {Device::kCpu, Device::kCuda}) EXPECT_EQ(ParseDevice(DeviceName(d)), d);
  using testing::ThrowsOneLineError;
  EXPECT_THAT([] { ParseDevice("gpu"); }, ThrowsOneLineError("unknown --device 'gpu'"));
  EXPECT_THAT(
      [] {
        DeviceFromOptions(Parse({"--compute", "fp8"}));
      },
      ThrowsOneLineError("unknown --compute 'fp8'"));
  EXPECT_THAT(
      [] {
        DeviceFromOptions(Parse({"--kv-dtype", "int4"}));
      },
      ThrowsOneLineError("unknown --kv-dtype 'int4'"));
  EXPECT_THAT(
      [] {
        DeviceFromOptions(Parse({"--compute", "f16"}));
      },
      ThrowsOneLineError("the CPU computes in f32 or bf16"));
}

TEST(DeviceTest, CpuIsTheDefaultAndAlwaysAvailable) {
  const DeviceChoice c = DeviceFromOptions(Parse({}));
  EXPECT_EQ(c.device, Device::kCpu);
  EXPECT_EQ(c.precision(), "compute bf16, kv bf16");
  EXPECT_NO_THROW(RequireDevice(Device::kCpu));
}

TEST(DeviceTest, CudaIsAvailableOrAOneLineErrorSayingWhy) {
  auto cuda = [] { DeviceFromOptions(Parse({"--device", "cuda", "--compute", "bf16"})); };
  if (!BuildHasCuda()) {
    EXPECT_THAT(cuda,
                testing::ThrowsOneLineErrorAt("--device cuda: this build has no CUDA support"));
    return;
  }
  try {
    cuda();                 // a CUDA build on a machine with a usable device
  } catch (const Error&) {  // or without one: a one-line error saying why
    EXPECT_THAT(cuda, testing::ThrowsOneLineErrorAt("--device cuda: ", "CUDA"));
  }
}

}  // namespace
}  // namespace starattn::cli
