// triage-cli: the remote console. With a command, runs it on the running
// triage and prints the answer (exit 0, or 1 when the command failed: for
// scripts and monitoring). Without one, on a terminal, opens the same
// `triage>` prompt the box serves (completion and history run in the box);
// with stdin not a terminal, runs each line as one command.
#include <getopt.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr char kBatchMark = '\x01';  // lib/cli Console::kBatchMark
constexpr char kTtyMark = '\x02';    // Console::kTtyMark: the prompt appears at once
constexpr const char* kDefaultSocket = "/run/triage/triage.sock";

void usage(const char* prog) {
    std::printf(
        "Usage: %s [-s SOCKET] [COMMAND ...]\n"
        "Talks to a running triage over its console socket.\n"
        "  COMMAND ...   run one console command, print its answer; exit 1 if it failed\n"
        "  (none)        interactive triage> prompt on a terminal; from a pipe, one command per line\n"
        "Options:\n"
        "  -s, --socket SOCKET  the socket triage listens on (default %s; triage's default\n"
        "                       is /run/triage/PREFIX.sock for EAL --file-prefix PREFIX)\n"
        "  -h, --help           this help\n"
        "Relative paths in 'load FILE' and 'save config FILE' are made absolute here,\n"
        "so they mean the same file for triage as for you.\n"
        "Example: %s -s /run/triage/triage.sock show port stats all\n",
        prog, kDefaultSocket, prog);
}

int connect_to(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) {
        std::fprintf(stderr, "triage-cli: socket path '%s' is too long\n", path.c_str());
        return -1;
    }
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
        std::fprintf(stderr, "triage-cli: cannot connect to %s: %s (is triage running? see -s)\n", path.c_str(),
                     std::strerror(errno));
        if (fd >= 0) ::close(fd);
        return -1;
    }
    return fd;
}

bool write_all(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
        const ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

// Paths travel to the box, whose working directory is not ours.
std::string absolutise(const std::vector<std::string>& words) {
    std::vector<std::string> w = words;
    size_t at = std::string::npos;
    if (w.size() == 2 && w[0] == "load") at = 1;
    if (w.size() == 3 && w[0] == "save" && w[1] == "config") at = 2;
    if (at != std::string::npos && !w[at].empty() && w[at][0] != '/') {
        char cwd[PATH_MAX];
        if (::getcwd(cwd, sizeof cwd)) w[at] = std::string(cwd) + "/" + w[at];
    }
    std::string line;
    for (const auto& x : w) line += (line.empty() ? "" : " ") + x;
    return line;
}

std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> w;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        const size_t b = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > b) w.push_back(line.substr(b, i - b));
    }
    return w;
}

// One command: returns 0/1 from the box, 2 when the box could not be asked.
int run_one(const std::string& sock, const std::string& line) {
    const int fd = connect_to(sock);
    if (fd < 0) return 2;
    if (!write_all(fd, std::string(1, kBatchMark) + line + "\n")) {
        std::fprintf(stderr, "triage-cli: %s: write failed: %s\n", sock.c_str(), std::strerror(errno));
        ::close(fd);
        return 2;
    }
    std::string got;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    const size_t nul = got.rfind('\0');
    if (nul == std::string::npos || nul + 1 >= got.size()) {
        std::fwrite(got.data(), 1, got.size(), stdout);
        std::fprintf(stderr, "triage-cli: the connection closed before the answer ended (triage stopping?)\n");
        return 2;
    }
    std::fwrite(got.data(), 1, nul, stdout);
    std::fflush(stdout);
    return got[nul + 1] == '0' ? 0 : 1;
}

// Relays the terminal, raw, to the box's rdline session until it closes.
int interactive(const std::string& sock) {
    const int fd = connect_to(sock);
    if (fd < 0) return 2;
    termios old{};
    const bool tty = ::tcgetattr(0, &old) == 0;
    if (tty) {
        termios raw = old;
        // Like cmdline_stdin_new: no line buffering, no local echo, and
        // Ctrl-C goes to the box's line editor instead of killing us.
        raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO | ISIG));
        ::tcsetattr(0, TCSANOW, &raw);
    }
    if (!write_all(fd, std::string(1, kTtyMark))) {
        std::fprintf(stderr, "triage-cli: %s: write failed: %s\n", sock.c_str(), std::strerror(errno));
        ::close(fd);
        return 2;
    }
    pollfd p[2] = {{0, POLLIN, 0}, {fd, POLLIN, 0}};
    char buf[4096];
    int rc = 0;
    for (;;) {
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            rc = 2;
            break;
        }
        if (p[1].revents) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0) break;  // the box closed the session (quit)
            if (::write(1, buf, static_cast<size_t>(n)) < 0) break;
        }
        if (p[0].revents) {
            const ssize_t n = ::read(0, buf, sizeof buf);
            if (n <= 0) break;
            if (!write_all(fd, std::string(buf, static_cast<size_t>(n)))) break;
        }
    }
    if (tty) ::tcsetattr(0, TCSANOW, &old);
    ::close(fd);
    std::printf("\n");
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    std::string sock = kDefaultSocket;
    const option longopts[] = {{"socket", required_argument, nullptr, 's'},
                               {"help", no_argument, nullptr, 'h'},
                               {nullptr, 0, nullptr, 0}};
    opterr = 0;
    for (;;) {
        // '+': stop at the first command word, so commands may look like options.
        const int c = getopt_long(argc, argv, "+:s:h", longopts, nullptr);
        if (c == -1) break;
        if (c == 's') {
            sock = optarg;
        } else if (c == 'h') {
            usage(argv[0]);
            return 0;
        } else if (c == ':') {
            std::fprintf(stderr, "triage-cli: option '%s' needs a value (see --help)\n", argv[optind - 1]);
            return 2;
        } else {
            std::fprintf(stderr, "triage-cli: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        std::vector<std::string> words(argv + optind, argv + argc);
        return run_one(sock, absolutise(words));
    }
    if (::isatty(0)) return interactive(sock);
    int rc = 0;
    std::string line;
    while (std::getline(std::cin, line)) {
        const auto words = split(line);
        if (words.empty() || words[0][0] == '#') continue;
        const int r = run_one(sock, absolutise(words));
        if (r == 2) return 2;
        rc |= r;
    }
    return rc;
}
