# Errors are R conditions with class c(<specific>, <group>, "readmit_error", "error",
# "condition"), so callers can tryCatch(readmit_timeout = ...) or catch every readmit_error.

# Condition subclass by libreadmit result code (include/readmit.h); the daemon's statuses
# 1..15 are the wire protocol's (docs/PROTOCOL.md).
.readmit_code_class <- c(
  "1" = "readmit_bad_magic", "2" = "readmit_bad_version", "3" = "readmit_bad_op",
  "4" = "readmit_bad_frames", "5" = "readmit_bad_payload", "6" = "readmit_bad_columns",
  "7" = "readmit_bad_value", "8" = "readmit_bad_category", "9" = "readmit_too_many_rows",
  "10" = "readmit_not_ready", "11" = "readmit_overloaded", "12" = "readmit_reload_failed",
  "13" = "readmit_forbidden", "14" = "readmit_bad_argument", "15" = "readmit_internal",
  "100" = "readmit_invalid_argument", "101" = "readmit_out_of_memory",
  "102" = "readmit_timeout", "103" = "readmit_zmq_error", "104" = "readmit_protocol_error",
  "105" = "readmit_reply_too_big", "106" = "readmit_buffer_too_small",
  "107" = "readmit_unknown_status", "108" = "readmit_not_found",
  "109" = "readmit_unavailable_error", "110" = "readmit_interrupted", "111" = "readmit_auth_error"
)

# READMIT_EINTERRUPTED: the call was abandoned because R had a user interrupt pending.
.readmit_interrupted <- 110L

#' Build a readmit error condition
#'
#' @param message the message.
#' @param class the specific classes, most specific first.
#' @param call the call to report.
#' @param ... further fields stored in the condition.
#' @return a condition object inheriting from \code{readmit_error}.
#' @noRd
readmit_condition <- function(message, class = character(), call = NULL, ...) {
  structure(
    class = unique(c(class, "readmit_error", "error", "condition")),
    list(message = message, call = call, ...)
  )
}

# Signals an error detected on the R side (bad argument, missing column, closed client).
readmit_abort <- function(message, class = "readmit_input_error", call = sys.call(-1), ...) {
  stop(readmit_condition(message, class = class, call = call, ...))
}

# Turns a "readmit_failure" returned by the C glue into a classed error; passes other values
# through, so every .Call can be wrapped: check_failure(.Call(...)).
check_failure <- function(x, call = sys.call(-1)) {
  if (!inherits(x, "readmit_failure")) return(x)
  if (x$code == .readmit_interrupted) signal_interrupt(x$message, call)
  code <- as.character(x$code)
  specific <- .readmit_code_class[code]
  if (is.na(specific)) specific <- "readmit_library_error"
  group <- if (x$code >= 1L && x$code < 100L) "readmit_daemon_error" else "readmit_client_error"
  # The daemon counts rows and features from 0; R users index from 1.
  row <- if (x$row >= 0L) x$row + 1L else NA_integer_
  feature <- if (x$feature >= 0L) x$feature + 1L else NA_integer_
  stop(readmit_condition(
    sprintf("%s: %s", x$name, x$message),
    class = c(unname(specific), group),
    call = call,
    code = x$code, name = x$name, row = row, feature = feature
  ))
}

# TRUE when `x` is a "readmit_failure" of BAD_ARGUMENT from a model that has no risk interval
# (INFO "interval" is null): what the daemon answers when one is asked of such a model.
no_interval_failure <- function(cl, x) {
  if (!inherits(x, "readmit_failure") || x$code != 14L) return(FALSE)
  info <- tryCatch(readmit_info(cl, refresh = TRUE), readmit_error = function(e) NULL)
  !is.null(info) && is.null(info$interval)
}

# Signals that failure as an error of class readmit_no_interval (also a readmit_bad_argument,
# so handlers of that class still catch it).
stop_no_interval <- function(x, call) {
  stop(readmit_condition(
    sprintf("%s: the serving model has no risk interval (INFO \"interval\" is null; retrain it to get one): %s",
            x$name, x$message),
    class = c("readmit_no_interval", "readmit_bad_argument", "readmit_daemon_error"),
    call = call, code = x$code, name = x$name, row = NA_integer_, feature = NA_integer_
  ))
}

# check_failure for a call that asked for risk intervals.
check_interval_failure <- function(cl, x, call = sys.call(-1)) {
  if (no_interval_failure(cl, x)) stop_no_interval(x, call)
  check_failure(x, call)
}

# A single TRUE or FALSE, or a readmit_invalid_argument error naming the argument.
check_flag <- function(x, what, call) {
  if (!is.logical(x) || length(x) != 1L || is.na(x)) {
    readmit_abort(sprintf("'%s' must be TRUE or FALSE", what), class = "readmit_invalid_argument", call = call)
  }
  x
}

# One of `choices` (the default, the whole vector, is its first), or a classed error:
# match.arg() signalled a plain simpleError ("'arg' must be NULL or a character vector").
check_choice <- function(x, choices, what, call) {
  if (identical(x, choices)) return(choices[[1L]])
  if (!is.character(x) || length(x) != 1L || is.na(x) || !x %in% choices) {
    readmit_abort(sprintf("'%s' must be one of %s", what, paste(sprintf("\"%s\"", choices), collapse = ", ")),
                  class = "readmit_invalid_argument", call = call)
  }
  x
}

# Ctrl-C during a call: the C glue consumed R's interrupt to abandon the call cleanly, so it is
# signalled again here, as an "interrupt" condition (also of class readmit_interrupted):
# tryCatch(interrupt = ) and withCallingHandlers see it as they would a plain Ctrl-C, and
# without a handler the evaluation is abandoned back to the top level, as R does.
signal_interrupt <- function(message, call) {
  cond <- structure(class = c("readmit_interrupted", "interrupt", "condition"),
                    list(message = message, call = call))
  signalCondition(cond)
  invokeRestart("abort")
}
