-- keel luad: the fork server keel-run scripts start through. Options become the
-- manifest's "lua" section.
return function(_, sys)
    local o = sys.options({socket = "string", socket_mode = "string", max_children = "integer",
                           max_pending = "integer", request_timeout = "number",
                           max_request = "integer", preload = "strings", limits = "map"})
    return {
        service = {argv = {"keel", "luad", "--ready-fd", "3"}, readiness = "notify"},
        sections = {lua = o},
    }
end
