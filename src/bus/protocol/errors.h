// Every -ERR text the bus sends, byte for byte as nats-server sends them: official
// clients act on these strings (nats.go closes on any it does not recognise).
#pragma once

#include <string>
#include <string_view>

namespace keel::bus::err {

// These close the connection.
inline constexpr std::string_view kUnknownProtocol = "Unknown Protocol Operation";
inline constexpr std::string_view kAuthorizationViolation = "Authorization Violation";
inline constexpr std::string_view kAuthenticationTimeout = "Authentication Timeout";
inline constexpr std::string_view kMaxPayload = "Maximum Payload Violation";
inline constexpr std::string_view kMaxControlLine = "maximum control line exceeded";
inline constexpr std::string_view kMaxConnections = "maximum connections exceeded";
inline constexpr std::string_view kBadClientProtocol = "invalid client protocol";
inline constexpr std::string_view kNoRespondersNeedsHeaders =
    "no responders requires headers support";
inline constexpr std::string_view kStaleConnection = "Stale Connection";

// These leave it open.
inline constexpr std::string_view kInvalidSubject = "Invalid Subject";
inline constexpr std::string_view kInvalidPublishSubject = "Invalid Publish Subject";
inline constexpr std::string_view kMaxSubscriptions = "maximum subscriptions exceeded";

// Quotes like Go's %q, which nats-server uses for subjects inside -ERR texts.
std::string go_quote(std::string_view s);

inline std::string publish_violation(std::string_view subject) {
    return "Permissions Violation for Publish to " + go_quote(subject);
}
inline std::string subscription_violation(std::string_view subject, std::string_view queue) {
    std::string s = "Permissions Violation for Subscription to " + go_quote(subject);
    if (!queue.empty()) s += " using queue " + go_quote(queue);
    return s;
}

}  // namespace keel::bus::err
