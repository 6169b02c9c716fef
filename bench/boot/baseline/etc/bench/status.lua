-- bench/boot's instrument in the busybox-init baseline (not part of what is
-- measured: S99ready starts it after system.ready went out). It answers
-- init.status with the fields keel init's answer has for a late subscriber, so
-- the host maps the ready moment onto its own clock the same way for both.
local keel = require "keel"
local init_uptime, ready_uptime = tonumber(arg[1]), tonumber(arg[2])
local bus = assert(keel.bus.connect())
bus:subscribe("init.status", function(msg)
    msg:respond(keel.json.encode({system_ready = true, init_uptime = init_uptime,
                                  ready_uptime = ready_uptime, uptime = keel.sys.clock("boottime")}))
end)
