// How `keel sub` and `keel reply` print a received message.
#pragma once

#include <cstdint>
#include <string>

#include "bus/client/client.h"

namespace keel::cli {

enum class MessageFormat { kHuman, kJson, kRaw };

// kHuman: "[#3] subject (reply: r)\n  Key: Value\ndata\n"; kJson: one object per line;
// kRaw: the data and a newline.
std::string format_message(const bus::Message& m, uint64_t n, MessageFormat f);

// --header "Key: Value" / "Key:Value" / "Key=Value" into headers.
bool add_header_arg(bus::Headers& h, const std::string& arg);

}  // namespace keel::cli
