-- busybox getty on the console. With login = false it starts a root shell
-- instead of asking for a login (development images).
return function(_, sys)
    local o = sys.options({console = {"string", "ttyS0"}, baud = {"string|integer", "115200"},
                           term = {"string", "vt100"}, login = {"boolean", true}})
    local argv = {"busybox", "getty", "-L"}
    local files = {}
    if o.login then
        files[1] = {path = "/usr/bin/login", link = "busybox"}
    else
        table.move({"-n", "-l", "/bin/sh"}, 1, 3, #argv + 1, argv)
    end
    table.move({tostring(o.baud), o.console, o.term}, 1, 3, #argv + 1, argv)
    return {packages = {"busybox"}, files = files, service = {argv = argv}}
end
