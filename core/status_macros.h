#pragma once
// RETURN_IF_ERROR / ASSIGN_OR_RETURN: Debian's Abseil (20220623) lacks them.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define NEXTBEST_CONCAT_INNER(a, b) a##b
#define NEXTBEST_CONCAT(a, b) NEXTBEST_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)    \
  do {                           \
    ::absl::Status _st = (expr); \
    if (!_st.ok()) return _st;   \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(NEXTBEST_CONCAT(_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
