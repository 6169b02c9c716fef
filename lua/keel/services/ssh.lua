-- dropbear as the ssh server. Logins by the users' ssh_keys (written to
-- ~/.ssh/authorized_keys with the users); the host key is made on first boot by
-- a oneshot running dropbearkey, so it is never part of the image. The client
-- tools (dbclient, dropbearconvert) are left out unless `client = true`.
return function(_, sys)
    local o = sys.options({port = {"integer", 22}, password_auth = {"boolean", false},
                           root_login = {"boolean", true}, key_type = {"string", "ed25519"},
                           client = {"boolean", false}})
    if o.port < 1 or o.port > 65535 then sys.fail("port %d is not a TCP port", o.port) end
    local types = {ed25519 = true, ecdsa = true, rsa = true}
    if not types[o.key_type] then sys.fail('key_type must be "ed25519", "ecdsa" or "rsa"') end
    local key = "/etc/dropbear/dropbear_" .. o.key_type .. "_host_key"
    local argv = {"/usr/sbin/dropbear", "-F", "-E", "-p", tostring(o.port), "-r", key}
    if not o.password_auth then argv[#argv + 1] = "-s" end
    if not o.root_login then argv[#argv + 1] = "-w" end
    return {
        packages = {"dropbear-bin", "busybox"},
        files = {{path = "/etc/dropbear", dir = true, mode = 448}},
        remove = not o.client and {"/usr/bin/dbclient", "/usr/bin/dropbearconvert", "/usr/lib/dropbear"} or nil,
        service = {argv = argv, depends = {"ssh-hostkey"}, readiness = "tcp:" .. o.port},
        extra = {{
            name = "ssh-hostkey", type = "oneshot",
            argv = {"busybox", "sh", "-c", string.format(
                "[ -s %s ] || exec /usr/bin/dropbearkey -t %s -f %s", key, o.key_type, key)},
        }},
    }
end
