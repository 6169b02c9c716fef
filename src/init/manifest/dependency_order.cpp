#include "init/manifest/dependency_order.h"

#include <map>
#include <string>

namespace keel::init {

Status order_by_dependencies(std::vector<ServiceSpec>& services) {
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < services.size(); ++i)
        index[services[i].name] = i;
    for (const auto& s : services)
        for (const auto& d : s.depends) {
            if (!index.count(d))
                return Error("service '" + s.name + "' depends on unknown service '" + d + "'");
            if (d == s.name) return Error("service '" + s.name + "' depends on itself");
        }

    // Depth-first search; a node met again while on the stack closes a cycle.
    enum Mark { kNew, kOnStack, kDone };
    std::vector<Mark> mark(services.size(), kNew);
    std::vector<size_t> order, stack;
    std::string cycle;
    auto visit = [&](auto&& self, size_t i) -> bool {
        if (mark[i] == kDone) return true;
        if (mark[i] == kOnStack) {
            size_t from = 0;
            while (stack[from] != i)
                ++from;
            for (size_t k = from; k < stack.size(); ++k)
                cycle += services[stack[k]].name + " -> ";
            cycle += services[i].name;
            return false;
        }
        mark[i] = kOnStack;
        stack.push_back(i);
        for (const auto& d : services[i].depends)
            if (!self(self, index[d])) return false;
        stack.pop_back();
        mark[i] = kDone;
        order.push_back(i);
        return true;
    };
    for (size_t i = 0; i < services.size(); ++i)
        if (!visit(visit, i)) return Error("dependency cycle: " + cycle);

    std::vector<ServiceSpec> sorted;
    sorted.reserve(services.size());
    for (size_t i : order)
        sorted.push_back(std::move(services[i]));
    services = std::move(sorted);
    return {};
}

}  // namespace keel::init
