// Encoders for protocol lines, appending straight into an output buffer so the
// hot path (MSG to a subscriber) is a handful of memcpys and no allocation.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/byte_buffer.h"

namespace keel::bus::encode {

// MSG subject sid [reply] size\r\npayload\r\n, or HMSG ... hdr_len total\r\n when
// header_len >= 0 (payload then includes the header block).
void msg(ByteBuffer& out, std::string_view subject, std::string_view sid, std::string_view reply,
         int64_t header_len, std::string_view payload);

// PUB subject [reply] size\r\npayload\r\n, or HPUB with headers (header block + body).
void pub(ByteBuffer& out, std::string_view subject, std::string_view reply,
         std::string_view headers, std::string_view body);

void sub(ByteBuffer& out, std::string_view subject, std::string_view queue, std::string_view sid);
void unsub(ByteBuffer& out, std::string_view sid, uint64_t max = 0);
void err(ByteBuffer& out, std::string_view text);                         // -ERR 'text'\r\n
void line(ByteBuffer& out, std::string_view verb, std::string_view arg);  // "VERB arg\r\n"

// Writes the decimal digits of v at p; returns the number of bytes written (<= 20).
size_t put_uint(char* p, uint64_t v);

}  // namespace keel::bus::encode
