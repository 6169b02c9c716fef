#!/usr/bin/keel-lua
-- Mounts USB sticks when they appear and unmounts them when they go, telling the
-- toast service both times. Run as root: keel lua examples/usb-automount.lua
-- (or through the fork server: keel-run examples/usb-automount.lua).
local keel = require "keel"
local sys, log = keel.sys, keel.log

local bus = assert(keel.bus.connect())
local base = arg[1] or "/media"

bus:subscribe("hardware.block.add", function(msg)
    local dev = msg:json()
    if not dev.devname or not dev.fs_type then return end  -- a disk, not a file system
    local dir = base .. "/" .. (dev.fs_label or dev.devname)
    sys.mkdir(dir, {parents = true})
    local ok, err = sys.mount("/dev/" .. dev.devname, dir, dev.fs_type, "nosuid,nodev,noexec")
    if not ok then
        log.warning("cannot mount %s: %s", dev.devname, err)
        return
    end
    log.info("mounted %s on %s", dev.devname, dir)
    bus:publish("toast.in", "a USB stick was plugged in!")
end)

bus:subscribe("hardware.block.remove", function(msg)
    local dev = msg:json()
    local dir = base .. "/" .. (dev.fs_label or dev.devname or "")
    if sys.umount(dir, "detach") then
        sys.rm(dir)
        log.info("unmounted %s", dir)
        bus:publish("toast.in", "the USB stick is gone")
    end
end)
