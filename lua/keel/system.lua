-- The system definition DSL (docs/system.md). Loaded by the image builder
-- (src/image/definition.cpp) with `host`, its only door to the outside:
--   host.read(rel)            a file beside the definition (recorded as an input)
--   host.load(rel, env)       compile such a file as Lua text -> chunk, source text
--   host.lib(rel, env)        compile lua_dir/rel (the DSL's own modules)
--   host.catalog()            the names in lua_dir/keel/services
--   host.exists(abs)          true, or nil and the reason (host files, zoneinfo)
--   host.getenv(name)         an environment variable (recorded as an input)
--   host.where()              {file, line} of the innermost definition code calling
--   host.base                 the sandbox's safe globals
-- Evaluation returns a plain table the builder turns into a Plan.
local host = ...

local loaded = {}
local function require_lib(name)
    if loaded[name] == nil then
        if type(name) ~= "string" or not name:match("^keel%.[%w_.]+$") or name:find("..", 1, true) then
            error(string.format("module %s not found (only keel.* modules can be required here)",
                                tostring(name)), 2)
        end
        local env = setmetatable({require = require_lib}, {__index = host.base})
        local chunk = assert(host.lib(name:gsub("%.", "/") .. ".lua", env))
        loaded[name] = chunk(name) or true
    end
    return loaded[name]
end
loaded["keel.system"] = true

local check = require_lib("keel.check")
local users_lib = require_lib("keel.users")
local fail, locate = check.fail, check.locate

local function here() return host.where() end

local function object(kind, fields) return setmetatable(fields, {__kind = kind}) end

-- Keys every service takes, copied into its manifest entry (docs/init.md).
local manifest_keys = {
    env = "map", cwd = "string", user = "string", group = "string", groups = "strings",
    umask = "string", type = "string", depends = "strings", wants_facts = "list",
    readiness = "string", ready_timeout = "string|number", restart = "string",
    restart_delay = "string|number", restart_delay_max = "string|number",
    healthy_after = "string|number", restart_limit = "integer", stop_signal = "string|integer",
    stop_timeout = "string|number", log = "map", rlimits = "map", no_new_privs = "boolean",
    capabilities = "map", cgroup = "map",
}

---------------------------------------------------------------------------
-- The constructors a definition sees.

local catalog_names = host.catalog()
local catalog = {}
for _, n in ipairs(catalog_names) do catalog[n] = true end

local function service_name_ok(name) return name:match("^[A-Za-z0-9_-]+$") and #name <= 64 end

local function unknown_service(where, name)
    fail(where, 'unknown service "%s"%s', name, check.suggest(name, catalog_names))
end

local function service(name)
    local where = here()
    if type(name) ~= "string" or not service_name_ok(name) then
        fail(where, 'service: expected a name ([A-Za-z0-9_-], at most 64), as in service "ssh" { port = 2222 }, not %s',
             check.describe(name))
    end
    local svc = object("service", {name = name, opts = {}, where = where})
    getmetatable(svc).__call = function(self, opts)
        local w = here()
        if check.kind(opts) ~= "table" then
            fail(w, 'service "%s": expected a table of options, got %s', name, check.describe(opts))
        end
        if not catalog[name] and opts.argv == nil then unknown_service(w, name) end
        return object("service", {name = name, opts = opts, where = w, configured = true})
    end
    return svc
end

local user_schema = {
    name = "string", uid = "integer", group = "string", groups = "strings", home = "string",
    shell = "string", password = "string", ssh_keys = "strings", gecos = "string",
}
local function user(t)
    local where = here()
    local o = check.options(where, "user", t, user_schema)
    if not o.name then fail(where, "user: name is required") end
    if o.password and not o.password:match("^%$") then
        fail(locate(where, "password"), 'user "%s": password must be a crypt(3) hash ("$6$..." or "$y$..."), never clear text', o.name)
    end
    if o.home and not o.home:match("^/") then
        fail(locate(where, "home"), 'user "%s": home must be an absolute path', o.name)
    end
    for _, k in ipairs(o.ssh_keys or {}) do
        if not k:match("^%S+ %S+") or k:find("\n") then
            fail(locate(where, "ssh_keys"), 'user "%s": %q is not an ssh public key line ("ssh-ed25519 AAAA... comment")', o.name, k)
        end
    end
    o.where = where
    return object("user", o)
end

local function group(t)
    local where = here()
    local o = check.options(where, "group", t, {name = "string", gid = "integer", members = "strings"})
    if not o.name then fail(where, "group: name is required") end
    o.where = where
    return object("group", o)
end

-- Paths a definition reads: relative, and inside its own directory.
local function rel_path(where, what, path, base_dir)
    if type(path) ~= "string" or path == "" then
        fail(where, '%s: expected a relative path string, not %s', what, check.describe(path))
    end
    if path:sub(1, 1) == "/" then
        fail(where, '%s "%s": must be relative to the definition (host "%s" takes a host file)', what, path, path)
    end
    local parts = {}
    for part in ((base_dir ~= "" and base_dir .. "/" or "") .. path):gmatch("[^/]+") do
        if part == ".." then
            if #parts == 0 then fail(where, '%s "%s": outside the definition\'s directory', what, path) end
            parts[#parts] = nil
        elseif part ~= "." then
            parts[#parts + 1] = part
        end
    end
    return table.concat(parts, "/")
end

local function dir_of(file) return file:match("^(.*)/[^/]*$") or "" end

local function file(path)
    local where = here()
    local rel = rel_path(where, "file", path, dir_of(where.file))
    local data, err = host.read(rel)
    if not data then fail(where, 'file "%s": %s', path, err) end
    return object("file", {name = rel, data = data, where = where})
end

local function host_file(path)
    local where = here()
    if type(path) ~= "string" or not path:match("^/") then
        fail(where, 'host: expected an absolute path, not %s', check.describe(path))
    end
    local ok, err = host.exists(path)
    if not ok then fail(where, 'host "%s": %s', path, err) end
    return object("host", {source = path, where = where})
end

local function env(name)
    local where = here()
    if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
        fail(where, "env: expected a variable name, not %s", check.describe(name))
    end
    return host.getenv(name)
end

local patterns = "string|strings"
local rule_schema = {
    subsystem = patterns, kernel = patterns, devtype = patterns, driver = patterns, action = patterns,
    env = "map", attr = "map", owner = "string", group = "string", mode = "string",
    symlink = patterns, run = "strings|list", publish = patterns, last = "boolean",
}
local function rule(t)
    local where = here()
    local o = check.options(where, "rule", t, rule_schema)
    if o.mode and not o.mode:match("^0?[0-7][0-7][0-7]$") then
        fail(locate(where, "mode"), 'rule: mode must be an octal string like "0660", not %q', o.mode)
    end
    local r = {match = {}}
    for _, k in ipairs({"subsystem", "kernel", "devtype", "driver", "action", "env", "attr"}) do
        r.match[k] = o[k]
    end
    for _, k in ipairs({"owner", "group", "mode", "symlink", "run", "publish", "last"}) do r[k] = o[k] end
    return object("rule", {json = r, where = where, group = o.group, owner = o.owner})
end

local system_schema = {
    hostname = "string", timezone = "string", users = "list", groups = "list", packages = "list",
    exclude = "strings", prune = "boolean|map", busybox_links = "boolean",
    network = "map", services = "list", scripts = "map", devices = "list", kernel = "map",
    files = "map", filesystems = "list", buttons = "map",
}
local function system(t)
    local where = here()
    local o = check.options(where, "system", t, system_schema)
    local list_kinds = {users = "user", groups = "group", devices = "rule"}
    for key, kind in pairs(list_kinds) do
        for i, v in ipairs(o[key] or {}) do
            if check.kind(v) ~= kind then
                fail(locate(where, key), "system: %s[%d] must be %s, not %s", key, i, check.expected(kind),
                     check.describe(v))
            end
        end
    end
    o.where = where
    return object("system", o)
end

---------------------------------------------------------------------------
-- Loading definition files (the main one and imports).

local imported = {}  -- rel path -> {value} (each file evaluated once)
local loading = {}
local imported_load

local function sandbox_env()
    local env_table = {
        system = system, user = user, group = group, service = service, file = file,
        host = host_file, rule = rule, env = env,
    }
    env_table.import = function(path)
        local where = here()
        local rel = rel_path(where, "import", path, dir_of(where.file))
        if loading[rel] then fail(where, 'import "%s": imports itself (a cycle)', path) end
        if imported[rel] == nil then
            local value = imported_load(rel, where, path)
            imported[rel] = {value}
        end
        return imported[rel][1]
    end
    return setmetatable(env_table, {__index = host.base})
end

imported_load = function(rel, where, shown)
    local chunk, text, kind = host.load(rel, sandbox_env())
    if not chunk then
        if where and kind ~= "syntax" then fail(where, 'import "%s": %s', shown, text) end
        error(text, 0)  -- a syntax error names its own file:line
    end
    check.add_source(rel, text)
    loading[rel] = true
    local value = chunk()
    loading[rel] = nil
    return value
end

---------------------------------------------------------------------------
-- Building: the system object -> packages, files, manifest.

local function add_unique(list, seen, x)
    if not seen[x] then seen[x] = true; list[#list + 1] = x end
end

local function copy(t)
    local out = {}
    for k, v in pairs(t) do out[k] = v end
    return out
end

local function content_of(v) return check.kind(v) == "file" and v.data or v end

-- The manifest's net section from `network`, checked key by key.
local interface_schema = {
    match = "map", kind = "string", peer = "string", parent = "string", vlan_id = "integer",
    up = "boolean", mtu = "integer", mac = "string", bridge = "string", addresses = "strings",
    routes = "list", dhcp = "boolean|map", ipv6_autoconf = "boolean",
}
local function net_section(network, where)
    local o = check.options(where, "network", network, {interfaces = "map", dns = "map"})
    local section = {interfaces = {}}
    for _, name in ipairs(check.sorted_keys(o.interfaces or {})) do
        local w = locate(where, name)
        if #name > 15 or name:find("[/:%s]") then fail(w, "network: invalid interface name %q", name) end
        section.interfaces[name] = check.options(w, "network.interfaces." .. name, o.interfaces[name],
                                                 interface_schema)
    end
    if o.dns then
        section.dns = check.options(locate(where, "dns"), "network.dns", o.dns,
                                    {servers = "strings", search = "strings"})
    end
    return section
end

-- Debian policy 5.6.1.
local function package_name_ok(p) return type(p) == "string" and p:match("^[a-z0-9][a-z0-9+.-]+$") ~= nil end

-- `prune`: true (the default), false, or { keep, remove, libraries, strip }.
local prune_schema = {keep = "strings", remove = "strings", libraries = "boolean", strip = "boolean"}
local function prune_rules(def)
    local rules = {enabled = def.prune ~= false, keep = {}, remove = {}, libraries = true, strip = true}
    if type(def.prune) ~= "table" then return rules end
    local w = locate(def.where, "prune")
    local o = check.options(w, "prune", def.prune, prune_schema)
    for _, key in ipairs({"keep", "remove"}) do
        for _, glob in ipairs(o[key] or {}) do
            if glob:sub(1, 1) ~= "/" then
                fail(locate(w, glob, true), 'prune: %s pattern "%s" must be an absolute path (a glob: * ? [...])', key, glob)
            end
            rules[key][#rules[key] + 1] = glob
        end
    end
    for _, key in ipairs({"libraries", "strip"}) do
        if o[key] ~= nil then rules[key] = o[key] end
    end
    return rules
end

-- The manifest's dev.buttons from `buttons`: what keel dev does when a power,
-- reboot or sleep key is pressed (docs/dev.md).
local button_actions = {"poweroff", "reboot", "publish", "ignore"}
local function buttons_section(buttons, where)
    local w = locate(where, "buttons")
    local o = check.options(w, "buttons", buttons, {power = "string", reboot = "string", sleep = "string"})
    for _, key in ipairs({"power", "reboot", "sleep"}) do
        local v = o[key]
        if v ~= nil then
            local known = false
            for _, a in ipairs(button_actions) do known = known or a == v end
            if not known then
                fail(locate(w, key), 'buttons: %s must be "poweroff", "reboot", "publish" or "ignore", not "%s"%s',
                     key, v, check.suggest(v, button_actions))
            end
        end
    end
    return o
end

local function build(def)
    local out = {packages = {}, host_files = {}, files = {}, kernel_modules = {}}
    local seen_pkg, named_pkg = {}, {}
    local manifest = {hostname = def.hostname or "keel"}
    if not manifest.hostname:match("^[%w][%w.-]*$") or #manifest.hostname > 64 then
        fail(locate(def.where, "hostname"), "system: invalid hostname %q", manifest.hostname)
    end
    out.prune = prune_rules(def)

    -- Packages the closure goes without (mmdebstrap's --exclude, for dependencies):
    -- the definition's own, and those catalog entries do not need (dropped again
    -- when something in the system names the package).
    local excluded, soft_excluded = {}, {}
    local exclude_at = def.exclude and locate(def.where, "exclude")
    for i, name in ipairs(def.exclude or {}) do
        if not package_name_ok(name) then
            fail(exclude_at, "system: exclude[%d] must be a Debian package name, not %s", i, check.describe(name))
        end
        excluded[name] = locate(exclude_at, name, true)
    end

    local packages_at = def.packages and locate(def.where, "packages")
    for i, p in ipairs(def.packages or {}) do
        if check.kind(p) == "host" then
            out.host_files[#out.host_files + 1] = {source = p.source, dest = p.source}
        elseif package_name_ok(p) then
            if excluded[p] then
                fail(locate(packages_at, p, true), 'system: package "%s" is named in packages and in exclude (%s)',
                     p, check.at(excluded[p]))
            end
            named_pkg[p] = true
            add_unique(out.packages, seen_pkg, p)
        else
            fail(locate(def.where, "packages"), "system: packages[%d] must be a Debian package name or host \"/path\", not %s",
                 i, check.describe(p))
        end
    end

    local db = users_lib.resolve(def.users or {}, def.groups or {})
    local function put(f) out.files[#out.files + 1] = f end

    -- The services: what was named, what is always there, and the scripts.
    local entries, by_name = {}, {}
    local function add_service(name, opts, where, configured)
        if by_name[name] then
            if not configured then return end  -- implied (bus, dev, net) and declared too
            if by_name[name].configured then
                fail(where, 'duplicate service "%s" (first declared at %s)', name, check.at(by_name[name].where))
            end
            by_name[name].opts, by_name[name].where, by_name[name].configured = opts, where, true
            return
        end
        local e = {name = name, opts = opts, where = where, configured = configured}
        entries[#entries + 1] = e
        by_name[name] = e
    end
    for i, s in ipairs(def.services or {}) do
        if type(s) == "string" then
            local w = locate(def.where, s, true)
            if not catalog[s] then unknown_service(w, s) end
            add_service(s, {}, w, true)
        elseif check.kind(s) == "service" then
            if not catalog[s.name] and s.opts.argv == nil then unknown_service(s.where, s.name) end
            add_service(s.name, s.opts, s.where, true)
        else
            fail(locate(def.where, "services"), 'system: services[%d] must be a name or service "..." { ... }, not %s',
                 i, check.describe(s))
        end
    end
    for _, name in ipairs(check.sorted_keys(def.scripts or {})) do
        local v = def.scripts[name]
        local w = locate(def.where, name)
        if type(name) ~= "string" or not service_name_ok(name) then
            fail(locate(def.where, "scripts"), "system: scripts: invalid script name %s", check.describe(name))
        end
        if not check.fits(v, "file|string") then
            fail(w, 'system: scripts.%s must be file "..." or Lua source text, not %s', name, check.describe(v))
        end
        add_service(name, {script = v}, w, true)
    end
    for _, name in ipairs({"bus", "dev"}) do add_service(name, {}, def.where, false) end
    if def.network then add_service("net", {}, def.where, false) end

    -- Sections other parts read: rules for keel dev, interfaces for keel net.
    local rules = {}
    for _, r in ipairs(def.devices or {}) do
        for _, key in ipairs({"group", "owner"}) do
            local name = r[key]
            local known = key == "group" and db.group or db.user
            if name and not name:match("^%d+$") and not known[name] then
                fail(locate(r.where, key), 'rule: unknown %s "%s"%s', key, name,
                     check.suggest(name, users_lib.names(key == "group" and db.groups or db.users)))
            end
        end
        rules[#rules + 1] = r.json
    end
    local context = {
        hostname = manifest.hostname, users = db.users, user = db.user, group = db.group,
        rules = rules, network = def.network and net_section(def.network, def.where),
        has = function(name) return by_name[name] ~= nil end,
    }

    local services = {}
    local function expand(e)
        local w = e.where
        local what = string.format('service "%s"', e.name)
        local common = {}
        for k in pairs(manifest_keys) do common[k] = e.opts[k] end
        local result
        if e.opts.script ~= nil then
            local rel = "/etc/keel/scripts/" .. e.name .. ".lua"
            result = {
                files = {{path = rel, data = content_of(e.opts.script), mode = 420}},
                service = {argv = {"keel", "lua", rel}, depends = {"bus"}},
            }
        elseif catalog[e.name] then
            local own = {}
            for k, v in pairs(e.opts) do if manifest_keys[k] == nil then own[k] = v end end
            for k in pairs(common) do
                if not check.fits(common[k], manifest_keys[k]) then
                    fail(locate(w, k), "%s: %s must be %s, not %s", what, k, check.expected(manifest_keys[k]),
                         check.describe(common[k]))
                end
            end
            local ctx = setmetatable({
                name = e.name,
                options = function(schema) return check.options(w, what, own, schema) end,
                fail = function(fmt, ...) fail(w, what .. ": " .. fmt, ...) end,
                content = content_of,
            }, {__index = context})
            local make = require_lib("keel.services." .. e.name:gsub("-", "_"))
            result = make(own, ctx)
        else
            local schema = copy(manifest_keys)
            schema.argv = "strings"
            local o = check.options(w, what, e.opts, schema)
            if #o.argv == 0 then fail(locate(w, "argv"), "%s: argv is empty", what) end
            result = {service = {argv = o.argv}}
            common = o
        end
        for _, p in ipairs(result.packages or {}) do
            if excluded[p] then fail(excluded[p], 'system: exclude: service "%s" needs package "%s"', e.name, p) end
            add_unique(out.packages, seen_pkg, p)
        end
        for _, p in ipairs(result.exclude or {}) do soft_excluded[p] = true end
        for _, glob in ipairs(result.remove or {}) do out.prune.remove[#out.prune.remove + 1] = glob end
        for _, u in ipairs(result.users or {}) do users_lib.add_system_user(db, u) end
        for _, f in ipairs(result.files or {}) do put(f) end
        for k, v in pairs(result.sections or {}) do manifest[k] = v end
        local entry = result.service
        entry.name = e.name
        for k, v in pairs(common) do
            if k == "depends" then
                local deps, seen = {}, {}
                for _, d in ipairs(entry.depends or {}) do add_unique(deps, seen, d) end
                for _, d in ipairs(v) do add_unique(deps, seen, d) end
                entry.depends = deps
            elseif k ~= "argv" then
                entry[k] = v
            end
        end
        for _, key in ipairs({"user", "group"}) do
            local name = entry[key]
            local known = key == "group" and db.group or db.user
            if name and not known[name] then
                fail(locate(w, key), '%s: unknown %s "%s"%s', what, key, name,
                     check.suggest(name, users_lib.names(key == "group" and db.groups or db.users)))
            end
        end
        services[#services + 1] = {entry = entry, where = w}
        for _, extra in ipairs(result.extra or {}) do services[#services + 1] = {entry = extra, where = w} end
    end
    for _, e in ipairs(entries) do expand(e) end
    for _, f in ipairs(users_lib.files(db)) do put(f) end

    -- The catalog asks for Debian's busybox (linked against the libc the image has
    -- anyway); a system that names busybox-static gets that one instead (they conflict).
    if seen_pkg["busybox-static"] and seen_pkg["busybox"] and not named_pkg["busybox"] then
        for i, p in ipairs(out.packages) do
            if p == "busybox" then table.remove(out.packages, i); break end
        end
        seen_pkg["busybox"] = nil
    end
    out.exclude = {}
    for name in pairs(excluded) do out.exclude[#out.exclude + 1] = name end
    for name in pairs(soft_excluded) do
        if not excluded[name] and not seen_pkg[name] then out.exclude[#out.exclude + 1] = name end
    end
    table.sort(out.exclude)
    out.busybox_links = def.busybox_links ~= false
    if def.buttons then manifest.dev.buttons = buttons_section(def.buttons, def.where) end

    -- Dependencies: on services of this system, without cycles.
    local index = {}
    for _, s in ipairs(services) do index[s.entry.name] = s end
    local names = check.sorted_keys(index)
    for _, s in ipairs(services) do
        for _, d in ipairs(s.entry.depends or {}) do
            if not index[d] then
                fail(locate(s.where, d, true), 'service "%s" depends on "%s", which is not in this system%s',
                     s.entry.name, d, check.suggest(d, names))
            end
        end
    end
    local state = {}
    local function visit(s, path)
        local name = s.entry.name
        if state[name] == "done" then return end
        if state[name] == "active" then
            local from
            for i, n in ipairs(path) do if n == name then from = i end end
            local cycle = {table.unpack(path, from)}
            cycle[#cycle + 1] = name
            fail(s.where, "dependency cycle: %s", table.concat(cycle, " -> "))
        end
        state[name] = "active"
        path[#path + 1] = name
        for _, d in ipairs(s.entry.depends or {}) do visit(index[d], path) end
        path[#path] = nil
        state[name] = "done"
    end
    for _, name in ipairs(names) do visit(index[name], {}) end

    table.sort(services, function(a, b) return a.entry.name < b.entry.name end)
    manifest.services = {}
    for _, s in ipairs(services) do manifest.services[#manifest.services + 1] = s.entry end

    -- /etc: host identity, name resolution, time zone, file systems.
    put({path = "/etc/hostname", data = manifest.hostname .. "\n", mode = 420})
    put({path = "/etc/hosts", mode = 420, data = string.format(
        "127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n", manifest.hostname)})
    local dns = context.network and context.network.dns
    if dns then
        local lines = {}
        for _, s in ipairs(dns.servers or {}) do lines[#lines + 1] = "nameserver " .. s end
        if dns.search and #dns.search > 0 then lines[#lines + 1] = "search " .. table.concat(dns.search, " ") end
        put({path = "/etc/resolv.conf", data = table.concat(lines, "\n") .. "\n", mode = 420})
    end
    if def.timezone then
        local tz, w = def.timezone, locate(def.where, "timezone")
        if not tz:match("^[%w_+-]+[%w_/+-]*$") or tz:find("%.%.") then fail(w, "system: invalid timezone %q", tz) end
        local zone = "/usr/share/zoneinfo/" .. tz
        if not host.exists(zone) then fail(w, 'system: unknown timezone "%s" (no %s on this host)', tz, zone) end
        out.host_files[#out.host_files + 1] = {source = zone, dest = "/etc/localtime"}
        put({path = "/etc/timezone", data = tz .. "\n", mode = 420})
    end
    if def.filesystems then
        local lines = {}
        for i, fs in ipairs(def.filesystems) do
            local w = locate(def.where, "filesystems")
            local o = check.options(w, "filesystems[" .. i .. "]", fs, {
                device = "string", mount = "string", type = "string", options = "string|strings",
                dump = "integer", pass = "integer"})
            if not (o.device and o.mount and o.type) then
                fail(w, "system: filesystems[%d] needs device, mount and type", i)
            end
            local opts = type(o.options) == "table" and table.concat(o.options, ",") or o.options or "defaults"
            lines[#lines + 1] = table.concat({o.device, o.mount, o.type, opts, o.dump or 0, o.pass or 0}, "\t")
            put({path = o.mount, dir = true, mode = 493})
        end
        put({path = "/etc/fstab", data = table.concat(lines, "\n") .. "\n", mode = 420})
    end

    -- Files the definition names itself.
    for _, path in ipairs(check.sorted_keys(def.files or {})) do
        local v, w = def.files[path], locate(def.where, path, true)
        if not path:match("^/") then fail(w, "system: files: %q is not an absolute path", path) end
        if check.kind(v) == "host" then
            out.host_files[#out.host_files + 1] = {source = v.source, dest = path}
        else
            local spec = type(v) == "table" and check.kind(v) == "table" and v or {content = v}
            local o = check.options(w, "files[\"" .. path .. "\"]", spec,
                                    {content = "string|file", mode = "integer", owner = "string", group = "string"})
            local owner = o.owner and (db.user[o.owner] or fail(w, 'files: unknown user "%s"', o.owner))
            local grp = o.group and (db.group[o.group] or fail(w, 'files: unknown group "%s"', o.group))
            if o.content == nil then fail(w, "files[%q]: content is required", path) end
            put({path = path, data = content_of(o.content), mode = o.mode or 420,
                 uid = owner and owner.uid or 0, gid = grp and grp.gid or (owner and owner.gid) or 0})
        end
    end

    -- Debian's busybox packages ship one binary and no applet links; keel net's
    -- udhcpc hook and ssh sessions need /bin/sh (keel build adds the other applets).
    if seen_pkg["busybox"] or seen_pkg["busybox-static"] then put({path = "/usr/bin/sh", link = "busybox"}) end

    local kernel = def.kernel and check.options(locate(def.where, "kernel"), "kernel", def.kernel, {modules = "strings"})
    local seen_mod = {}
    for _, m in ipairs(kernel and kernel.modules or {}) do add_unique(out.kernel_modules, seen_mod, m) end

    table.sort(out.packages)
    out.manifest = manifest
    out.hostname = manifest.hostname
    return out
end

-- Evaluates the definition `rel` (relative to its directory).
return function(rel)
    local value = imported_load(rel)
    if check.kind(value) ~= "system" then
        error(string.format("%s: the definition must return system { ... }, not %s", rel, check.describe(value)), 0)
    end
    return build(value)
end
