#include "init/supervisor/supervisor.h"

#include <ctime>
#include <map>

#include "base/log.h"
#include "init/supervisor/proc_info.h"

namespace keel::init {

using nlohmann::json;

Supervisor::Supervisor(loop::EventLoop& loop, SupervisorOptions options,
                       SupervisorListener* listener)
    : loop_(loop), opts_(std::move(options)), listener_(listener) {
    ctx_.reset(new ServiceContext{loop_, opts_.base_env, opts_.cgroups, opts_.log_dir, listener_,
                                  [this] { evaluate(); }});
}

Supervisor::~Supervisor() {
    *alive_ = false;
    services_.clear();
}

void Supervisor::load(std::vector<ServiceSpec> specs) {
    // The first service (the bus) goes to the front when nothing it needs is later.
    for (size_t i = 0; i < specs.size(); ++i)
        if (specs[i].name == opts_.first_service && specs[i].depends.empty()) {
            std::rotate(specs.begin(), specs.begin() + static_cast<long>(i),
                        specs.begin() + static_cast<long>(i) + 1);
            break;
        }
    std::map<std::string, size_t> index;
    for (auto& spec : specs) {
        index[spec.name] = services_.size();
        services_.push_back(std::make_unique<Service>(*ctx_, std::move(spec)));
    }
    for (const auto& s : services_) {
        std::vector<size_t> d;
        for (const auto& name : s->spec().depends)
            d.push_back(index.at(name));
        deps_.push_back(std::move(d));
    }
    wanted_.assign(services_.size(), false);
    restart_pending_.assign(services_.size(), false);
}

void Supervisor::run() {
    wanted_.assign(services_.size(), true);
    evaluate();
}

Service* Supervisor::find_mut(const std::string& name) {
    for (auto& s : services_)
        if (s->name() == name) return s.get();
    return nullptr;
}

const Service* Supervisor::find(const std::string& name) const {
    for (const auto& s : services_)
        if (s->name() == name) return s.get();
    return nullptr;
}

std::vector<Service*> Supervisor::dependents_of(const Service& s) const {
    std::vector<Service*> out;
    for (size_t i = 0; i < services_.size(); ++i)
        for (size_t d : deps_[i])
            if (services_[d].get() == &s) out.push_back(services_[i].get());
    return out;
}

void Supervisor::evaluate() {
    // Inputs can arrive while evaluating (a oneshot stops at once): loop instead of recursing.
    if (evaluating_) {
        again_ = true;
        return;
    }
    evaluating_ = true;
    do {
        again_ = false;
        evaluate_now();
    } while (again_);
    evaluating_ = false;
}

void Supervisor::evaluate_now() {
    const size_t n = services_.size();
    size_t first = n;
    bool others_idle = true;
    for (size_t i = 0; i < n; ++i) {
        if (services_[i]->name() == opts_.first_service)
            first = i;
        else if (services_[i]->active())
            others_idle = false;
    }

    if (shutting_down_ && others_idle && last_stop_ == LastStop::kNotYet) {
        last_stop_ = LastStop::kAsked;
        if (opts_.before_last_stop) {
            std::weak_ptr<bool> alive = alive_;
            opts_.before_last_stop([this, alive] {
                if (alive.expired()) return;
                last_stop_ = LastStop::kGo;
                evaluate();
            });
        } else {
            last_stop_ = LastStop::kGo;
        }
    }
    // The first service stops last, once the others are down and the hook said go.
    bool keep_first = !others_idle || last_stop_ != LastStop::kGo;

    // should_run: wanted, facts hold, not restarting, and so for every dependency.
    // must_stop: should not run, or a dependency is not ready or must stop itself.
    std::vector<bool> should(n), must_stop(n);
    for (size_t i = 0; i < n; ++i) {
        Service& s = *services_[i];
        bool run = wanted_[i] && !restart_pending_[i] && s.facts().all_hold() &&
                   (!shutting_down_ || (i == first && keep_first));
        bool stop = !run;
        for (size_t d : deps_[i]) {
            run = run && should[d];
            stop = stop || !should[d] || must_stop[d] || !services_[d]->ready();
        }
        should[i] = run;
        must_stop[i] = stop;
    }

    // Stops, dependents first: a service goes down once nothing that needs it is up.
    for (size_t k = n; k-- > 0;) {
        Service& s = *services_[k];
        if (!must_stop[k]) continue;
        if (s.state() == State::kBackoff) {
            s.input(Input::kStop);
            continue;
        }
        if (s.state() != State::kStarting && s.state() != State::kReady) continue;
        bool dependents_down = true;
        for (Service* d : dependents_of(s))
            dependents_down = dependents_down && !d->active();
        if (dependents_down) s.input(Input::kStop);
    }
    for (size_t i = 0; i < n; ++i) {
        if (restart_pending_[i] && !services_[i]->active() &&
            services_[i]->state() != State::kBackoff) {
            restart_pending_[i] = false;
            again_ = true;
        }
    }

    // Starts, in dependency order.
    for (size_t i = 0; i < n; ++i) {
        Service& s = *services_[i];
        if (s.state() != State::kDown || !should[i] || must_stop[i] || shutting_down_) continue;
        s.input(Input::kStart);
    }

    // Settled: ready, or failed, or not going to run (not wanted, a fact missing, or
    // blocked behind something that will not run).
    bool settled = true, idle = true;
    std::vector<bool> hopeless(n);
    for (size_t i = 0; i < n; ++i) {
        const Service& s = *services_[i];
        bool h = s.state() == State::kFailed || (s.state() == State::kDown && !should[i]);
        for (size_t d : deps_[i])
            h = h || hopeless[d];
        hopeless[i] = h && !s.active();
        settled = settled && (s.ready() || hopeless[i]);
        idle = idle && !s.active() && s.state() != State::kBackoff;
    }
    if (settled && !announced_ready_ && !shutting_down_) {
        announced_ready_ = true;
        if (listener_) listener_->on_system_ready();
    }
    if (shutting_down_ && idle && shutdown_done_) {
        auto done = std::move(shutdown_done_);
        shutdown_done_ = nullptr;
        // After this batch: `done` may tear the supervisor down.
        std::weak_ptr<bool> alive = alive_;
        loop_.defer([done = std::move(done), alive] {
            if (!alive.expired()) done();
        });
    }
}

Status Supervisor::start_service(const std::string& name) {
    Service* s = find_mut(name);
    if (!s) return Error("no service '" + name + "'");
    if (shutting_down_) return Error("shutting down");
    for (size_t i = 0; i < services_.size(); ++i)
        if (services_[i].get() == s) wanted_[i] = true;
    s->reset();
    evaluate();
    return {};
}

Status Supervisor::stop_service(const std::string& name) {
    Service* s = find_mut(name);
    if (!s) return Error("no service '" + name + "'");
    for (size_t i = 0; i < services_.size(); ++i)
        if (services_[i].get() == s) wanted_[i] = false;
    evaluate();
    return {};
}

Status Supervisor::restart_service(const std::string& name) {
    Service* s = find_mut(name);
    if (!s) return Error("no service '" + name + "'");
    if (shutting_down_) return Error("shutting down");
    for (size_t i = 0; i < services_.size(); ++i)
        if (services_[i].get() == s) {
            wanted_[i] = true;
            if (s->active() || s->state() == State::kBackoff) restart_pending_[i] = true;
        }
    s->reset();
    evaluate();
    return {};
}

void Supervisor::shutdown(std::function<void()> done) {
    shutting_down_ = true;
    shutdown_done_ = std::move(done);
    evaluate();
}

bool Supervisor::child_exited(pid_t pid, int wait_status) {
    for (auto& s : services_)
        if (s->pid() == pid) {
            s->exited(wait_status);
            return true;
        }
    return false;
}

void Supervisor::on_bus_message(std::string_view subject, std::string_view payload) {
    bool changed = false;
    for (auto& s : services_) {
        changed = s->facts().on_message(subject, payload) || changed;
        if (s->spec().readiness.kind == Readiness::Kind::kBus &&
            s->spec().readiness.target == subject)
            s->bus_ready_message();
    }
    if (changed) evaluate();
}

std::vector<std::string> Supervisor::watched_subjects() const {
    std::vector<std::string> out;
    auto add = [&](const std::string& s) {
        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    };
    for (const auto& s : services_) {
        for (const auto& f : s->spec().wants_facts) {
            add(f.on);
            add(f.off);
        }
        if (s->spec().readiness.kind == Readiness::Kind::kBus) add(s->spec().readiness.target);
    }
    return out;
}

namespace {

const char* state_label(const Service& s, bool wanted) {
    if (s.state() == State::kReady && s.spec().type == ServiceType::kOneshot) return "done";
    if (s.state() == State::kDown && wanted) return "waiting";
    return to_string(s.state());
}

}  // namespace

json Supervisor::status_json(const std::string& only) const {
    json list = json::array();
    auto now = loop_.now();
    for (size_t i = 0; i < services_.size(); ++i) {
        const Service& s = *services_[i];
        if (!only.empty() && s.name() != only) continue;
        json j = {{"name", s.name()},
                  {"type", s.spec().type == ServiceType::kOneshot ? "oneshot" : "longrun"},
                  {"state", state_label(s, wanted_[i] && !shutting_down_)},
                  {"wanted", bool(wanted_[i])},
                  {"pid", s.pid() > 0 ? json(s.pid()) : json(nullptr)},
                  {"uptime", s.pid() > 0
                                 ? json(std::chrono::duration<double>(now - s.started_at()).count())
                                 : json(nullptr)},
                  {"since", s.since()},
                  {"restarts", s.restarts()}};
        if (const auto& e = s.last_exit())
            j["last_exit"] = {{"exit_code", e->code ? json(*e->code) : json(nullptr)},
                              {"signal", e->signal}};
        else
            j["last_exit"] = nullptr;
        if (!s.reason().empty()) j["reason"] = s.reason();
        json waiting = json::array();
        if (s.state() == State::kDown && wanted_[i]) {
            for (size_t d : deps_[i])
                if (!services_[d]->ready()) waiting.push_back(services_[d]->name());
            for (size_t f = 0; f < s.spec().wants_facts.size(); ++f)
                if (!services_[i]->facts().holds(f))
                    waiting.push_back("fact " + s.spec().wants_facts[f].on);
        }
        if (!waiting.empty()) j["waiting_for"] = waiting;
        list.push_back(std::move(j));
    }
    return {
        {"services", list}, {"system_ready", announced_ready_}, {"shutting_down", shutting_down_}};
}

Result<json> Supervisor::ps_json(const std::string& name) const {
    const Service* s = find(name);
    if (!s) return Error("no service '" + name + "'");
    json j = {{"name", name}, {"state", to_string(s->state())}, {"restarts", s->restarts()}};
    if (s->pid() <= 0) {
        j.update({{"pid", nullptr},
                  {"uptime", nullptr},
                  {"rss_bytes", 0},
                  {"cpu_seconds", 0},
                  {"children", json::array()}});
        return j;
    }
    j["pid"] = s->pid();
    j["uptime"] = std::chrono::duration<double>(loop_.refresh_now() - s->started_at()).count();
    auto info = read_proc_info(s->pid());
    j["rss_bytes"] = info ? info->rss_bytes : 0;
    j["cpu_seconds"] = info ? info->cpu_seconds : 0.0;
    j["children"] = info ? json(info->children) : json::array();
    return j;
}

Result<json> Supervisor::logs_json(const std::string& name, size_t max_lines) const {
    const Service* s = find(name);
    if (!s) return Error("no service '" + name + "'");
    json lines = json::array();
    uint64_t next = 1, dropped = 0;
    if (const LogRing* ring = s->log()) {
        const auto& all = ring->lines();
        size_t skip = all.size() > max_lines ? all.size() - max_lines : 0;
        for (size_t i = skip; i < all.size(); ++i)
            lines.push_back({{"seq", all[i].seq}, {"time", all[i].time}, {"line", all[i].text}});
        next = ring->next_seq();
        dropped = ring->dropped();
    }
    return json{{"name", name}, {"lines", lines}, {"next_seq", next}, {"dropped", dropped}};
}

}  // namespace keel::init
