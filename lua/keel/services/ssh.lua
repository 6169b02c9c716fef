-- dropbear as the ssh server. Logins by the users' ssh_keys (written to
-- ~/.ssh/authorized_keys with the users). Host keys are never part of the image:
-- by default dropbear makes each one when the first client asks for its type
-- (-R, as Buildroot runs it), which keeps key generation off the boot path. A
-- `key_type` pins the one type offered; that key is then made at boot by the
-- oneshot ssh-hostkey (dropbearkey) before dropbear starts. The client tools
-- (dbclient, dropbearconvert) are left out unless `client = true`.
return function(_, sys)
    local o = sys.options({port = {"integer", 22}, password_auth = {"boolean", false},
                           root_login = {"boolean", true}, key_type = "string",
                           client = {"boolean", false}})
    if o.port < 1 or o.port > 65535 then sys.fail("port %d is not a TCP port", o.port) end
    local types = {ed25519 = true, ecdsa = true, rsa = true}
    if o.key_type and not types[o.key_type] then sys.fail('key_type must be "ed25519", "ecdsa" or "rsa"') end
    local argv = {"/usr/sbin/dropbear", "-F", "-E", "-p", tostring(o.port)}
    local service = {argv = argv, readiness = "tcp:" .. o.port}
    local extra
    if o.key_type then
        local key = "/etc/dropbear/dropbear_" .. o.key_type .. "_host_key"
        table.move({"-r", key}, 1, 2, #argv + 1, argv)
        service.depends = {"ssh-hostkey"}
        extra = {{
            name = "ssh-hostkey", type = "oneshot",
            argv = {"busybox", "sh", "-c", string.format(
                "[ -s %s ] || exec /usr/bin/dropbearkey -t %s -f %s", key, o.key_type, key)},
        }}
    else
        argv[#argv + 1] = "-R"
    end
    if not o.password_auth then argv[#argv + 1] = "-s" end
    if not o.root_login then argv[#argv + 1] = "-w" end
    return {
        packages = {"dropbear-bin", "busybox"},
        files = {{path = "/etc/dropbear", dir = true, mode = 448}},
        remove = not o.client and {"/usr/bin/dbclient", "/usr/bin/dropbearconvert", "/usr/lib/dropbear"} or nil,
        service = service,
        extra = extra,
    }
end
