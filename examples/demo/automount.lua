-- Mounts USB sticks under /media/<label> when keel dev reports them, and
-- unmounts them when they go; tells the toast service both times. Installed
-- by examples/demo/system.lua as /etc/keel/scripts/automount.lua and run by
-- keel init as `keel lua /etc/keel/scripts/automount.lua`.
local keel = require "keel"
local sys, log = keel.sys, keel.log

local base = "/media"
local bus = assert(keel.bus.connect())
local mounted = {}  -- device node -> mount point

-- keel dev's DEVNAME is "sda1"; udev's is "/dev/sda1".
local function node(dev)
    local name = dev.DEVNAME
    if type(name) ~= "string" then return nil end
    return name:sub(1, 1) == "/" and name or "/dev/" .. name
end

-- The label comes from the stick: it must not lead out of /media.
local function mount_point(dev, path)
    local label = (dev.LABEL or dev.ID_FS_LABEL or ""):gsub("[^%w._-]", "_")
    if label == "" or label:match("^%.*$") then label = path:match("[^/]+$") end
    return base .. "/" .. label
end

bus:subscribe("hardware.block.add", function(msg)
    local dev = msg:json()
    if type(dev) ~= "table" or dev.ID_BUS ~= "usb" then return end  -- never the machine's own disks
    local path, fstype = node(dev), dev.TYPE or dev.ID_FS_TYPE
    if not path or not fstype or mounted[path] then return end
    local dir = mount_point(dev, path)
    local ok, err = sys.mkdir(dir, {parents = true})
    if ok then ok, err = sys.mount(path, dir, fstype, "nosuid,nodev,noexec") end
    if not ok then
        log.warning("cannot mount %s: %s", path, err)
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
    if not ok then return log.warning("cannot unmount %s: %s", dir, err) end
    sys.rm(dir)
    log.info("unmounted %s", dir)
    bus:publish("toast.in", "the USB stick is gone")
end)

assert(bus:flush())
log.info("mounting USB file systems under %s", base)
