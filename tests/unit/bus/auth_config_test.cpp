#include "bus/server/auth_config.h"

#include <gtest/gtest.h>

namespace keel::bus {
namespace {

ConnectOptions creds(std::string user, std::string pass, std::string token = "") {
    ConnectOptions o;
    o.user = std::move(user);
    o.pass = std::move(pass);
    o.auth_token = std::move(token);
    return o;
}

TEST(AuthConfig, UsersTokensAndUnixUids) {
    auto cfg = AuthConfig::parse(R"({"users": [
        {"user": "alice", "password": "pw"},
        {"token": "t0k"},
        {"user": "local", "unix_uid": 1000}
    ]})",
                                 "auth.json");
    ASSERT_TRUE(cfg) << cfg.error().message();
    EXPECT_TRUE(cfg->required());
    EXPECT_EQ(cfg->authenticate(creds("alice", "pw"), std::nullopt)->name, "alice");
    EXPECT_EQ(cfg->authenticate(creds("alice", "nope"), std::nullopt), nullptr);
    EXPECT_EQ(cfg->authenticate(creds("", "", "t0k"), std::nullopt)->name, "token");
    EXPECT_EQ(cfg->authenticate(creds("", "", "bad"), std::nullopt), nullptr);
    EXPECT_EQ(cfg->authenticate(creds("", ""), 1000u)->name, "local");
    EXPECT_EQ(cfg->authenticate(creds("", ""), 1001u), nullptr);
    EXPECT_EQ(cfg->authenticate(creds("", ""), std::nullopt), nullptr);
}

TEST(AuthConfig, BcryptPasswords) {
    // "secret" hashed with bcrypt ($2a$ is what `nats server passwd` writes).
    const char* b = "$2b$04$abcdefghijklmnopqrstuu2r9OfJnfCsdneAXAGHnS4UpFFP8WIrW";
    const char* a = "$2a$11$abcdefghijklmnopqrstuuViuGI07N4McP9Kl.tD6XMEzyuvcY8LG";
    EXPECT_TRUE(password_matches(b, "secret"));
    EXPECT_FALSE(password_matches(b, "Secret"));
    EXPECT_TRUE(password_matches(a, "secret"));
    auto cfg = AuthConfig::parse(
        std::string(R"({"users": [{"user": "bob", "password": ")") + b + R"("}]})", "a");
    ASSERT_TRUE(cfg);
    EXPECT_NE(cfg->authenticate(creds("bob", "secret"), std::nullopt), nullptr);
    EXPECT_EQ(cfg->authenticate(creds("bob", b), std::nullopt),
              nullptr);  // the hash is not the password
}

TEST(AuthConfig, PermissionsAndDefaults) {
    auto cfg = AuthConfig::parse(R"({
        "default_permissions": {"publish": {"deny": ["admin.>"]}},
        "users": [
            {"user": "a", "password": "1"},
            {"user": "b", "password": "2", "permissions": {"publish": ["b.>"], "subscribe": {"allow": ["b.>", "jobs workers"]}}}
        ]})",
                                 "auth.json");
    ASSERT_TRUE(cfg) << cfg.error().message();
    auto a = cfg->authenticate(creds("a", "1"), std::nullopt);
    ASSERT_TRUE(a && a->permissions);
    EXPECT_FALSE(a->permissions->can_publish("admin.reboot"));
    auto b = cfg->authenticate(creds("b", "2"), std::nullopt);
    EXPECT_TRUE(b->permissions->can_publish("b.x"));
    EXPECT_FALSE(b->permissions->can_publish("c.x"));
    EXPECT_EQ(b->permissions->can_subscribe("jobs", "workers"),
              Permissions::SubscribeVerdict::kAllowed);
}

TEST(AuthConfig, ErrorsNameTheFileAndThePlace) {
    struct Case {
        const char* json;
        const char* message;
    };
    const Case cases[] = {
        {"{", "auth.json: not valid JSON"},
        {"[]", "auth.json: must be a JSON object"},
        {R"({"userz": []})", "auth.json: unknown key 'userz'"},
        {R"({"users": [{"user": "x"}]})",
         "auth.json: users[0]: user 'x' needs a \"password\" (or \"unix_uid\")"},
        {R"({"users": [{}]})", "auth.json: users[0]: needs \"user\", \"token\" or \"unix_uid\""},
        {R"({"users": [{"user": "x", "password": 5}]})",
         "auth.json: users[0].password: must be a string"},
        {R"({"users": [{"user": "x", "password": "p", "permissions": {"publish": {"allow": ["a..b"]}}}]})",
         "auth.json: users[0].permissions.publish.allow[0]: invalid subject 'a..b'"},
        {R"({"users": [{"token": "t", "permissions": {"pub": []}}]})",
         "auth.json: users[0].permissions: unknown key 'pub'"},
        {R"({"users": [{"user": "x", "unix_uid": -1}]})",
         "auth.json: users[0].unix_uid: must be a non-negative integer"},
        {R"({"users": [], "no_auth_user": "ghost"})",
         "auth.json: no_auth_user: no user named 'ghost'"},
    };
    for (const auto& c : cases) {
        auto cfg = AuthConfig::parse(c.json, "auth.json");
        ASSERT_FALSE(cfg) << c.json;
        EXPECT_EQ(cfg.error().message(), c.message);
    }
}

TEST(AuthConfig, NoAuthUser) {
    auto cfg = AuthConfig::parse(
        R"({"users": [{"user": "guest", "password": "g"}], "no_auth_user": "guest"})", "a");
    ASSERT_TRUE(cfg);
    EXPECT_EQ(cfg->authenticate(creds("", ""), std::nullopt)->name, "guest");
    EXPECT_EQ(cfg->authenticate(creds("guest", "bad"), std::nullopt), nullptr);
}

TEST(AuthConfig, MissingFile) {
    auto cfg = AuthConfig::load("/nonexistent/auth.json");
    ASSERT_FALSE(cfg);
    EXPECT_EQ(cfg.error().message(),
              "cannot open /nonexistent/auth.json: No such file or directory");
}

}  // namespace
}  // namespace keel::bus
