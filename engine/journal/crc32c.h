// CRC32C (Castagnoli), the checksum of every journal record and snapshot.
// Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise;
// both give the same value (tested against the RFC 3720 check value).
#ifndef CCROUTER_ENGINE_JOURNAL_CRC32C_H_
#define CCROUTER_ENGINE_JOURNAL_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace ccr {

uint32_t Crc32c(const void* data, size_t n, uint32_t crc = 0);
// The portable path, for tests that compare both.
uint32_t Crc32cPortable(const void* data, size_t n, uint32_t crc = 0);

}  // namespace ccr

#endif  // CCROUTER_ENGINE_JOURNAL_CRC32C_H_
