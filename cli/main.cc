// dcodec: the command line. Messages go to stderr; stdout carries only what a command is asked to print.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <map>
#include <new>

#include "base/allocator.h"
#include "cli/commands.h"
#include "cli/exit_codes.h"

int main(int argc, char** argv) {
  using namespace dcodec::cli;
  dcodec::ReuseFreedMemory();  // before any thread starts: the network's tiles reuse freed memory (base/allocator.h)
  SetCommandLine(argc, argv);
  CLI::App app{"dcodec: a progressive image codec built on a denoising diffusion model"};
  app.require_subcommand(1);
  app.set_version_flag("-V,--version", "dcodec 0.1.0");
  GlobalOptions global;
  app.add_flag("--quiet", global.quiet, "print nothing but errors");
  app.add_flag("-v,--verbose", global.verbose, "print more");
  std::map<CLI::App*, Command> commands;
  auto add = [&](const char* name, const char* help, Command (*adder)(CLI::App&, const GlobalOptions&)) {
    CLI::App* sub = app.add_subcommand(name, help);
    sub->fallthrough();
    commands[sub] = adder(*sub, global);
  };
#ifndef DCODEC_TRAINER_ONLY  // the trainer-only build (a CUDA PyTorch's LibTorch, few -dev packages) has no codec
  add("encode", "compress a PNG into a progressive .dcd stream", AddEncodeCommand);
  add("decode", "decode a .dcd stream (or a prefix of it) to PNG", AddDecodeCommand);
  add("info", "print a stream's header and per-stage table", AddInfoCommand);
#endif
  add("train", "train a diffusion model (Algorithm 1)", AddTrainCommand);
  add("sample", "draw samples from a model into a PNG grid", AddSampleCommand);
#ifndef DCODEC_TRAINER_ONLY
  add("bench", "encode/decode time, where it goes, and memory at a list of sizes", AddBenchCommand);
#ifndef DCODEC_NO_EVAL  // the device build (scripts/gpu_check.sh) has no evaluation tools
  add("rd", "rate-distortion curves against JPEG, WebP, JPEG XL and AVIF", AddRdCommand);
#endif
#endif
  add("nll", "the model's variational bound in bits/dim on a data set", AddNllCommand);
  add("set-defaults", "copy a model, setting the coding chain its streams use by default", AddSetDefaultsCommand);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  for (auto& [sub, run] : commands) {
    if (!sub->parsed()) continue;
    dcodec::Status status;
    try {
      status = run();
    } catch (const std::bad_alloc&) {
      status = dcodec::Internal("out of memory");
    } catch (const std::exception& e) {
      status = dcodec::Internal(e.what());
    }
    if (!status.ok()) {
      std::fprintf(stderr, "dcodec %s: %s\n", sub->get_name().c_str(), status.ToString().c_str());
      return ExitCodeFor(status);
    }
    return kExitOk;
  }
  return kExitUsage;
}
