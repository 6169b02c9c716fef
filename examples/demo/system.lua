-- The demo machine `make demo` builds and boots: a bus, devices, DHCP on eth0,
-- time, ssh on 2222, a web page, toasts on the console, and a USB automount
-- script. Reference: docs/system.md.
return system {
    hostname = "keel-demo",
    timezone = "UTC",
    users = {
        user {
            name = "demo",
            groups = { "wheel", "plugdev" },
            -- The public half of tests/data/demo_ssh_key: a test key, never for a real machine.
            ssh_keys = { "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHFS7uw8RrHH3aNIyRiLXgqmIPdO8ZC2f7nx5WCQcJ2m demo@keel" },
        },
    },
    -- Debian's busybox (not busybox-static): linked against the libc the image has anyway.
    packages = { "busybox", "dropbear-bin" },
    network = { interfaces = { eth0 = { dhcp = true } } },
    services = {
        service "bus" { listen = { "0.0.0.0:4222" } },  -- reachable through QEMU's forwarded port
        "dev",
        "net",
        "ntpd",                                         -- OpenNTPD, asking pool.ntp.org
        service "ssh" { port = 2222 },
        service "httpd" { port = 80, root = "/srv/www" },
        "toast",
        service "getty" { console = "ttyS0" },
    },
    scripts = { automount = file "automount.lua" },
    devices = {
        rule { subsystem = "block", env = { ID_BUS = "usb" }, group = "plugdev", mode = "0660" },
    },
    kernel = { modules = { "usb-storage", "vfat" } },
}
