// keel.json: encode/decode with a distinct null (json.null). Decoding streams
// nlohmann's SAX events straight into Lua tables; encoding walks Lua values.
// Decoded arrays and objects carry a metatable marker so that empty ones
// round-trip; json.array(t) / json.object(t) mark tables by hand.
#include "lua/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <vector>

#include "lua/lua_util.h"
#include "lua/modules.h"

namespace keel::lua {
namespace {

constexpr const char* kArrayMt = "keel.json.array";
constexpr const char* kObjectMt = "keel.json.object";
constexpr int kMaxDepth = 256;

void push_null(lua_State* L) {
    lua_pushlightuserdata(L, nullptr);
}
bool is_null(lua_State* L, int idx) {
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == nullptr;
}

// ---- decoding ----

class Sax {
  public:
    explicit Sax(lua_State* L) : L_(L) {}
    std::string error;

    bool null() {
        return value([this] { push_null(L_); });
    }
    bool boolean(bool b) {
        return value([&] { lua_pushboolean(L_, b); });
    }
    bool number_integer(int64_t n) {
        return value([&] { lua_pushinteger(L_, n); });
    }
    bool number_unsigned(uint64_t n) {
        return value([&] {
            if (n <= static_cast<uint64_t>(INT64_MAX))
                lua_pushinteger(L_, static_cast<lua_Integer>(n));
            else
                lua_pushnumber(L_, static_cast<lua_Number>(n));
        });
    }
    bool number_float(double d, const std::string&) {
        return value([&] { lua_pushnumber(L_, d); });
    }
    bool string(std::string& s) {
        return value([&] { push(L_, s); });
    }
    bool binary(std::vector<uint8_t>&) { return fail("binary values are not JSON"); }
    bool start_object(size_t) { return open(false); }
    bool key(std::string& k) {
        if (!lua_checkstack(L_, 4)) return fail("out of stack space");
        push(L_, k);
        return true;
    }
    bool end_object() { return close(); }
    bool start_array(size_t) { return open(true); }
    bool end_array() { return close(); }
    bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& e) {
        error = e.what();
        // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> the useful
        // part
        if (auto p = error.find("] "); p != std::string::npos) error = error.substr(p + 2);
        return false;
    }

  private:
    struct Frame {
        bool array;
        lua_Integer n;
    };
    template <typename F>
    bool value(F push_it) {
        if (!lua_checkstack(L_, 4)) return fail("out of stack space");
        push_it();
        return attach();
    }
    bool attach() {
        if (frames_.empty()) return true;
        Frame& f = frames_.back();
        if (f.array)
            lua_rawseti(L_, -2, ++f.n);
        else
            lua_rawset(L_, -3);
        return true;
    }
    bool open(bool array) {
        if (frames_.size() >= kMaxDepth) return fail("nesting deeper than 256 levels");
        if (!lua_checkstack(L_, 4)) return fail("out of stack space");
        lua_newtable(L_);
        luaL_setmetatable(L_, array ? kArrayMt : kObjectMt);
        frames_.push_back({array, 0});
        return true;
    }
    bool close() {
        frames_.pop_back();
        return attach();
    }
    bool fail(const char* why) {
        error = why;
        return false;
    }

    lua_State* L_;
    std::vector<Frame> frames_;
};

// ---- encoding ----

class Encoder {
  public:
    Encoder(lua_State* L, bool pretty) : L_(L), pretty_(pretty) {}
    std::string out, error;

    bool encode(int idx, int depth) {
        idx = lua_absindex(L_, idx);
        switch (lua_type(L_, idx)) {
            case LUA_TNIL:
                out += "null";
                return true;
            case LUA_TBOOLEAN:
                out += lua_toboolean(L_, idx) ? "true" : "false";
                return true;
            case LUA_TNUMBER:
                return number(idx);
            case LUA_TSTRING:
                return string(idx);
            case LUA_TTABLE:
                return table(idx, depth);
            case LUA_TLIGHTUSERDATA:
                if (is_null(L_, idx)) {
                    out += "null";
                    return true;
                }
                [[fallthrough]];
            default:
                return fail(std::string("cannot encode a ") + luaL_typename(L_, idx));
        }
    }

  private:
    bool fail(const std::string& why) {
        if (error.empty()) error = why + (path_.empty() ? "" : " at " + path_);
        return false;
    }

    bool number(int idx) {
        char buf[64];
        if (lua_isinteger(L_, idx)) {
            std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(lua_tointeger(L_, idx)));
        } else {
            double d = lua_tonumber(L_, idx);
            if (!std::isfinite(d)) return fail("cannot encode NaN or infinity");
            std::snprintf(buf, sizeof buf, "%.17g", d);
            // Shortest form that reads back the same.
            for (int prec = 1; prec < 17; ++prec) {
                char b[64];
                std::snprintf(b, sizeof b, "%.*g", prec, d);
                if (std::strtod(b, nullptr) == d) {
                    std::memcpy(buf, b, sizeof b);
                    break;
                }
            }
        }
        out += buf;
        return true;
    }

    bool string(int idx) {
        size_t n;
        const char* s = lua_tolstring(L_, idx, &n);
        return quote(std::string_view(s, n));
    }

    // Writes a JSON string; the bytes must be valid UTF-8.
    bool quote(std::string_view s) {
        out += '"';
        for (size_t i = 0; i < s.size();) {
            auto c = static_cast<unsigned char>(s[i]);
            if (c < 0x80) {
                switch (c) {
                    case '"':
                        out += "\\\"";
                        break;
                    case '\\':
                        out += "\\\\";
                        break;
                    case '\n':
                        out += "\\n";
                        break;
                    case '\r':
                        out += "\\r";
                        break;
                    case '\t':
                        out += "\\t";
                        break;
                    case '\b':
                        out += "\\b";
                        break;
                    case '\f':
                        out += "\\f";
                        break;
                    default:
                        if (c < 0x20) {
                            char buf[8];
                            std::snprintf(buf, sizeof buf, "\\u%04x", c);
                            out += buf;
                        } else {
                            out += static_cast<char>(c);
                        }
                }
                ++i;
                continue;
            }
            size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
            if (len == 0 || c > 0xF4 || i + len > s.size()) return fail("invalid UTF-8 in string");
            uint32_t cp = c & (0xFF >> (len + 1));
            for (size_t k = 1; k < len; ++k) {
                auto cc = static_cast<unsigned char>(s[i + k]);
                if ((cc & 0xC0) != 0x80) return fail("invalid UTF-8 in string");
                cp = (cp << 6) | (cc & 0x3F);
            }
            static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
            if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return fail("invalid UTF-8 in string");
            out.append(s.substr(i, len));
            i += len;
        }
        out += '"';
        return true;
    }

    // "array", "object" or nullptr from the table's marker metatable.
    const char* marker(int idx) {
        if (!lua_getmetatable(L_, idx)) return nullptr;
        const char* kind = nullptr;
        luaL_getmetatable(L_, kArrayMt);
        if (lua_rawequal(L_, -1, -2)) kind = "array";
        lua_pop(L_, 1);
        luaL_getmetatable(L_, kObjectMt);
        if (lua_rawequal(L_, -1, -2)) kind = "object";
        lua_pop(L_, 2);
        return kind;
    }

    void newline(int depth) {
        if (!pretty_) return;
        out += '\n';
        out.append(static_cast<size_t>(depth) * 2, ' ');
    }

    bool table(int idx, int depth) {
        if (depth >= kMaxDepth) return fail("nesting deeper than 256 levels (a cycle?)");
        if (!lua_checkstack(L_, 6)) return fail("out of stack space");
        const char* kind = marker(idx);
        // Count keys; a table whose keys are exactly 1..n is an array.
        lua_Integer count = 0, max = 0;
        bool only_positive_ints = true;
        lua_pushnil(L_);
        while (lua_next(L_, idx)) {
            ++count;
            if (lua_isinteger(L_, -2) && lua_tointeger(L_, -2) > 0)
                max = std::max(max, lua_tointeger(L_, -2));
            else
                only_positive_ints = false;
            lua_pop(L_, 1);
        }
        bool array = kind ? std::string_view(kind) == "array"
                          : (count > 0 && only_positive_ints && max == count);
        if (array) {
            if (!only_positive_ints) return fail("array with non-integer keys");
            out += '[';
            for (lua_Integer i = 1; i <= max; ++i) {
                if (i > 1) out += ',';
                newline(depth + 1);
                lua_rawgeti(L_, idx, i);
                size_t mark = path_.size();
                path_ += "[" + std::to_string(i) + "]";
                bool ok = encode(-1, depth + 1);
                path_.resize(mark);
                lua_pop(L_, 1);
                if (!ok) return false;
            }
            if (max > 0) newline(depth);
            out += ']';
            return true;
        }
        // Objects: keys sorted, so the output is stable. Number keys become strings;
        // tmp maps each string form to its value.
        std::vector<std::string> keys;
        lua_newtable(L_);
        int tmp = lua_gettop(L_);
        lua_pushnil(L_);
        while (lua_next(L_, idx)) {
            int t = lua_type(L_, -2);
            if (t == LUA_TSTRING) {
                size_t n;
                const char* k = lua_tolstring(L_, -2, &n);
                keys.emplace_back(k, n);
            } else if (t == LUA_TNUMBER) {
                lua_pushvalue(L_, -2);
                keys.emplace_back(lua_tostring(L_, -1));
                lua_pop(L_, 1);
            } else {
                lua_pop(L_, 3);
                return fail(std::string("cannot encode a ") + lua_typename(L_, t) + " key");
            }
            push(L_, keys.back());
            lua_pushvalue(L_, -2);
            lua_rawset(L_, tmp);
            lua_pop(L_, 1);
        }
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        out += '{';
        bool first = true;
        for (const auto& k : keys) {
            if (!first) out += ',';
            first = false;
            newline(depth + 1);
            if (!quote(k)) return false;
            out += pretty_ ? ": " : ":";
            push(L_, k);
            lua_rawget(L_, tmp);
            size_t mark = path_.size();
            path_ += "." + k;
            bool ok = encode(-1, depth + 1);
            path_.resize(mark);
            lua_pop(L_, 1);
            if (!ok) return false;
        }
        lua_pop(L_, 1);  // tmp
        if (!first) newline(depth);
        out += '}';
        return true;
    }

    lua_State* L_;
    bool pretty_;
    std::string path_;
};

int l_encode(lua_State* L) {
    luaL_checkany(L, 1);
    check_opt_table(L, 2);
    bool pretty = opt_bool(L, 2, 2, "pretty", false);
    if (push_json(L, 1, pretty)) return 1;
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
}

int l_decode(lua_State* L) {
    std::string_view text = check_view(L, 1);
    return json_decode(L, text);
}

int mark(lua_State* L, const char* mt) {
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    luaL_setmetatable(L, mt);
    return 1;
}
int l_array(lua_State* L) {
    return mark(L, kArrayMt);
}
int l_object(lua_State* L) {
    return mark(L, kObjectMt);
}

}  // namespace

int json_decode(lua_State* L, std::string_view text) {
    luaL_newmetatable(L, kArrayMt);
    luaL_newmetatable(L, kObjectMt);
    lua_pop(L, 2);
    int top = lua_gettop(L);
    Sax sax(L);
    bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &sax,
                                        nlohmann::json::input_format_t::json, true);
    if (!ok) {
        lua_settop(L, top);
        lua_pushnil(L);
        push(L, "json: " + (sax.error.empty() ? std::string("invalid document") : sax.error));
        return 2;
    }
    return 1;
}

bool push_json(lua_State* L, int idx, bool pretty) {
    idx = lua_absindex(L, idx);
    luaL_newmetatable(L, kArrayMt);
    luaL_newmetatable(L, kObjectMt);
    lua_pop(L, 2);
    Encoder e(L, pretty);
    int top = lua_gettop(L);
    bool ok = e.encode(idx, 0);
    lua_settop(L, top);
    if (ok)
        push(L, e.out);
    else
        lua_pushfstring(L, "json: %s", e.error.c_str());
    return ok;
}

int open_json(lua_State* L) {
    luaL_newmetatable(L, kArrayMt);
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__name");
    luaL_newmetatable(L, kObjectMt);
    lua_pushliteral(L, "object");
    lua_setfield(L, -2, "__name");
    lua_pop(L, 2);
    static const luaL_Reg kFuncs[] = {
        {"encode", l_encode}, {"decode", l_decode}, {"array", l_array},
        {"object", l_object}, {nullptr, nullptr},
    };
    luaL_newlib(L, kFuncs);
    push_null(L);
    lua_setfield(L, -2, "null");
    return 1;
}

}  // namespace keel::lua
