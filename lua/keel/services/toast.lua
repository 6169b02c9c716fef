-- toast: shows what is published on `subject` (toast.in) on the console and in
-- its log (init keeps the lines and publishes them as log.toast).
local script = [[
-- Installed by the toast service: prints bus toasts on the console.
local keel = require "keel"
local sys, log = keel.sys, keel.log
local console, subject = arg[1] or "/dev/console", arg[2] or "toast.in"
local bus = assert(keel.bus.connect())
bus:subscribe(subject, function(msg)
    local text = msg.data
    local value = text:sub(1, 1) == "{" and msg:json()
    if type(value) == "table" and type(value.text) == "string" then text = value.text end
    log.info("%s", text)
    local ok, err = sys.writefile(console, "\n[toast] " .. text .. "\n", {append = true})
    if not ok then log.warning("cannot write to %s: %s", console, err) end
end)
assert(bus:flush())
log.info("showing %s on %s", subject, console)
]]

return function(_, sys)
    local o = sys.options({console = {"string", "/dev/console"}, subject = {"string", "toast.in"}})
    local path = "/usr/share/keel/toast.lua"
    return {
        files = {{path = path, data = script, mode = 420}},
        service = {argv = {"keel", "lua", path, o.console, o.subject}, depends = {"bus"}},
    }
end
