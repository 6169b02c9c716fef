#!/usr/bin/keel-lua
-- Mounts USB sticks when they appear and unmounts them when they go, telling the
-- toast service both times. The demo system (system.lua beside it) runs it under
-- keel init; by hand, as root: keel lua examples/demo/automount.lua [DIR]
-- (or through the fork server: keel-run examples/demo/automount.lua [DIR]).
--
-- `keel dev` publishes hardware.block.add/remove with the uevent's environment
-- (DEVNAME, DEVTYPE, ...) and what libblkid found (TYPE, LABEL, UUID; udev's
-- ID_FS_TYPE/ID_FS_LABEL are understood too), plus ID_BUS=usb for USB devices.
local keel = require "keel"
local sys, log = keel.sys, keel.log

local bus = assert(keel.bus.connect())
local base = arg[1] or "/media"
local mounted = {}  -- device node -> mount point

-- "sda1" (the kernel's DEVNAME) or "/dev/sda1" (udev's) -> "/dev/sda1"
local function node(dev)
    local name = dev.DEVNAME
    if not name then return nil end
    return name:sub(1, 1) == "/" and name or "/dev/" .. name
end

-- A label comes from the stick: it must not lead out of `base`.
local function dir_name(dev, path)
    local name = (dev.LABEL or dev.ID_FS_LABEL or ""):gsub("[^%w._-]", "_")
    if name == "" or name:match("^%.*$") then name = path:match("[^/]+$") end
    return base .. "/" .. name
end

bus:subscribe("hardware.block.add", function(msg)
    local dev = msg:json()
    -- Only file systems on USB: never the machine's own disks.
    if type(dev) ~= "table" or dev.ID_BUS ~= "usb" then return end
    local path, fstype = node(dev), dev.TYPE or dev.ID_FS_TYPE
    if not path or not fstype or mounted[path] then return end
    local dir = dir_name(dev, path)
    local ok, err = sys.mkdir(dir, {parents = true})
    if ok then ok, err = sys.mount(path, dir, fstype, "nosuid,nodev,noexec") end
    if not ok then
        log.warning("%s", err)
        sys.rm(dir)
        return
    end
    mounted[path] = dir
    log.info("mounted %s (%s) on %s", path, fstype, dir)
    bus:publish("toast.in", "a USB stick was plugged in!")
end)

bus:subscribe("hardware.block.remove", function(msg)
    local dev = msg:json()
    local path = type(dev) == "table" and node(dev)
    local dir = path and mounted[path]
    if not dir then return end
    mounted[path] = nil
    -- The stick is gone already: detach lazily rather than fail on a dead device.
    local ok, err = sys.umount(dir, "detach")
    if not ok then return log.warning("cannot unmount: %s", err) end
    sys.rm(dir)
    log.info("unmounted %s", dir)
    bus:publish("toast.in", "the USB stick is gone")
end)

assert(bus:flush())  -- the subscriptions are in place
log.info("mounting USB file systems under %s", base)
