// Early returns for absl::Status and absl::StatusOr, instead of the
// hand-written `if (!s.ok()) return s;` at every call:
//
//   absl::StatusOr<Config> LoadConfig(absl::string_view path) {
//     CCR_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
//     CCR_RETURN_IF_ERROR(CheckSyntax(text));
//     return Parse(text);
//   }
//
// The status is returned unchanged: a field-naming message keeps its field.
// Where the caller must add context (`config.queues[3]: ...`), write the `if`
// out; these are for pass-through only.
#ifndef CCROUTER_BASE_STATUS_MACROS_H_
#define CCROUTER_BASE_STATUS_MACROS_H_

#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) once; returns it from the enclosing
// function when it is not OK.
#define CCR_RETURN_IF_ERROR(expr)                                \
  do {                                                           \
    ::absl::Status ccr_return_if_error_status_ = (expr);         \
    if (ABSL_PREDICT_FALSE(!ccr_return_if_error_status_.ok())) { \
      return ccr_return_if_error_status_;                        \
    }                                                            \
  } while (false)

// Evaluates `expr` (an absl::StatusOr<T>) once; returns its status from the
// enclosing function when it is not OK, else moves the value into `lhs`,
// which may declare a variable (`auto x`, `const Foo& y`: the value lives in
// a hidden local until the end of the scope) or name an existing one. Takes
// one statement's worth of lines: not for the body of an unbraced `if`.
#define CCR_ASSIGN_OR_RETURN(lhs, expr) \
  CCR_ASSIGN_OR_RETURN_IMPL_(CCR_STATUS_MACROS_CONCAT_(ccr_statusor_, __LINE__), lhs, expr)

#define CCR_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                               \
  if (ABSL_PREDICT_FALSE(!statusor.ok())) {             \
    return std::move(statusor).status();                \
  }                                                     \
  lhs = *std::move(statusor)

#define CCR_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define CCR_STATUS_MACROS_CONCAT_(a, b) CCR_STATUS_MACROS_CONCAT_INNER_(a, b)

#endif  // CCROUTER_BASE_STATUS_MACROS_H_
