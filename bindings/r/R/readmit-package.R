#' readmit: score 30-day readmission risk with a running readmitd
#'
#' A client for the \code{readmitd} scoring daemon, built on the project's C client library
#' (libreadmit, compiled into this package). Connect with \code{\link{readmit_connect}},
#' score raw encounter records (the daemon encodes them with its model's own dataset spec)
#' with \code{\link{readmit_score_records}}, whose fields \code{\link{readmit_raw_fields}}
#' lists, close with \code{\link{readmit_close}}. \code{\link{readmit_score}},
#' \code{\link{readmit_score_frame}} and \code{\link{readmit_explain}} send a data frame the
#' same way, and a numeric feature matrix (\code{\link{readmit_schema}}) as it is. The package
#' never encodes raw columns itself. Errors are conditions of class \code{readmit_error}.
#'
#' @section Errors:
#' Every error is a condition of class \code{readmit_error} (and \code{error},
#' \code{condition}) with a more specific class first:
#' \itemize{
#'   \item from the daemon (class \code{readmit_daemon_error}): \code{readmit_bad_value},
#'     \code{readmit_bad_category}, \code{readmit_bad_columns}, \code{readmit_not_ready},
#'     \code{readmit_overloaded}, \code{readmit_too_many_rows}, ...; the condition's
#'     \code{row} and \code{feature} give the 1-based offending row and feature where the
#'     daemon named them;
#'   \item from the client library (class \code{readmit_client_error}):
#'     \code{readmit_timeout} (no reply in time), \code{readmit_unavailable_error} (no daemon
#'     at the endpoint, within about a second), \code{readmit_auth_error} (the daemon refused
#'     the client's CURVE handshake: key not authorized, wrong server key, CURVE on one side
#'     only; as fast), \code{readmit_zmq_error},
#'     \code{readmit_protocol_error}, ...;
#'   \item Ctrl-C during a call: the call returns at once and R's interrupt is signalled again
#'     (class \code{c("readmit_interrupted", "interrupt", "condition")});
#'   \item from the R side: \code{readmit_bad_shape},
#'     \code{readmit_invalid_argument}, \code{readmit_closed} (and \code{readmit_not_connected}, also a
#'     \code{readmit_closed}, for a client read back in another process: a connection does not
#'     survive \code{serialize}; forked \code{mclapply} workers may use the parent's client).
#' }
#' Every condition carries the message of the library or daemon; library and daemon errors
#' also carry \code{code} (the \code{READMIT_E*} number) and \code{name}.
#'
#' @useDynLib readmit, .registration = TRUE
#' @importFrom utils head
#' @keywords internal
"_PACKAGE"
