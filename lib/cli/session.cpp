// Transactions: a line or a whole script is parsed first, then applied to a
// candidate configuration, then committed (compiled, validated, published)
// once. Any error before the commit leaves the running box untouched.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "cli.h"

namespace triage::cli {

namespace {
constexpr unsigned kMaxDepth = 8;
}

std::vector<std::string> read_script(const std::string& path) {
    std::ifstream f(path);
    if (!f) throw CommandError("cannot open script '" + path + "': " + std::strerror(errno));
    std::vector<std::string> lines;
    std::string l;
    while (std::getline(f, l)) lines.push_back(l);
    if (f.bad()) throw CommandError("cannot read script '" + path + "'");
    return lines;
}

Session::Session(Engine& e, Sink out, std::string origin)
    : e_(e), sink_(std::move(out)), origin_(std::move(origin)) {}

policy::Config& Session::candidate() {
    if (!cand_) throw CommandError("internal: no configuration transaction open");
    return *cand_;
}

const policy::Config& Session::view() const { return cand_ ? *cand_ : e_.runtime().config(); }

void Session::flush() {
    std::string s = buf_.str();
    if (!s.empty()) sink_(s);
    buf_.str({});
    buf_.clear();
}

void Session::error(const std::string& msg) {
    ++errors_;
    flush();
    sink_(msg + "\n");
}

void Session::syntax_error(const std::string& msg) { error("error: " + msg); }

bool Session::execute(std::string_view line) {
    std::string err;
    auto b = e_.parse(line, err);
    if (!b) {
        if (!err.empty()) syntax_error(err);
        return err.empty();
    }
    return run_bound(std::move(*b));
}

bool Session::run_bound(Engine::Bound b) {
    if (b.cmd->effect == Effect::include) {
        // `load FILE` typed at a prompt: the file is the transaction.
        return run_file(b.args.str("file"));
    }
    std::vector<Step> steps;
    steps.push_back({std::move(b), ""});
    return apply(steps);
}

bool Session::run_file(const std::string& path) {
    std::vector<std::string> lines;
    try {
        lines = read_script(path);
    } catch (const CommandError& e) {
        error(std::string("error: ") + e.what());
        return false;
    }
    return run_lines(lines, path);
}

bool Session::run_lines(const std::vector<std::string>& lines, const std::string& origin) {
    std::vector<Step> steps;
    tx_origin_ = origin;
    try {
        collect(lines, origin, steps, 0);
    } catch (const CommandError& e) {
        error(std::string(e.what()) + " (nothing from " + origin + " applied)");
        return false;
    }
    return apply(steps);
}

void Session::collect(const std::vector<std::string>& lines, const std::string& origin, std::vector<Step>& steps,
                      unsigned depth) {
    if (depth >= kMaxDepth) throw CommandError(origin + ": scripts nested deeper than " + std::to_string(kMaxDepth));
    for (size_t i = 0; i < lines.size(); ++i) {
        const std::string where = origin + ":" + std::to_string(i + 1);
        std::string err;
        auto b = e_.parse(lines[i], err);
        if (!b) {
            if (!err.empty()) throw CommandError(where + ": " + err);
            continue;
        }
        if (b->cmd->effect == Effect::include) {
            std::vector<std::string> sub;
            try {
                sub = read_script(b->args.str("file"));
            } catch (const CommandError& e) {
                throw CommandError(where + ": " + e.what());
            }
            collect(sub, b->args.str("file"), steps, depth + 1);
            continue;
        }
        steps.push_back({std::move(*b), where});
    }
}

bool Session::apply(std::vector<Step>& steps) {
    const bool edits = std::any_of(steps.begin(), steps.end(),
                                   [](const Step& s) { return s.bound.cmd->effect == Effect::config; });
    auto where_of = [](const Step& s) { return s.where.empty() ? std::string("error") : s.where; };
    const std::string what = steps.size() == 1 && steps[0].where.empty() ? "" : " (nothing applied)";
    if (edits) cand_ = e_.runtime().config();
    std::vector<const Step*> deferred;
    for (const Step& s : steps) {
        if (s.bound.cmd->effect == Effect::action) {
            deferred.push_back(&s);
            continue;
        }
        try {
            s.bound.cmd->run(*this, s.bound.args);
            flush();
        } catch (const std::exception& e) {
            cand_.reset();
            error(where_of(s) + ": " + e.what() + what);
            return false;
        }
    }
    if (edits) {
        try {
            e_.runtime().commit(*cand_);
        } catch (const std::exception& e) {
            cand_.reset();
            // The whole script failed validation: name the script, not a line.
            error((steps.back().where.empty() ? std::string("error") : tx_origin_) + ": " + e.what() + what);
            return false;
        }
        cand_.reset();
    }
    bool ok = true;
    for (const Step* s : deferred) {
        try {
            s->bound.cmd->run(*this, s->bound.args);
            flush();
        } catch (const std::exception& e) {
            error(where_of(*s) + ": " + e.what());
            ok = false;
        }
    }
    return ok;
}

}  // namespace triage::cli
