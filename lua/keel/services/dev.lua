-- keel dev: devices, coldplug, module loading and the definition's device
-- rules (always present). Options become the manifest's "dev" section.
return function(_, sys)
    local o = sys.options({default_links = "boolean", blacklist = "strings", module_options = "map",
                           load_modules = "boolean", firmware = "boolean"})
    local section = {}
    if #sys.rules > 0 then section.rules = sys.rules end
    section.default_links = o.default_links
    if o.blacklist or o.module_options or o.load_modules ~= nil then
        section.modules = {blacklist = o.blacklist, options = o.module_options, load = o.load_modules}
    end
    if o.firmware ~= nil then section.firmware = {enabled = o.firmware} end
    return {
        service = {argv = {"keel", "dev", "--ready-fd", "3"}, readiness = "notify"},
        sections = {dev = section},
    }
end
