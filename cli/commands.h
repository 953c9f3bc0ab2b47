// The dcodec subcommands. Each Add*Command registers its options on the CLI11 app and returns the function to run
// when that subcommand was chosen; the function returns a Status that main() turns into an exit code.
#ifndef DCODEC_CLI_COMMANDS_H_
#define DCODEC_CLI_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace dcodec::cli {

struct GlobalOptions {
  bool quiet = false;
  int verbose = 0;
};

using Command = std::function<Status()>;

Command AddTrainCommand(CLI::App& app, const GlobalOptions& global);
Command AddSampleCommand(CLI::App& app, const GlobalOptions& global);
Command AddNllCommand(CLI::App& app, const GlobalOptions& global);
Command AddSetDefaultsCommand(CLI::App& app, const GlobalOptions& global);
Command AddEncodeCommand(CLI::App& app, const GlobalOptions& global);
Command AddDecodeCommand(CLI::App& app, const GlobalOptions& global);
Command AddInfoCommand(CLI::App& app, const GlobalOptions& global);
Command AddBenchCommand(CLI::App& app, const GlobalOptions& global);
Command AddRdCommand(CLI::App& app, const GlobalOptions& global);

// --model default: $DCODEC_MODEL, else models/photo.safetensors in the source tree or beside the binary.
std::string DefaultModelPath();
// The program's arguments after its name, as main() received them (SetCommandLine), for commands that restart it.
void SetCommandLine(int argc, char** argv);
const std::vector<std::string>& CommandLine();
// Sets LibTorch's intra-op thread count (0 = all cores).
void SetThreads(int threads);
// 0 (or less) means all cores.
int ResolveThreads(int threads);

// "-" as a file name on the command line: standard input or standard output (stdout then carries that file and
// nothing else; messages stay on stderr).
bool IsStdio(const std::string& path);
// The name errors give the file: the path, or "<stdin>" / "<stdout>" for "-".
std::string InputName(const std::string& path);
std::string OutputName(const std::string& path);
// ReadFileBytes (base/file_io.h), or all of stdin (within the same limit) for "-".
StatusOr<std::vector<uint8_t>> ReadInputBytes(const std::string& path);
// WriteFileAtomic (base/file_io.h), or stdout for "-".
Status WriteOutputBytes(const std::string& path, const std::vector<uint8_t>& bytes, bool overwrite);

// Option checks: a value outside gives a usage error (exit 2) that names the accepted range.
// A finite number x with lo < x <= hi (NaN, inf and overflowing values are refused).
CLI::Validator FiniteNumber(double lo, double hi);
// A whole number in [lo, hi] written with digits only (so "-1" cannot wrap to a huge unsigned value).
CLI::Validator WholeNumber(uint64_t lo, uint64_t hi);

}  // namespace dcodec::cli

#endif  // DCODEC_CLI_COMMANDS_H_
