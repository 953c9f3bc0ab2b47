#include "eval/subprocess.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "base/file_io.h"

extern char** environ;

namespace dcodec::eval {
namespace {

// The last non-empty line of a tool's stderr capture, at most 300 characters.
std::string LastLine(const std::string& path) {
  auto bytes = ReadFileBytes(path);
  if (!bytes.ok()) return "";
  std::string text(bytes->begin(), bytes->end());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  size_t start = text.find_last_of('\n');
  std::string line = start == std::string::npos ? text : text.substr(start + 1);
  if (line.size() > 300) line = line.substr(0, 300) + "...";
  return line;
}

}  // namespace

StatusOr<TempDir> TempDir::Create(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = (tmp && *tmp) ? tmp : "/tmp";
  std::string templ = base + "/" + prefix + "-XXXXXX";
  std::vector<char> buffer(templ.begin(), templ.end());
  buffer.push_back('\0');
  if (!::mkdtemp(buffer.data())) {
    return IoError(templ + ": cannot create temporary directory: " + std::strerror(errno));
  }
  return TempDir(std::string(buffer.data()));
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

TempDir::~TempDir() { Remove(); }

void TempDir::Remove() {
  if (path_.empty()) return;
  if (DIR* dir = ::opendir(path_.c_str())) {
    std::vector<std::string> names;
    while (dirent* entry = ::readdir(dir)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(dir);
    for (const std::string& name : names) ::unlink(File(name).c_str());
  }
  ::rmdir(path_.c_str());
  path_.clear();
}

bool IsOnPath(const std::string& program) {
  if (program.empty()) return false;
  auto executable = [](const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) return executable(program);
  const char* env = std::getenv("PATH");
  std::string path_list = env ? env : "/usr/local/bin:/usr/bin:/bin";
  size_t begin = 0;
  while (begin <= path_list.size()) {
    size_t end = path_list.find(':', begin);
    if (end == std::string::npos) end = path_list.size();
    std::string dir = path_list.substr(begin, end - begin);
    if (dir.empty()) dir = ".";
    if (executable(dir + "/" + program)) return true;
    begin = end + 1;
  }
  return false;
}

Status RunTool(const std::vector<std::string>& argv, const std::string& scratch_dir, std::string* out) {
  if (argv.empty()) return Internal("RunTool: empty command");
  const std::string& tool = argv[0];
  if (!IsOnPath(tool)) return Unsupported(tool + " not found on PATH");
  std::string stderr_path = scratch_dir + "/" + "stderr.txt";
  std::string stdout_path = scratch_dir + "/" + "stdout.txt";

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out ? stdout_path.c_str() : "/dev/null",
                                   out ? O_WRONLY | O_CREAT | O_TRUNC : O_WRONLY, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = 0;
  int err = ::posix_spawnp(&pid, tool.c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) return Internal(tool + ": cannot start: " + std::strerror(err));

  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return Internal(tool + ": waitpid failed: " + std::strerror(errno));
  }
  std::string said = LastLine(stderr_path);
  ::unlink(stderr_path.c_str());
  if (out) {
    out->clear();
    std::ifstream printed(stdout_path, std::ios::binary);
    char buf[4096];
    while (printed && out->size() < (size_t{1} << 20)) {
      printed.read(buf, sizeof(buf));
      out->append(buf, static_cast<size_t>(printed.gcount()));
    }
    ::unlink(stdout_path.c_str());
  }
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return Status::Ok();
  std::string how = WIFEXITED(wstatus) ? "exit status " + std::to_string(WEXITSTATUS(wstatus))
                                       : "killed by signal " + std::to_string(WTERMSIG(wstatus));
  // posix_spawnp reports exec failure of a found program as exit status 127 from the child.
  return Internal(tool + " failed (" + how + ")" + (said.empty() ? "" : ": " + said));
}

}  // namespace dcodec::eval
