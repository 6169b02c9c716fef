-- busybox httpd serving `root`, as www-data (allowed to bind ports below 1024
-- through an ambient capability rather than running as root).
return function(_, sys)
    local o = sys.options({port = {"integer", 80}, root = {"string", "/srv/www"},
                           index = "string|file", user = {"string", "www-data"}})
    if o.port < 1 or o.port > 65535 then sys.fail("port %d is not a TCP port", o.port) end
    if not o.root:match("^/") then sys.fail("root must be an absolute path") end
    local u = sys.user[o.user]
    if not u then sys.fail('unknown user "%s"', o.user) end
    local index = o.index and sys.content(o.index) or string.format(
        "<!doctype html>\n<title>%s</title>\n<h1>%s</h1>\n<p>Served by busybox httpd on Keel.</p>\n",
        sys.hostname, sys.hostname)
    local service = {argv = {"busybox", "httpd", "-f", "-p", tostring(o.port), "-h", o.root},
                     readiness = "tcp:" .. o.port, user = o.user}
    if o.port < 1024 and u.uid ~= 0 then
        service.capabilities = {ambient = {"net_bind_service"}, bounding = {"net_bind_service"}}
    end
    return {
        packages = {"busybox"},
        files = {{path = o.root, dir = true, mode = 493},
                 {path = o.root .. "/index.html", data = index, mode = 420}},
        service = service,
    }
end
