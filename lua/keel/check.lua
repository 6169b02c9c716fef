-- Errors that point at the user's mistake: the definition's file:line (the line
-- of the offending key when the source shows it), the expected type, and a
-- "did you mean" from the names that were possible.
local M = {}

local sources = {}  -- user chunk name ("system.lua") -> its source text

function M.add_source(name, text) sources[name] = text end

function M.at(where) return where.file .. ":" .. where.line end

function M.fail(where, fmt, ...)
    error(M.at(where) .. ": " .. string.format(fmt, ...), 0)
end

local function escape(s) return (s:gsub("%p", "%%%0")) end

-- The first line at or after `where` that holds `key =` (or ["key"] =; with
-- `quoted`, the string "key"): table constructors keep no line per field, the
-- source text does.
function M.locate(where, key, quoted)
    local text = sources[where.file]
    if not text or type(key) ~= "string" then return where end
    local patterns
    if quoted then
        patterns = {'"' .. escape(key) .. '"', "'" .. escape(key) .. "'"}
    else
        patterns = {"%f[%w_]" .. escape(key) .. "%s*=%f[^=]",
                    "%[%s*[\"']" .. escape(key) .. "[\"']%s*%]%s*="}
    end
    local n = 0
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do
        n = n + 1
        if n >= where.line then
            for _, p in ipairs(patterns) do
                if line:find(p) then return {file = where.file, line = n} end
            end
        end
    end
    return where
end

-- Optimal string alignment distance (a swap of neighbours counts once).
function M.distance(a, b)
    local d = {}
    for i = 0, #a do d[i] = {[0] = i} end
    for j = 0, #b do d[0][j] = j end
    for i = 1, #a do
        for j = 1, #b do
            local cost = a:byte(i) == b:byte(j) and 0 or 1
            local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
                v = math.min(v, d[i - 2][j - 2] + 1)
            end
            d[i][j] = v
        end
    end
    return d[#a][#b]
end

-- ' (did you mean "x"?)' for the closest candidate, or "".
function M.suggest(name, candidates)
    local best, best_d
    local limit = math.max(1, math.min(3, #name // 3))
    for _, c in ipairs(candidates) do
        local dist = M.distance(name:lower(), c:lower())
        if dist <= limit and (not best_d or dist < best_d or (dist == best_d and c < best)) then
            best, best_d = c, dist
        end
    end
    return best and string.format(' (did you mean "%s"?)', best) or ""
end

function M.sorted_keys(t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b)
        if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
        return type(a) < type(b)
    end)
    return keys
end

-- "string", "integer", "number", "boolean", "function", "nil", "table", or a DSL
-- object's kind ("file", "host", "service", "user", "group", "rule", "system").
function M.kind(v)
    local t = type(v)
    if t == "number" then return math.type(v) == "integer" and "integer" or "number" end
    if t == "table" then
        local mt = getmetatable(v)
        if type(mt) == "table" and mt.__kind then return mt.__kind end
    end
    return t
end

local function is_list(v, element)
    if type(v) ~= "table" or M.kind(v) ~= "table" then return false end
    local n = 0
    for k, x in pairs(v) do
        n = n + 1
        if math.type(k) ~= "integer" or (element and not element(x)) then return false end
    end
    return n == #v
end

local kinds = {
    strings = function(v) return is_list(v, function(x) return type(x) == "string" end) end,
    list = function(v) return is_list(v) end,
    map = function(v)  -- string keys
        if M.kind(v) ~= "table" then return false end
        for k in pairs(v) do if type(k) ~= "string" then return false end end
        return true
    end,
    number = function(v) return type(v) == "number" end,
    any = function() return true end,
}

local names = {
    string = "a string", integer = "an integer", number = "a number", boolean = "true or false",
    table = "a table", strings = "a list of strings", list = "a list", map = "a table of name = value",
    file = 'file "..."', host = 'host "..."', service = 'service "..."', user = "user { ... }",
    group = "group { ... }", rule = "rule { ... }", ["function"] = "a function",
}

function M.describe(v)
    local k = M.kind(v)
    if k == "string" then return string.format("the string %q", v) end
    if k == "integer" or k == "number" or k == "boolean" then return k .. " " .. tostring(v) end
    return names[k] or k
end

-- Does `v` fit the type spec ("string", "strings|string", "file", ...)?
function M.fits(v, spec)
    for alt in spec:gmatch("[^|]+") do
        local test = kinds[alt]
        if (test and test(v)) or (not test and M.kind(v) == alt) then return true end
    end
    return false
end

function M.expected(spec)
    local parts = {}
    for alt in spec:gmatch("[^|]+") do parts[#parts + 1] = names[alt] or alt end
    return table.concat(parts, " or ")
end

-- Checks a table of options against `schema` (key -> type spec, or {spec,
-- default}) and returns a copy with defaults filled in. `what` names the thing in
-- messages ("system", 'service "ssh"').
function M.options(where, what, t, schema)
    if M.kind(t) ~= "table" then
        M.fail(where, "%s: expected a table of options, got %s", what, M.describe(t))
    end
    local allowed = M.sorted_keys(schema)
    local out = {}
    for _, k in ipairs(M.sorted_keys(t)) do
        local v = t[k]
        if type(k) ~= "string" then
            M.fail(where, "%s: unexpected %s in the options (they are written name = value)", what,
                   M.describe(v))
        end
        local spec = schema[k]
        if spec == nil then
            M.fail(M.locate(where, k), 'unknown key "%s" in %s%s', k, what, M.suggest(k, allowed))
        end
        local ty = type(spec) == "table" and spec[1] or spec
        if not M.fits(v, ty) then
            M.fail(M.locate(where, k), "%s: %s must be %s, not %s", what, k, M.expected(ty), M.describe(v))
        end
        out[k] = v
    end
    for k, spec in pairs(schema) do
        if out[k] == nil and type(spec) == "table" then out[k] = spec[2] end
    end
    return out
end

return M
