#include "lua_test_util.h"

namespace keel::lua {
namespace {

TEST(LuaJson, EncodeDecodeRoundTrip) {
    EXPECT_EQ(run_lua(R"(
        local json = require "keel.json"
        assert(json.encode({b = 1, a = {1, 2.5, "x"}, c = true}) == '{"a":[1,2.5,"x"],"b":1,"c":true}')
        assert(json.encode("é\n\"\1") == '"é\\n\\"\\u0001"')
        assert(json.encode(json.null) == "null" and json.encode(nil) == "null")
        assert(json.encode(0.1) == "0.1" and json.encode(-3) == "-3" and json.encode(1e300) == "1e+300")
        local v = json.decode('{"a":[1,2,{"b":null}],"e":[],"o":{},"f":1.5,"big":18446744073709551615}')
        assert(v.a[3].b == json.null, "null is distinct")
        assert(v.a[3].b ~= nil)
        assert(math.type(v.a[1]) == "integer" and v.f == 1.5 and v.big > 1e19)
        assert(json.encode(v.e) == "[]" and json.encode(v.o) == "{}", "empty containers round-trip")
        assert(json.encode(json.array()) == "[]" and json.encode({}) == "{}")
        assert(json.encode({[1] = "a", [2] = "b"}) == '["a","b"]')
        assert(json.encode({[1] = "a", [3] = "b"}) == '{"1":"a","3":"b"}', "sparse arrays become objects")
        assert(json.encode({x = {1}}, {pretty = true}) == '{\n  "x": [\n    1\n  ]\n}')
    )"),
              0);
}

TEST(LuaJson, Errors) {
    EXPECT_EQ(run_lua(R"(
        local json = require "keel.json"
        local v, err = json.decode('{"a":')
        assert(v == nil and err:find("^json: ") and err:find("column"), err)
        v, err = json.decode('[1,]')
        assert(v == nil and err, "trailing comma")
        v, err = json.decode(string.rep("[", 300) .. string.rep("]", 300))
        assert(v == nil and err:find("256"), err)
        v, err = json.encode({f = print})
        assert(v == nil and err:find("cannot encode a function at .f"), err)
        v, err = json.encode("\255")
        assert(v == nil and err:find("UTF%-8"), err)
        v, err = json.encode(0/0)
        assert(v == nil and err:find("NaN"), err)
        local t = {} t.self = t
        v, err = json.encode(t)
        assert(v == nil and err:find("cycle"), err)
        v, err = json.encode({[true] = 1})
        assert(v == nil and err:find("boolean key"), err)
        local ok, msg = pcall(json.decode, {})
        assert(not ok and msg:find("bad argument #1"), msg)
    )"),
              0);
}

}  // namespace
}  // namespace keel::lua
