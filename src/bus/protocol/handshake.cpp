#include "bus/protocol/handshake.h"

#include <nlohmann/json.hpp>

namespace keel::bus {
namespace {

using nlohmann::json;

// Reads an optional field of type T; a present field of another type is an error
// (null leaves the default, like Go's json.Unmarshal).
template <typename T>
bool read_field(const json& j, const char* key, T* out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return true;
    if constexpr (std::is_same_v<T, bool>) {
        if (!it->is_boolean()) return false;
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!it->is_string()) return false;
    } else {
        if (!it->is_number_integer()) return false;
    }
    *out = it->get<T>();
    return true;
}

}  // namespace

Result<ConnectOptions> parse_connect(std::string_view text, ConnectOptions o) {
    json j = json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Error("CONNECT: malformed JSON");
    bool ok = read_field(j, "verbose", &o.verbose) && read_field(j, "pedantic", &o.pedantic) &&
              read_field(j, "echo", &o.echo) && read_field(j, "headers", &o.headers) &&
              read_field(j, "no_responders", &o.no_responders) &&
              read_field(j, "tls_required", &o.tls_required) &&
              read_field(j, "protocol", &o.protocol) && read_field(j, "name", &o.name) &&
              read_field(j, "lang", &o.lang) && read_field(j, "version", &o.version) &&
              read_field(j, "user", &o.user) && read_field(j, "pass", &o.pass) &&
              read_field(j, "auth_token", &o.auth_token);
    if (!ok) return Error("CONNECT: field of the wrong type");
    return o;
}

std::string to_json(const ConnectOptions& o) {
    json j = {{"verbose", o.verbose},
              {"pedantic", o.pedantic},
              {"echo", o.echo},
              {"headers", o.headers},
              {"no_responders", o.no_responders},
              {"tls_required", o.tls_required},
              {"protocol", o.protocol},
              {"name", o.name},
              {"lang", o.lang},
              {"version", o.version}};
    if (!o.user.empty()) j["user"] = o.user;
    if (!o.pass.empty()) j["pass"] = o.pass;
    if (!o.auth_token.empty()) j["auth_token"] = o.auth_token;
    return j.dump();
}

std::string to_json(const ServerInfo& i) {
    json j = {{"server_id", i.server_id}, {"server_name", i.server_name},
              {"version", i.version},     {"proto", i.proto},
              {"host", i.host},           {"port", i.port},
              {"headers", i.headers},     {"max_payload", i.max_payload}};
    if (i.auth_required) j["auth_required"] = true;
    if (i.client_id) j["client_id"] = i.client_id;
    if (!i.client_ip.empty()) j["client_ip"] = i.client_ip;
    return j.dump();
}

Result<ServerInfo> parse_info(std::string_view text) {
    json j = json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Error("INFO: malformed JSON");
    ServerInfo i;
    int64_t port = 0;
    bool ok =
        read_field(j, "server_id", &i.server_id) && read_field(j, "server_name", &i.server_name) &&
        read_field(j, "version", &i.version) && read_field(j, "proto", &i.proto) &&
        read_field(j, "host", &i.host) && read_field(j, "port", &port) &&
        read_field(j, "headers", &i.headers) && read_field(j, "auth_required", &i.auth_required) &&
        read_field(j, "max_payload", &i.max_payload) && read_field(j, "client_id", &i.client_id) &&
        read_field(j, "client_ip", &i.client_ip);
    if (!ok) return Error("INFO: field of the wrong type");
    i.port = static_cast<uint16_t>(port);
    return i;
}

}  // namespace keel::bus
