#!/usr/bin/keel-lua
-- Heat when cold: every 30 s read a temperature sensor and switch a heater relay
-- with a little hysteresis, publishing readings and switches on the bus. Anyone
-- can change the set point: keel req heater.setpoint 19.5
local keel = require "keel"
local sys, log = keel.sys, keel.log

local sensor = os.getenv("SENSOR") or "/sys/class/thermal/thermal_zone0/temp"  -- millidegrees
local relay = os.getenv("RELAY") or "/sys/class/gpio/gpio17/value"
local setpoint, band = 18.0, 0.5
local heating = false

local bus = keel.bus.connect{wait = false}  -- keeps trying if the bus is not up yet

local function switch(on)
    if on == heating then return end
    local ok, err = sys.writefile(relay, on and "1" or "0")
    if not ok then return log.error("cannot switch the heater: %s", err) end
    heating = on
    bus:publish("heater.state", {on = on, setpoint = setpoint})
end

local function check()
    local text, err = sys.readfile(sensor)
    if not text then return log.warning("no temperature: %s", err) end
    local celsius = tonumber(text) / 1000
    bus:publish("sensor.temperature", {celsius = celsius})
    if celsius < setpoint - band then switch(true)
    elseif celsius > setpoint + band then switch(false) end
end

bus:subscribe("heater.setpoint", function(msg)
    local value = tonumber(msg.data)
    if value then setpoint = value; check() end
    msg:respond(keel.json.encode({setpoint = setpoint, heating = heating}))
end)

check()
keel.loop.every(30, check)
