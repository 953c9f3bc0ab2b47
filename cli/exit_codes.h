// Exit codes of the dcodec command line, one per class of failure (as cjxl has), and the mapping from Status.
#ifndef DCODEC_CLI_EXIT_CODES_H_
#define DCODEC_CLI_EXIT_CODES_H_

#include "base/status.h"

namespace dcodec::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 2,             // bad command line or option value
  kExitIo = 3,                // a file could not be read or written
  kExitInvalidInput = 4,      // malformed input: not a PNG, not a dcodec stream, bad data set, cut header
  kExitCorrupt = 5,           // a checksum failed
  kExitModelMismatch = 6,     // the stream was made with another model
  kExitNonDeterministic = 7,  // the decoder's computation differs from the encoder's (another CPU?)
  kExitUnsupported = 8,       // valid but unsupported input (alpha channel, future format version)
  kExitPeerFailed = 9,        // distributed training: another rank died, hung or could not be reached
  kExitInternal = 70,
};

inline int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument: return kExitUsage;
    case StatusCode::kIoError: return kExitIo;
    case StatusCode::kInvalidInput:
    case StatusCode::kTruncated: return kExitInvalidInput;
    case StatusCode::kCorrupt: return kExitCorrupt;
    case StatusCode::kModelMismatch: return kExitModelMismatch;
    case StatusCode::kNonDeterministic: return kExitNonDeterministic;
    case StatusCode::kUnsupported: return kExitUnsupported;
    case StatusCode::kUnavailable: return kExitPeerFailed;
    case StatusCode::kInternal: return kExitInternal;
  }
  return kExitInternal;
}

}  // namespace dcodec::cli

#endif  // DCODEC_CLI_EXIT_CODES_H_
