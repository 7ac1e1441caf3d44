// The command table compiled into librte_cmdline instances. Literal words and
// choices become cmdline string tokens; typed arguments (prefixes, ports,
// names, ...) become tokens of our own ops, so parsing, completion and the
// error messages share one checker per type. A last catch-all instance
// matches exactly the lines no command matches and reports why.
#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_string.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <deque>
#include <set>

#include "cli.h"
#include "filter.h"

namespace triage::cli {

namespace {

// Every token's result sits in its own slot of the cmdline result buffer.
constexpr unsigned kSlot = 256;
constexpr unsigned kMaxTokens = CMDLINE_PARSE_RESULT_BUFSIZE / kSlot;
constexpr size_t kMaxLine = 500;  // rdline holds 512 bytes per line

struct Kind {
    const char* id;
    const char* display;
    const char* help;
    bool (*check)(Engine::Impl&, std::string_view, std::string&);
    void (*candidates)(Engine::Impl&, std::vector<std::string>&);
};

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

struct Engine::Impl {
    struct Item {
        enum class T { literal, choice, kind } t = T::literal;
        std::string key;                 // empty for plain literals
        std::vector<std::string> words;  // literal / choices
        const Kind* kind = nullptr;
        int group = -1;                  // optional group, -1 = always present
        std::string display() const;
    };
    struct Inst {
        const Command* cmd = nullptr;
        std::vector<const Item*> items;
        cmdline_inst* ci = nullptr;
    };
    struct StrTok {
        cmdline_parse_token_string_t t;
        std::string choices;  // "a#b#c", what t.string_data.str points at
    };
    struct KindTok {
        cmdline_parse_token_hdr_t hdr;
        const Kind* kind;
        Impl* impl;
        std::vector<std::string> cands;  // filled by complete_get_nb
    };
    struct RestTok {
        cmdline_parse_token_hdr_t hdr;
        Impl* impl;
    };

    Runtime* rt = nullptr;
    std::span<const Command> cmds;
    std::deque<std::vector<Item>> items;  // per command
    std::deque<Inst> insts;
    std::deque<std::unique_ptr<StrTok>> str_toks;
    std::deque<std::unique_ptr<KindTok>> kind_toks;
    std::unique_ptr<RestTok> rest_tok;
    cmdline_inst* rest_inst = nullptr;
    std::map<::cmdline*, Session*> sessions;
    // Engine::parse: the private cmdline and where its callbacks report.
    ::cmdline* parse_cl = nullptr;
    int devnull = -1;
    std::optional<Bound>* pending = nullptr;
    std::string* pending_err = nullptr;

    void compile(const Command& c);
    bool word_ok(const Item& it, std::string_view w, std::string& err);
    std::optional<Bound> match(std::string_view line, std::string& err);
    Bound bind(const Inst& in, const char* res) const;
};

namespace {

using Impl = Engine::Impl;

bool check_prefix(Impl&, std::string_view w, std::string& err) {
    policy::Prefix p;
    return classify::parse_prefix(w, p, err);
}

bool check_port(Impl&, std::string_view w, std::string& err) {
    if (w == "all" || w == "outside" || w == "inside") return true;
    unsigned v = 0;
    const auto [ptr, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
    if (ec == std::errc() && ptr == w.data() + w.size() && v < 65536) return true;
    err = quoted(w) + " is not a port: give a port id, outside, inside or all";
    return false;
}

bool check_name(Impl&, std::string_view w, std::string& err) {
    err = policy::check_name("the", w);
    return err.empty();
}

bool check_file(Impl&, std::string_view w, std::string& err) {
    if (w.size() < kSlot) return true;
    err = "file name longer than " + std::to_string(kSlot - 1) + " characters";
    return false;
}

bool check_capfilter(Impl&, std::string_view w, std::string& err) {
    capture::Filter f;
    return capture::parse_filter(w, f, err);
}

bool check_expiry(Impl& im, std::string_view w, std::string& err) {
    policy::Time t;
    return policy::parse_expiry(w, im.rt->now(), t, err);
}

bool check_section(Impl&, std::string_view w, std::string& err) {
    if (w == "all") return true;
    for (const Section& s : sections())
        if (w == s.id) return true;
    err = "no help section " + quoted(w) + " (sections:";
    for (const Section& s : sections()) err += std::string(" ") + s.id;
    err += ", all)";
    return false;
}

bool check_count(Impl&, std::string_view w, std::string& err) {
    unsigned long long v = 0;
    const auto [ptr, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
    if (ec == std::errc() && ptr == w.data() + w.size() && v <= 0xffffffffull) return true;
    err = quoted(w) + " is not a whole number";
    return false;
}

bool check_si(Impl&, std::string_view w, std::string& err) {
    uint64_t v;
    return policy::parse_si(w, v, err);
}

bool check_duration(Impl&, std::string_view w, std::string& err) {
    uint64_t v;
    return policy::parse_duration(w, v, err);
}

bool check_ports(Impl&, std::string_view w, std::string& err) {
    uint16_t lo, hi;
    return policy::parse_port_range(w, lo, hi, false, err);
}

bool check_sigports(Impl&, std::string_view w, std::string& err) {
    uint16_t lo, hi;
    return policy::parse_port_range(w, lo, hi, true, err);
}

// Any name: a script may add a reflector and limit it a few lines later, so
// whether the class exists is the candidate configuration's call.
bool check_class(Impl& im, std::string_view w, std::string& err) { return check_name(im, w, err); }

bool check_secret(Impl&, std::string_view w, std::string& err) {
    if (w == "random") return true;
    if (w.size() == 32 && std::all_of(w.begin(), w.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
        return true;
    err = "a SYN-cookie secret is 'random' or exactly 32 hex digits";
    return false;
}

bool check_pattern(Impl&, std::string_view w, std::string& err) {
    if (w.size() >= 3 && w.front() == '/' && w.find('/', 1) != std::string_view::npos) return true;
    err = quoted(w) + " is not a pattern like /regex/flags (write a space as \\x20 or \\s)";
    return false;
}

void cand_port(Impl&, std::vector<std::string>& out) { out = {"all", "outside", "inside"}; }
void cand_class(Impl& im, std::vector<std::string>& out) {
    for (uint8_t c = 0; c < policy::kFirstReflectorClass; ++c) out.emplace_back(policy::base_class_name(c));
    out.emplace_back(policy::kAllReflectors);
    for (const auto& [n, p] : im.rt->config().reflectors()) out.push_back(n);
}
void cand_reflector(Impl& im, std::vector<std::string>& out) {
    for (const auto& [n, p] : im.rt->config().reflectors()) out.push_back(n);
}
void cand_signature(Impl& im, std::vector<std::string>& out) {
    for (const auto& [id, r] : im.rt->config().signatures()) out.push_back(std::to_string(id));
}
void cand_policy(Impl& im, std::vector<std::string>& out) {
    for (const auto& [n, p] : im.rt->config().policies()) out.push_back(n);
}
void cand_protect(Impl& im, std::vector<std::string>& out) {
    for (const auto& [p, e] : im.rt->config().protect()) out.push_back(e.name);
}
void cand_section(Impl&, std::vector<std::string>& out) {
    for (const Section& s : sections()) out.emplace_back(s.id);
    out.emplace_back("all");
}

const Kind kKinds[] = {
    {"prefix", "PREFIX", "an IPv4 or IPv6 prefix, e.g. 198.51.100.0/24 or 2001:db8:10::/48 (a bare address is a /32 or /128)",
     check_prefix, nullptr},
    {"port", "(N|outside|inside|all)", "a DPDK port id, a port role, or all", check_port, cand_port},
    {"name", "NAME", "a name: a letter, then letters, digits, '_', '-' or '.' (at most 32)", check_name, nullptr},
    {"policy", "POLICY", "the name of a policy", check_name, cand_policy},
    {"protected", "NAME", "the name of a protected prefix", check_name, cand_protect},
    {"file", "FILE", "a file path (no spaces)", check_file, nullptr},
    {"expiry", "(DURATION|TIME)", "how long from now (90s, 15m, 2h, 7d) or until when (UTC, 2026-11-22T06:14:00Z)",
     check_expiry, nullptr},
    {"section", "SECTION", "a help section", check_section, cand_section},
    {"capfilter", "FILTER",
     "capture filter: 'any', or comma-separated terms that must all hold: src=, dst=, host=PREFIX, tcp, udp, icmp, "
     "proto=N, port=N[-M], in, out (e.g. dst=198.51.100.10,tcp,port=443)",
     check_capfilter, nullptr},
    {"count", "N", "a whole number", check_count, nullptr},
    {"signature", "ID", "a signature rule id", check_count, cand_signature},
    {"si", "N", "a number, optionally with k, m or g (x1000): 500, 10k, 2m", check_si, nullptr},
    {"duration", "DURATION", "a duration: 90s, 15m, 2h, 7d", check_duration, nullptr},
    {"ports", "PORTS", "a port or port range: 443, 8000-8080", check_ports, nullptr},
    {"sigports", "PORTS", "a destination port or range, or any", check_sigports, nullptr},
    {"class", "CLASS", "a traffic class: syn, tcp, udp, icmp, fragment, reflection or a reflector name",
     check_class, cand_class},
    {"reflector", "REFLECTOR", "the name of a reflector", check_name, cand_reflector},
    {"secret", "(random|HEX32)", "'random', or 32 hex digits shared by every box behind one ECMP group", check_secret,
     nullptr},
    {"pattern", "/REGEX/FLAGS", "a Hyperscan regex between slashes, flags i s m; no spaces (use \\x20 or \\s)",
     check_pattern, nullptr},
};

const Kind* find_kind(std::string_view id) {
    for (const Kind& k : kKinds)
        if (id == k.id) return &k;
    return nullptr;
}

// --- token ops of our own kinds -------------------------------------------

size_t word_len(const char* buf) {
    size_t n = 0;
    while (!cmdline_isendoftoken(buf[n])) ++n;
    return n;
}

int kind_parse(cmdline_parse_token_hdr_t* hdr, const char* buf, void* res, unsigned ressize) {
    auto* t = reinterpret_cast<Impl::KindTok*>(hdr);
    const size_t n = word_len(buf);
    if (n == 0 || n >= kSlot) return -1;
    std::string err;
    if (!t->kind->check(*t->impl, std::string_view(buf, n), err)) return -1;
    if (res) {
        if (ressize < n + 1) return -1;
        std::memcpy(res, buf, n);
        static_cast<char*>(res)[n] = '\0';
    }
    return static_cast<int>(n);
}

int kind_complete_nb(cmdline_parse_token_hdr_t* hdr) {
    auto* t = reinterpret_cast<Impl::KindTok*>(hdr);
    t->cands.clear();
    if (t->kind->candidates) t->kind->candidates(*t->impl, t->cands);
    return static_cast<int>(t->cands.size());
}

int kind_complete_elt(cmdline_parse_token_hdr_t* hdr, int idx, char* dst, unsigned size) {
    auto* t = reinterpret_cast<Impl::KindTok*>(hdr);
    if (idx < 0 || static_cast<size_t>(idx) >= t->cands.size() || t->cands[idx].size() + 1 > size) return -1;
    std::memcpy(dst, t->cands[idx].c_str(), t->cands[idx].size() + 1);
    return 0;
}

int kind_help(cmdline_parse_token_hdr_t* hdr, char* dst, unsigned size) {
    auto* t = reinterpret_cast<Impl::KindTok*>(hdr);
    std::snprintf(dst, size, "%s: %s", t->kind->display, t->kind->help);
    return 0;
}

cmdline_token_ops kKindOps = {kind_parse, kind_complete_nb, kind_complete_elt, kind_help};

// The catch-all: matches a whole non-blank line that no command matches, so
// its callback can say what is wrong instead of cmdline's "Bad arguments".
int rest_parse(cmdline_parse_token_hdr_t* hdr, const char* buf, void* res, unsigned ressize) {
    auto* t = reinterpret_cast<Impl::RestTok*>(hdr);
    size_t n = 0;
    while (buf[n] && buf[n] != '\n' && buf[n] != '\r') ++n;
    const std::string_view line(buf, n);
    if (line.find_first_not_of(" \t") == std::string_view::npos) return -1;
    std::string err;
    if (t->impl->match(line, err)) return -1;
    if (res) {
        const size_t k = std::min<size_t>(n, ressize - 1);
        std::memcpy(res, buf, k);
        static_cast<char*>(res)[k] = '\0';
    }
    return static_cast<int>(n);
}

int rest_help(cmdline_parse_token_hdr_t*, char* dst, unsigned size) {
    if (size) dst[0] = '\0';
    return 0;
}

cmdline_token_ops kRestOps = {rest_parse, nullptr, nullptr, rest_help};

}  // namespace

std::string Impl::Item::display() const {
    switch (t) {
    case T::literal: return words[0];
    case T::choice: {
        std::string s = "(";
        for (size_t i = 0; i < words.size(); ++i) s += (i ? "|" : "") + words[i];
        return s + ")";
    }
    case T::kind: return kind->display;
    }
    return {};
}

bool Impl::word_ok(const Item& it, std::string_view w, std::string& err) {
    switch (it.t) {
    case Item::T::literal:
    case Item::T::choice:
        if (std::find(it.words.begin(), it.words.end(), w) != it.words.end()) return true;
        err = quoted(w) + (it.t == Item::T::literal ? " is not " + quoted(it.words[0])
                                                     : " is not one of " + it.display());
        return false;
    case Item::T::kind: return it.kind->check(*this, w, err);
    }
    return false;
}

// Splits like cmdline does: blanks separate tokens, '#' starts a comment.
static std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> w;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n')) ++i;
        if (i >= line.size() || line[i] == '#') break;
        const size_t b = i;
        while (i < line.size() && !cmdline_isendoftoken(line[i])) ++i;
        w.push_back(line.substr(b, i - b));
        if (i < line.size() && line[i] == '#') break;
    }
    return w;
}

Engine::Bound Impl::bind(const Inst& in, const char* res) const {
    Bound b;
    b.cmd = in.cmd;
    for (size_t j = 0; j < in.items.size(); ++j)
        if (!in.items[j]->key.empty()) b.args.set(in.items[j]->key, std::string(res + j * kSlot));
    return b;
}

std::optional<Engine::Bound> Impl::match(std::string_view line, std::string& err) {
    err.clear();
    if (line.size() > kMaxLine) {
        err = "line longer than " + std::to_string(kMaxLine) + " characters";
        return std::nullopt;
    }
    const auto words = split_words(line);
    if (words.empty()) return std::nullopt;
    // Per instance: how many words matched and why it stopped.
    size_t best = 0;
    std::vector<std::pair<const Inst*, std::string>> at_best;  // (inst, reason)
    for (const Inst& in : insts) {
        size_t i = 0;
        std::string why;
        for (; i < in.items.size() && i < words.size(); ++i)
            if (!word_ok(*in.items[i], words[i], why)) break;
        if (i == in.items.size() && i == words.size()) {
            Bound b;
            b.cmd = in.cmd;
            for (size_t j = 0; j < in.items.size(); ++j)
                if (!in.items[j]->key.empty()) b.args.set(in.items[j]->key, std::string(words[j]));
            return b;
        }
        if (i == in.items.size()) why = "unexpected " + quoted(words[i]) + " at the end";
        else if (i == words.size()) why = "incomplete: expected " + in.items[i]->display();
        if (i > best) {
            best = i;
            at_best.clear();
        }
        if (i == best) at_best.push_back({&in, why});
    }
    if (best == 0) {
        err = "unknown command " + quoted(words[0]) + "; type 'help' for the list";
        return std::nullopt;
    }
    std::string said;
    for (size_t i = 0; i < best; ++i) said += (i ? " " : "") + std::string(words[i]);
    // Several commands share the words so far: list what could come next.
    std::set<std::string> next, usages;
    bool incomplete = best == words.size();
    for (const auto& [in, why] : at_best) {
        usages.insert(Engine::usage(*in->cmd));
        if (best < in->items.size()) next.insert(in->items[best]->display());
    }
    if (at_best.size() == 1 || next.size() <= 1) {
        // On a tie, an entry that wanted more words says why the word is
        // wrong ("no help section 'x'"), which beats "unexpected 'x' at the end".
        auto why = std::find_if(at_best.begin(), at_best.end(),
                                [&](const auto& e) { return best < e.first->items.size(); });
        err = said + ": " + (why != at_best.end() ? why : at_best.begin())->second;
    } else if (incomplete) {
        std::string alts;
        for (const auto& n : next) alts += (alts.empty() ? "" : " or ") + n;
        err = said + ": incomplete: expected " + alts;
    } else {
        std::string alts;
        for (const auto& n : next) alts += (alts.empty() ? "" : " or ") + n;
        err = said + ": " + quoted(words[best]) + " is not " + alts;
    }
    if (usages.size() == 1) err += " (usage: " + *usages.begin() + ")";
    return std::nullopt;
}

void Impl::compile(const Command& c) {
    std::vector<Item>& its = items.emplace_back();
    // Tokenise the syntax: words, <key:type>, [ ... ] groups.
    int group = -1, ngroups = 0;
    std::string_view s = c.syntax;
    size_t i = 0;
    auto fail = [&](const std::string& why) {
        throw std::logic_error(std::string("command table: '") + c.syntax + "': " + why);
    };
    while (i < s.size()) {
        if (s[i] == ' ') {
            ++i;
            continue;
        }
        if (s[i] == '[') {
            if (group >= 0) fail("nested [ ]");
            group = ngroups++;
            ++i;
            continue;
        }
        if (s[i] == ']') {
            if (group < 0) fail("unbalanced ]");
            group = -1;
            ++i;
            continue;
        }
        size_t e = i;
        while (e < s.size() && s[e] != ' ' && s[e] != ']') ++e;
        std::string_view w = s.substr(i, e - i);
        i = e;
        Item it;
        it.group = group;
        if (w.front() == '<') {
            const auto colon = w.find(':');
            if (w.back() != '>' || colon == std::string_view::npos) fail("bad placeholder");
            it.key = std::string(w.substr(1, colon - 1));
            const std::string_view type = w.substr(colon + 1, w.size() - colon - 2);
            if (type.find('|') != std::string_view::npos || !find_kind(type)) {
                it.t = Item::T::choice;
                size_t b = 0;
                for (;;) {
                    const auto bar = type.find('|', b);
                    it.words.emplace_back(type.substr(b, bar == std::string_view::npos ? bar : bar - b));
                    if (bar == std::string_view::npos) break;
                    b = bar + 1;
                }
            } else {
                it.t = Item::T::kind;
                it.kind = find_kind(type);
            }
        } else {
            it.t = Item::T::literal;
            it.words.emplace_back(w);
        }
        its.push_back(std::move(it));
    }
    if (group >= 0) fail("unbalanced [");
    if (its.size() > kMaxTokens) fail("too many tokens");
    if (ngroups > 3) fail("more than 3 optional groups");
    // One cmdline instance per combination of optional groups.
    for (unsigned mask = 0; mask < (1u << ngroups); ++mask) {
        Inst& in = insts.emplace_back();
        in.cmd = &c;
        for (const Item& it : its)
            if (it.group < 0 || (mask >> it.group & 1)) in.items.push_back(&it);
        auto* ci = static_cast<cmdline_inst*>(
            std::calloc(1, sizeof(cmdline_inst) + (in.items.size() + 1) * sizeof(cmdline_parse_token_hdr_t*)));
        if (!ci) throw std::bad_alloc();
        ci->f = nullptr;  // set by Engine
        ci->data = &in;
        ci->help_str = c.help;
        for (size_t j = 0; j < in.items.size(); ++j) {
            const Item& it = *in.items[j];
            if (it.t == Item::T::kind) {
                auto t = std::make_unique<KindTok>();
                t->hdr.ops = &kKindOps;
                t->hdr.offset = static_cast<unsigned>(j * kSlot);
                t->kind = it.kind;
                t->impl = this;
                ci->tokens[j] = &t->hdr;
                kind_toks.push_back(std::move(t));
            } else {
                auto t = std::make_unique<StrTok>();
                for (size_t k = 0; k < it.words.size(); ++k) t->choices += (k ? "#" : "") + it.words[k];
                t->t.hdr.ops = &cmdline_token_string_ops;
                t->t.hdr.offset = static_cast<unsigned>(j * kSlot);
                t->t.string_data.str = t->choices.c_str();
                ci->tokens[j] = &t->t.hdr;
                str_toks.push_back(std::move(t));
            }
        }
        ci->tokens[in.items.size()] = nullptr;
        in.ci = ci;
    }
}

namespace {

Impl* g_impl_for_callbacks = nullptr;  // the control core runs one Engine

void on_inst(void* res, ::cmdline* cl, void* data) {
    Impl& im = *g_impl_for_callbacks;
    const auto* in = static_cast<const Impl::Inst*>(data);
    Engine::Bound b = im.bind(*in, static_cast<const char*>(res));
    if (cl == im.parse_cl) {
        if (im.pending) *im.pending = std::move(b);
        return;
    }
    if (auto it = im.sessions.find(cl); it != im.sessions.end()) {
        it->second->run_bound(std::move(b));
        if (it->second->closing()) cmdline_quit(cl);
    }
}

void on_rest(void* res, ::cmdline* cl, void*) {
    Impl& im = *g_impl_for_callbacks;
    std::string err;
    im.match(static_cast<const char*>(res), err);
    if (err.empty()) err = "cannot parse this line";
    if (cl == im.parse_cl) {
        if (im.pending_err) *im.pending_err = err;
        return;
    }
    if (auto it = im.sessions.find(cl); it != im.sessions.end()) it->second->syntax_error(err);
}

}  // namespace

Engine::Engine(std::span<const Command> cmds, Runtime& rt) : rt_(rt), impl_(std::make_unique<Impl>()) {
    impl_->rt = &rt;
    impl_->cmds = cmds;
    for (const Command& c : cmds) impl_->compile(c);
    for (Impl::Inst& in : impl_->insts) {
        in.ci->f = on_inst;
        ctx_.push_back(in.ci);
    }
    impl_->rest_tok = std::make_unique<Impl::RestTok>();
    impl_->rest_tok->hdr.ops = &kRestOps;
    impl_->rest_tok->hdr.offset = 0;
    impl_->rest_tok->impl = impl_.get();
    impl_->rest_inst = static_cast<cmdline_inst*>(std::calloc(1, sizeof(cmdline_inst) + 2 * sizeof(void*)));
    if (!impl_->rest_inst) throw std::bad_alloc();
    impl_->rest_inst->f = on_rest;
    impl_->rest_inst->data = nullptr;
    impl_->rest_inst->help_str = nullptr;
    impl_->rest_inst->tokens[0] = &impl_->rest_tok->hdr;
    impl_->rest_inst->tokens[1] = nullptr;
    ctx_.push_back(impl_->rest_inst);
    ctx_.push_back(nullptr);
    g_impl_for_callbacks = impl_.get();
    impl_->devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    impl_->parse_cl = cmdline_new(ctx_.data(), "", -1, impl_->devnull);
    if (!impl_->parse_cl) throw std::runtime_error("cmdline_new failed");
}

Engine::~Engine() {
    if (impl_->parse_cl) cmdline_free(impl_->parse_cl);
    if (impl_->devnull >= 0) ::close(impl_->devnull);
    for (Impl::Inst& in : impl_->insts) std::free(in.ci);
    std::free(impl_->rest_inst);
    if (g_impl_for_callbacks == impl_.get()) g_impl_for_callbacks = nullptr;
}

void Engine::attach(::cmdline* cl, Session* s) { impl_->sessions[cl] = s; }
void Engine::detach(::cmdline* cl) { impl_->sessions.erase(cl); }

std::optional<Engine::Bound> Engine::parse(std::string_view line, std::string& err) {
    err.clear();
    if (line.size() > kMaxLine) {
        err = "line longer than " + std::to_string(kMaxLine) + " characters";
        return std::nullopt;
    }
    if (split_words(line).empty()) return std::nullopt;
    std::optional<Bound> got;
    Impl* prev = g_impl_for_callbacks;
    g_impl_for_callbacks = impl_.get();
    impl_->pending = &got;
    impl_->pending_err = &err;
    std::string buf(line);
    buf += '\n';
    const int rc = cmdline_parse(impl_->parse_cl, buf.c_str());
    impl_->pending = nullptr;
    impl_->pending_err = nullptr;
    g_impl_for_callbacks = prev;
    if (got) return got;
    if (err.empty()) {
        // cmdline refused the line without calling either callback.
        err = rc == CMDLINE_PARSE_AMBIGUOUS ? "ambiguous command (two table entries match it)"
                                            : "cannot parse this line";
    }
    return std::nullopt;
}

std::optional<Engine::Bound> Engine::match(std::string_view line, std::string& err) const {
    return impl_->match(line, err);
}

std::string Engine::usage(const Command& c) {
    // Render from the syntax so help and docs never drift from the grammar.
    std::string out;
    std::string_view s = c.syntax;
    size_t i = 0;
    while (i < s.size()) {
        const char ch = s[i];
        if (ch == '[' || ch == ']' || ch == ' ') {
            out += ch;
            ++i;
            continue;
        }
        size_t e = i;
        while (e < s.size() && s[e] != ' ' && s[e] != ']') ++e;
        std::string_view w = s.substr(i, e - i);
        i = e;
        if (w.front() == '<') {
            const auto colon = w.find(':');
            const std::string_view type = w.substr(colon + 1, w.size() - colon - 2);
            if (const Kind* k = type.find('|') == std::string_view::npos ? find_kind(type) : nullptr) out += k->display;
            else if (type.find('|') != std::string_view::npos) out += "(" + std::string(type) + ")";
            else out += std::string(type);
        } else {
            out += w;
        }
    }
    return out;
}

void Engine::write_help(std::ostream& os, std::string_view section) const {
    if (section.empty()) {
        os << "Sections (help SECTION lists its commands; help all lists every one):\n";
        for (const Section& s : sections()) {
            char line[128];
            std::snprintf(line, sizeof line, "  %-12s %s\n", s.id, s.title);
            os << line;
        }
        os << "TAB completes a command; '?' lists what may come next.\n";
        return;
    }
    for (const Section& s : sections()) {
        if (section != "all" && section != s.id) continue;
        os << s.title << ":\n";
        for (const Command& c : impl_->cmds) {
            if (std::string_view(c.section) != s.id) continue;
            os << "  " << usage(c) << "\n      " << c.help << "\n";
        }
    }
}

void Engine::write_reference(std::ostream& os) {
    os << "# Console command reference\n\n"
          "Generated from the command table (`lib/cli/commands.cpp`) by `triage -- --cli-reference`;\n"
          "a test fails when this page and the binary disagree. The same commands work at the\n"
          "`triage>` prompt (`-i`), in scripts (`-f FILE`, `load FILE`) and through `triage-cli`.\n\n"
          "Notation: words in capitals are arguments, `(a|b)` is a choice, `[...]` is optional.\n\n";
    for (const Section& s : sections()) {
        os << "## " << s.title << " (`help " << s.id << "`)\n\n";
        for (const Command& c : commands())
            if (std::string_view(c.section) == s.id) os << "- `" << usage(c) << "`  \n  " << c.help << "\n";
        os << "\n";
    }
    os << "## Argument types\n\n";
    std::set<std::string_view> seen;
    for (const Kind& k : kKinds)
        if (seen.insert(k.display).second) os << "- `" << k.display << "`: " << k.help << "\n";
}

}  // namespace triage::cli
