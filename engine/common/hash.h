// The project's one string hash: 64-bit FNV-1a (Fowler, Noll, Vo), used to derive seeds from
// names (ruler/, babilong/) and to fingerprint fixture data (tests). Not for hash tables of
// untrusted keys.
#pragma once

#include <cstdint>
#include <string_view>

namespace starattn {

constexpr uint64_t Fnv1a64(std::string_view s) {
  uint64_t h = 0xCBF29CE484222325ull;  // offset basis
  for (const char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001B3ull;  // FNV prime
  }
  return h;
}

}  // namespace starattn
