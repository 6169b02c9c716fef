-- keel net: the system's `network` becomes the manifest's "net" section; DHCP
-- runs busybox's udhcpc, so an interface with dhcp brings busybox.
return function(_, sys)
    sys.options({})
    local section = sys.network or {interfaces = {}}
    local packages = {}
    for _, iface in pairs(section.interfaces) do
        if iface.dhcp then packages[1] = "busybox" end
    end
    return {
        service = {argv = {"keel", "net", "--ready-fd", "3"}, readiness = "notify"},
        sections = {net = section},
        packages = packages,
    }
end
