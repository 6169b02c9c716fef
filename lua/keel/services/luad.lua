-- keel luad: the fork server keel-run scripts start through. Options become the
-- manifest's "lua" section (docs/manifest.md).
return function(_, sys)
    local o = sys.options({socket = "string", socket_mode = "string", max_children = "integer",
                           max_children_per_user = "integer", max_pending = "integer",
                           max_pending_per_user = "integer", request_timeout = "number",
                           max_request = "integer", warm_children = "integer",
                           preload = "strings", allow_binary = "boolean",
                           c_module_dirs = "strings", limits = "map", root_limits = "map"})
    return {
        service = {argv = {"keel", "luad", "--ready-fd", "3"}, readiness = "notify"},
        sections = {lua = o},
    }
end
