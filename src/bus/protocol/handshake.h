// The JSON documents of the handshake: the server's INFO and the client's CONNECT.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace keel::bus {

struct ConnectOptions {
    // nats-server's defaults before (and unless) CONNECT says otherwise.
    bool verbose = true;
    bool pedantic = true;
    bool echo = true;
    bool headers = false;
    bool no_responders = false;
    bool tls_required = false;
    int64_t protocol = 0;
    std::string name, lang, version;
    std::string user, pass, auth_token;
};

// Fails (and the connection closes) on malformed JSON or mistyped fields, as
// nats-server's json.Unmarshal does; unknown fields are ignored.
Result<ConnectOptions> parse_connect(std::string_view json, ConnectOptions base = {});
std::string to_json(const ConnectOptions& o);

struct ServerInfo {
    std::string server_id, server_name, version = "0.1.0", host;
    int64_t proto = 1;
    uint16_t port = 0;
    bool headers = true;
    bool auth_required = false;
    int64_t max_payload = 1024 * 1024;
    uint64_t client_id = 0;
    std::string client_ip;
};

std::string to_json(const ServerInfo& i);
Result<ServerInfo> parse_info(std::string_view json);

}  // namespace keel::bus
