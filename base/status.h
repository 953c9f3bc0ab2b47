// dcodec's error type: a must-use Status and StatusOr<T>, returned by every library function that can fail.
//
// Libraries never exit or print; only cli/ turns a Status into a message and an exit code (see cli/exit_codes.h).
// A Status carries a code (the class of failure, which decides the exit code) and a message that names the
// problem and, where there is one, the file.
#ifndef DCODEC_BASE_STATUS_H_
#define DCODEC_BASE_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace dcodec {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // a caller's option or parameter is out of range
  kIoError,           // a file could not be read or written
  kInvalidInput,      // an input file (PNG, stream, model, data) is malformed or unsupported
  kTruncated,         // an input ends early (a stream prefix is not an error; a cut header is)
  kCorrupt,           // a checksum failed: the data was damaged
  kModelMismatch,     // a stream was made with another model
  kNonDeterministic,  // the decoder computed something other than the encoder did (another CPU, say)
  kUnsupported,       // a valid input using a feature this build does not have (a future version)
  kUnavailable,       // another process this one depends on died, hung or cannot be reached (distributed training)
  kInternal,          // a bug
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corrupt: stage 3 checksum mismatch in photo.dcd"
  std::string ToString() const;

  // Adds context in front of the message: Status(kIoError, "x").Prefixed("a.png") -> "a.png: x".
  Status Prefixed(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return Status(StatusCode::kInvalidArgument, std::move(m)); }
inline Status IoError(std::string m) { return Status(StatusCode::kIoError, std::move(m)); }
inline Status InvalidInput(std::string m) { return Status(StatusCode::kInvalidInput, std::move(m)); }
inline Status Truncated(std::string m) { return Status(StatusCode::kTruncated, std::move(m)); }
inline Status Corrupt(std::string m) { return Status(StatusCode::kCorrupt, std::move(m)); }
inline Status Unsupported(std::string m) { return Status(StatusCode::kUnsupported, std::move(m)); }
inline Status Unavailable(std::string m) { return Status(StatusCode::kUnavailable, std::move(m)); }
inline Status Internal(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : status_(status) { assert(!status.ok()); }  // NOLINT: implicit by design
  StatusOr(T value) : value_(std::move(value)) {}                              // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace dcodec

#define DCODEC_CONCAT_INNER_(a, b) a##b
#define DCODEC_CONCAT_(a, b) DCODEC_CONCAT_INNER_(a, b)

#define DCODEC_RETURN_IF_ERROR(expr)           \
  do {                                         \
    ::dcodec::Status dcodec_status_ = (expr);  \
    if (!dcodec_status_.ok()) return dcodec_status_; \
  } while (0)

#define DCODEC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()

// DCODEC_ASSIGN_OR_RETURN(auto image, ReadPng(path));
#define DCODEC_ASSIGN_OR_RETURN(lhs, expr) \
  DCODEC_ASSIGN_OR_RETURN_IMPL_(DCODEC_CONCAT_(dcodec_statusor_, __LINE__), lhs, expr)

#endif  // DCODEC_BASE_STATUS_H_
