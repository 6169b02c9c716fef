-- Users and groups: ids allocated deterministically (declared ids first, then
-- 1000 upwards in declaration order), and the files they become: passwd, group,
-- shadow, home directories and ~/.ssh/authorized_keys.
local check = require "keel.check"

local M = {}

-- Present in every system (Debian's numbers where Debian has them).
local base_groups = {
    {"root", 0}, {"daemon", 1}, {"bin", 2}, {"sys", 3}, {"adm", 4}, {"tty", 5}, {"disk", 6},
    {"lp", 7}, {"mail", 8}, {"kmem", 9}, {"wheel", 10}, {"dialout", 20}, {"cdrom", 24},
    {"floppy", 25}, {"audio", 29}, {"www-data", 33}, {"video", 44}, {"plugdev", 46},
    {"staff", 50}, {"users", 100}, {"input", 101}, {"nogroup", 65534},
}
local base_users = {
    {name = "root", uid = 0, gid = 0, home = "/root", shell = "/bin/sh", gecos = "root"},
    {name = "www-data", uid = 33, gid = 33, home = "/var/www", shell = "/usr/sbin/nologin",
     gecos = "www-data", system = true},
    {name = "nobody", uid = 65534, gid = 65534, home = "/nonexistent", shell = "/usr/sbin/nologin",
     gecos = "nobody", system = true},
}

local function valid_name(name)
    return #name <= 32 and name:match("^[a-z_][a-z0-9_-]*%$?$") ~= nil
end

-- users, groups: the user{} and group{} objects of the definition.
-- Returns {users = {...}, groups = {...}, user = name -> u, group = name -> g}.
function M.resolve(users, groups)
    local db = {users = {}, groups = {}, user = {}, group = {}}
    local used_uid, used_gid = {}, {}
    local function add_group(g)
        db.groups[#db.groups + 1] = g
        db.group[g.name] = g
        if g.gid then used_gid[g.gid] = g end
    end
    for _, b in ipairs(base_groups) do add_group({name = b[1], gid = b[2], members = {}}) end
    for _, b in ipairs(base_users) do
        local u = {}
        for k, v in pairs(b) do u[k] = v end
        u.groups, u.ssh_keys = {}, {}
        db.users[#db.users + 1] = u
        db.user[u.name] = u
        used_uid[u.uid] = u
    end

    local function next_free(used, from)
        local id = from
        while used[id] do id = id + 1 end
        return id
    end

    -- Groups first: users name them.
    for _, g in ipairs(groups) do
        if not valid_name(g.name) then check.fail(g.where, "invalid group name %q", g.name) end
        local prev = db.group[g.name]
        if prev and prev.where then
            check.fail(g.where, 'duplicate group "%s" (first declared at %s)', g.name, check.at(prev.where))
        end
        if g.gid and used_gid[g.gid] and used_gid[g.gid] ~= prev then
            check.fail(check.locate(g.where, "gid"), 'group "%s": gid %d is taken by group "%s"', g.name,
                       g.gid, used_gid[g.gid].name)
        end
        if prev then  -- a base group re-declared: its members and gid
            prev.where, prev.members = g.where, g.members or {}
            if g.gid then used_gid[prev.gid], prev.gid = nil, g.gid; used_gid[g.gid] = prev end
        else
            add_group({name = g.name, gid = g.gid, members = g.members or {}, where = g.where})
        end
    end
    for _, g in ipairs(db.groups) do
        if not g.gid then g.gid = next_free(used_gid, 1000); used_gid[g.gid] = g end
    end

    for _, spec in ipairs(users) do
        local where = spec.where
        if not valid_name(spec.name) then check.fail(where, "invalid user name %q", spec.name) end
        local u = db.user[spec.name]
        if u and u.where then
            check.fail(where, 'duplicate user "%s" (first declared at %s)', spec.name, check.at(u.where))
        end
        if u and u.name ~= "root" then
            check.fail(where, 'user "%s" is a system user and cannot be declared', spec.name)
        end
        if spec.uid and used_uid[spec.uid] and used_uid[spec.uid] ~= u then
            check.fail(check.locate(where, "uid"), 'user "%s": uid %d is taken by user "%s"', spec.name,
                       spec.uid, used_uid[spec.uid].name)
        end
        if not u then
            u = {name = spec.name, uid = spec.uid, home = spec.home or "/home/" .. spec.name}
            db.users[#db.users + 1] = u
            db.user[u.name] = u
        end
        u.where = where
        u.shell = spec.shell or u.shell or "/bin/sh"
        u.home = spec.home or u.home
        u.gecos = spec.gecos or u.gecos or ""
        u.password = spec.password
        u.ssh_keys = spec.ssh_keys or {}
        u.groups = spec.groups or {}
        u.primary = spec.group
        if u.uid then used_uid[u.uid] = u end
    end
    for _, u in ipairs(db.users) do
        if not u.uid then u.uid = next_free(used_uid, 1000); used_uid[u.uid] = u end
    end
    -- Primary groups: the one named, else a group of the user's own name.
    for _, u in ipairs(db.users) do
        if u.gid == nil then
            if u.primary then
                local g = db.group[u.primary]
                if not g then
                    check.fail(check.locate(u.where, "group"), 'user "%s": unknown group "%s"%s', u.name,
                               u.primary, check.suggest(u.primary, M.names(db.groups)))
                end
                u.gid = g.gid
            elseif db.group[u.name] then
                u.gid = db.group[u.name].gid
            else
                local gid = used_gid[u.uid] and next_free(used_gid, 1000) or u.uid
                add_group({name = u.name, gid = gid, members = {}})
                u.gid = gid
            end
        end
        for _, name in ipairs(u.groups) do
            local g = db.group[name]
            if not g then
                check.fail(check.locate(u.where, name, true), 'user "%s": unknown group "%s"%s', u.name, name,
                           check.suggest(name, M.names(db.groups)))
            end
            g.members[#g.members + 1] = u.name
        end
    end
    for _, g in ipairs(db.groups) do
        for _, m in ipairs(g.members) do
            if not db.user[m] then
                check.fail(g.where, 'group "%s": unknown member "%s"%s', g.name, m,
                           check.suggest(m, M.names(db.users)))
            end
        end
    end
    table.sort(db.users, function(a, b) return a.uid < b.uid end)
    table.sort(db.groups, function(a, b) return a.gid < b.gid end)
    return db
end

-- A system user a catalog entry needs (what `adduser --system --group` does in a
-- package's postinst): a group of its own name, uid and gid the first free from 100
-- (Debian's system range), no login, no home directory made. A user or group the
-- definition declared under that name is kept as it is.
function M.add_system_user(db, spec)
    if db.user[spec.name] then return db.user[spec.name] end
    local function taken(list, key, id)
        for _, x in ipairs(list) do if x[key] == id then return true end end
        return false
    end
    local g = db.group[spec.name]
    local id = 100
    while taken(db.users, "uid", id) or (not g and taken(db.groups, "gid", id)) do id = id + 1 end
    if not g then
        g = {name = spec.name, gid = id, members = {}}
        db.groups[#db.groups + 1] = g
        db.group[g.name] = g
        table.sort(db.groups, function(a, b) return a.gid < b.gid end)
    end
    local u = {name = spec.name, uid = id, gid = g.gid, home = spec.home or "/nonexistent",
               shell = "/usr/sbin/nologin", gecos = spec.gecos or spec.name, system = true,
               groups = {}, ssh_keys = {}}
    db.users[#db.users + 1] = u
    db.user[u.name] = u
    table.sort(db.users, function(a, b) return a.uid < b.uid end)
    return u
end

function M.names(list)
    local out = {}
    for _, x in ipairs(list) do out[#out + 1] = x.name end
    table.sort(out)
    return out
end

local function unique_sorted(list)
    local seen, out = {}, {}
    for _, x in ipairs(list) do
        if not seen[x] then seen[x] = true; out[#out + 1] = x end
    end
    table.sort(out)
    return out
end

-- The files of the user database, as {path, data, mode, uid, gid} / dirs.
function M.files(db)
    local passwd, group, shadow = {}, {}, {}
    for _, u in ipairs(db.users) do
        passwd[#passwd + 1] = string.format("%s:x:%d:%d:%s:%s:%s\n", u.name, u.uid, u.gid, u.gecos,
                                            u.home, u.shell)
        -- "*": no password can match, yet the account is not locked ("!"), which
        -- would make dropbear refuse key logins too.
        shadow[#shadow + 1] = string.format("%s:%s::0:99999:7:::\n", u.name, u.password or "*")
    end
    for _, g in ipairs(db.groups) do
        group[#group + 1] = string.format("%s:x:%d:%s\n", g.name, g.gid,
                                          table.concat(unique_sorted(g.members), ","))
    end
    local files = {
        {path = "/etc/passwd", data = table.concat(passwd), mode = 420},
        {path = "/etc/group", data = table.concat(group), mode = 420},
        {path = "/etc/shadow", data = table.concat(shadow), mode = 384},
        {path = "/etc/shells", data = "/bin/sh\n/usr/bin/sh\n", mode = 420},
    }
    for _, u in ipairs(db.users) do
        if not u.system and u.home ~= "/nonexistent" then
            files[#files + 1] = {path = u.home, dir = true, mode = 448, uid = u.uid, gid = u.gid}
            if #u.ssh_keys > 0 then
                files[#files + 1] = {path = u.home .. "/.ssh", dir = true, mode = 448, uid = u.uid, gid = u.gid}
                files[#files + 1] = {path = u.home .. "/.ssh/authorized_keys", mode = 384, uid = u.uid,
                                     gid = u.gid, data = table.concat(u.ssh_keys, "\n") .. "\n"}
            end
        end
    end
    return files
end

return M
