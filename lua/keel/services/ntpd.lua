-- OpenNTPD (Debian's openntpd) in the foreground, asking `servers` (names give
-- every address they resolve to) and answering on `listen` when given. Debian's
-- busybox has no ntpd applet. The entry does what the package's maintainer
-- scripts would: the privilege-separation user `ntpd` (a system user whose home,
-- root-owned and empty, is where its network process chroots) and ntpd's state
-- directories. It leaves out adduser (a perl script that brings passwd, PAM and
-- debconf: 18 packages) and lsb-base (for the init script), which only those
-- scripts and the init script use.
return function(_, sys)
    local o = sys.options({servers = {"strings", {"pool.ntp.org"}}, listen = "strings",
                           set_time = {"boolean", true}})
    if #o.servers == 0 then sys.fail("servers is empty") end
    local conf = {'# Written by keel build from service "ntpd"; see ntpd.conf(5).\n'}
    for _, a in ipairs(o.listen or {}) do conf[#conf + 1] = "listen on " .. a .. "\n" end
    for _, s in ipairs(o.servers) do
        if not s:match("^[%w.:%-]+$") then sys.fail("servers: %q is not a host name or address", s) end
        conf[#conf + 1] = "servers " .. s .. "\n"
    end
    local chroot = "/var/lib/openntpd/chroot"
    -- -d: stay in the foreground, log to stderr (init keeps the log); -s: set the
    -- clock at once when it is off by more than 180 s (no RTC to trust).
    local argv = {"/usr/sbin/ntpd", "-d", "-f", "/etc/openntpd/ntpd.conf"}
    if o.set_time then argv[#argv + 1] = "-s" end
    return {
        packages = {"openntpd"},
        exclude = {"adduser", "lsb-base"},
        users = {{name = "ntpd", home = chroot, gecos = "OpenNTPD privilege separation"}},
        files = {
            {path = "/etc/openntpd/ntpd.conf", data = table.concat(conf), mode = 420},
            {path = chroot, dir = true, mode = 493},
            {path = "/var/lib/openntpd/db", dir = true, mode = 493},   -- ntpd.drift
            {path = "/var/lib/openntpd/run", dir = true, mode = 493},  -- ntpd.sock for ntpctl
        },
        service = {argv = argv, depends = sys.has("net") and {"net"} or nil},
    }
end
