-- keel bus: the message bus every other service talks through (always present).
return function(_, sys)
    local o = sys.options({listen = "string|strings", socket = "string", auth = "file|string",
                           name = "string", connect_timeout = "number"})
    local argv = {"keel", "bus", "--ready-fd", "3"}
    local listen = type(o.listen) == "string" and {o.listen} or o.listen or {}
    for _, l in ipairs(listen) do table.move({"--listen", l}, 1, 2, #argv + 1, argv) end
    if o.socket then table.move({"--socket", o.socket}, 1, 2, #argv + 1, argv) end
    if o.name then table.move({"--name", o.name}, 1, 2, #argv + 1, argv) end
    if o.connect_timeout then
        if o.connect_timeout < 0 then sys.fail("connect_timeout must be 0 or more seconds") end
        table.move({"--connect-timeout", tostring(o.connect_timeout)}, 1, 2, #argv + 1, argv)
    end
    local files = {}
    if o.auth then
        local path = "/etc/keel/bus-auth.json"
        files[1] = {path = path, data = sys.content(o.auth), mode = 384}
        table.move({"--auth", path}, 1, 2, #argv + 1, argv)
    end
    return {service = {argv = argv, readiness = "notify"}, files = files}
end
