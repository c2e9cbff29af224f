# The client object: an environment (reference semantics, so readmit_close() closes every
# copy) holding the external pointer to the C client and the cached INFO of the model.

#' Connect to a readmitd daemon
#'
#' Opens a client to a running \code{readmitd}. ZeroMQ connects in the background, so this
#' succeeds even when the daemon is not up yet; the first request then waits for it up to the
#' timeout. A client that is not closed with \code{\link{readmit_close}} is closed when it is
#' garbage collected or when R exits.
#'
#' @param endpoint the daemon's endpoint, e.g. \code{"tcp://127.0.0.1:5555"} or
#'   \code{"ipc:///run/readmit.sock"}; or several endpoints of daemons serving the same model:
#'   requests are then spread over the daemons that are up (round robin), a daemon that dies
#'   is taken out of rotation within about a second and put back when it answers again, and a
#'   request that fails on one daemon is resent to another (scoring is idempotent). See
#'   \code{\link{readmit_endpoint_status}}.
#' @param timeout_ms per-attempt timeout of a request in milliseconds; a call returns within
#'   \code{(retries + 1) * timeout_ms}.
#' @param retries how many times a timed-out request is resent on a fresh socket
#'   (\code{NULL}: the library default, 2).
#' @param server_public_key,public_key,secret_key CURVE keys (40-character Z85 text as
#'   written by \code{readmit keys}): the daemon's public key and this client's key pair. All
#'   three or none.
#' @param max_reply_bytes largest reply accepted (\code{NULL}: the library default, 512 MiB).
#' @param split_rows with several endpoints, a scoring call of more than \code{split_rows}
#'   rows is cut into chunks of \code{split_rows} rows scored by several daemons at once and
#'   reassembled in order; the result is bit-identical to one daemon's. 0 (the default) never
#'   splits; a few thousand (e.g. 2000) is a good start.
#' @return a \code{readmit_client}.
#' @seealso \code{\link{readmit_score}}, \code{\link{readmit_info}}, \code{\link{readmit_close}}
#' @examples
#' \dontrun{
#' cl <- readmit_connect("tcp://127.0.0.1:5555", timeout_ms = 2000)
#' readmit_health(cl)
#' readmit_close(cl)
#' }
#' @export
readmit_connect <- function(endpoint, timeout_ms = 5000, retries = NULL,
                            server_public_key = NULL, public_key = NULL, secret_key = NULL,
                            max_reply_bytes = NULL, split_rows = 0) {
  if (!is.character(endpoint) || length(endpoint) < 1L || anyNA(endpoint) || any(!nzchar(endpoint))) {
    readmit_abort("'endpoint' must be a non-empty character vector, e.g. \"tcp://127.0.0.1:5555\"",
                  class = "readmit_invalid_argument")
  }
  timeout_ms <- check_count(timeout_ms, "timeout_ms", min = 1)
  retries <- if (is.null(retries)) NA_integer_ else check_count(retries, "retries", min = 0)
  keys <- list(server_public_key, public_key, secret_key)
  given <- !vapply(keys, is.null, logical(1))
  if (any(given) && !all(given)) {
    readmit_abort("CURVE needs all of 'server_public_key', 'public_key' and 'secret_key'",
                  class = "readmit_invalid_argument")
  }
  curve <- if (all(given)) {
    keys <- vapply(keys, function(k) {
      if (!is.character(k) || length(k) != 1L || is.na(k)) {
        readmit_abort("CURVE keys must be single strings", class = "readmit_invalid_argument")
      }
      k
    }, character(1))
    keys
  } else NULL
  max_reply <- if (is.null(max_reply_bytes)) NA_real_ else check_bytes(max_reply_bytes, "max_reply_bytes")
  split_rows <- as.numeric(check_count(split_rows, "split_rows", min = 0))
  ptr <- check_failure(.Call(rreadmit_connect, endpoint, timeout_ms, retries, curve, max_reply,
                             split_rows))
  cl <- new.env(parent = emptyenv())
  cl$ptr <- ptr
  cl$endpoint <- endpoint
  cl$timeout_ms <- timeout_ms
  cl$info <- NULL
  cl$schema <- NULL
  class(cl) <- "readmit_client"
  cl
}

# A whole number >= min, as an integer; otherwise an error naming the argument.
check_count <- function(x, name, min = 0) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x != floor(x) || x < min || x > .Machine$integer.max) {
    readmit_abort(sprintf("'%s' must be a whole number from %d to %d", name, min, .Machine$integer.max),
                  class = "readmit_invalid_argument", call = sys.call(-1))
  }
  as.integer(x)
}

# A byte count of at least 1024 (the library's floor) that a double holds exactly, as a double,
# or a classed error: as.numeric() let "abc" through as NA (the default, with a coercion warning)
# and -1 reach C as a negative size (undefined in the conversion to size_t).
check_bytes <- function(x, name) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || x != floor(x) || x < 1024 || x > 2^53) {
    readmit_abort(sprintf("'%s' must be a whole number of bytes, at least 1024", name),
                  class = "readmit_invalid_argument", call = sys.call(-1))
  }
  as.numeric(x)
}

# The external pointer of an open client, or a classed error.
client_ptr <- function(cl) {
  if (!inherits(cl, "readmit_client")) {
    readmit_abort("'cl' must be a client from readmit_connect()", class = "readmit_invalid_argument",
                  call = sys.call(-1))
  }
  open <- if (is.null(cl$ptr)) FALSE else .Call(rreadmit_is_open, cl$ptr)
  if (is.na(open)) {
    # It said "the readmit client is closed", which the user never did.
    readmit_abort(paste("the readmit client was made in another R process or session and read back",
                        "(serialize, saveRDS, a future multisession or PSOCK worker): its connection does not",
                        "travel; open one in this process with readmit_connect() (forked mclapply workers may use",
                        "the parent's client)"),
                  class = c("readmit_not_connected", "readmit_closed"), call = sys.call(-1))
  }
  if (!open) readmit_abort("the readmit client is closed", class = "readmit_closed", call = sys.call(-1))
  cl$ptr
}

#' Close a client
#'
#' Closes the connection and frees the client. Closing twice is harmless; using a closed
#' client is an error of class \code{readmit_closed}.
#'
#' @param cl a client from \code{\link{readmit_connect}}.
#' @return \code{cl}, invisibly.
#' @export
readmit_close <- function(cl) {
  if (!inherits(cl, "readmit_client")) {
    readmit_abort("'cl' must be a client from readmit_connect()", class = "readmit_invalid_argument")
  }
  if (!is.null(cl$ptr)) .Call(rreadmit_close, cl$ptr)
  invisible(cl)
}

#' Per-endpoint state of a client
#'
#' What the client knows of each of its endpoints (updated by its calls; no daemon is asked).
#'
#' @param cl a client from \code{\link{readmit_connect}}.
#' @return a data.frame with one row per endpoint, in the order given: \code{endpoint},
#'   \code{in_rotation} (requests go to it now), \code{requests} (requests or split chunks it
#'   answered) and \code{failures} (attempts that failed there: unavailable or timed out).
#' @examples
#' \dontrun{
#' cl <- readmit_connect(c("tcp://10.0.0.1:5555", "tcp://10.0.0.2:5555"))
#' readmit_endpoint_status(cl)
#' }
#' @export
readmit_endpoint_status <- function(cl) {
  s <- check_failure(.Call(rreadmit_endpoint_status, client_ptr(cl)))
  data.frame(endpoint = cl$endpoint, in_rotation = s[[1]], requests = s[[2]], failures = s[[3]],
             stringsAsFactors = FALSE)
}

#' @export
print.readmit_client <- function(x, ...) {
  open <- if (is.null(x$ptr)) FALSE else .Call(rreadmit_is_open, x$ptr)
  cat(sprintf("<readmit_client %s (%s)>\n", paste(x$endpoint, collapse = ", "),
              if (is.na(open)) "not connected: made in another process" else if (open) "open" else "closed"))
  open <- isTRUE(open)
  if (open && !is.null(x$info)) {
    cat(sprintf("  model %s, %d features\n", x$info$model_id, length(x$schema$name)))
  }
  invisible(x)
}

#' Model information and feature schema
#'
#' Asks the daemon (INFO) for the serving model's metadata, its feature schema (the contract
#' for a numeric feature matrix, see \code{\link{readmit_schema}}) and its raw fields (the
#' columns of \code{\link{readmit_score_records}}, see \code{\link{readmit_raw_fields}}).
#'
#' @param cl a client from \code{\link{readmit_connect}}.
#' @param refresh ask the daemon again instead of returning the copy cached by the client
#'   (useful after a model reload).
#' @return a list read from the INFO JSON (by the C library's JSON reader): \code{model_id},
#'   \code{model_version}, \code{created_at}, \code{tiers} (list of \code{name},
#'   \code{min_risk}), \code{n_features}, \code{features} (one entry per feature in schema
#'   order: \code{index}, \code{name}, \code{kind}, \code{levels}, ...) and
#'   \code{raw_fields}, as the daemon sends them.
#' @export
readmit_info <- function(cl, refresh = FALSE) {
  ptr <- client_ptr(cl)
  if (refresh || is.null(cl$info)) {
    json <- check_failure(.Call(rreadmit_info_json, ptr))
    # readmit_info_json also refreshed the library's cached schema: read it back through the
    # library's accessors (readmit_feature_*, readmit_raw_field_name), with no round trip.
    schema <- check_failure(.Call(rreadmit_schema, ptr))
    cl$info <- parse_json(json)
    cl$schema <- schema
  }
  cl$info
}

# The feature schema and raw field names of the model, as the C library reads them from INFO
# (src/rreadmit.c, rreadmit_schema): list(name, kind, source, levels, raw_fields).
client_schema <- function(cl) {
  readmit_info(cl)
  cl$schema
}

#' Daemon health
#'
#' @param cl a client from \code{\link{readmit_connect}}.
#' @return a list with \code{live} (\code{TRUE}: the daemon answered), \code{ready}
#'   (\code{TRUE} when a model is loaded) and \code{model_version} (16 hex digits). A daemon
#'   that does not answer gives an error of class \code{readmit_timeout}; no daemon at the
#'   endpoint, one of class \code{readmit_unavailable_error} within about a second.
#' @export
readmit_health <- function(cl) {
  check_failure(.Call(rreadmit_health, client_ptr(cl)))
}

#' Daemon statistics
#'
#' @param cl a client from \code{\link{readmit_connect}}.
#' @param prometheus return Prometheus text instead of the parsed JSON.
#' @return a list parsed from the STATS JSON (request and error counters, latency
#'   percentiles, model version, uptime), or a string of Prometheus text.
#' @export
readmit_stats <- function(cl, prometheus = FALSE) {
  text <- check_failure(.Call(rreadmit_stats, client_ptr(cl), isTRUE(prometheus)))
  if (isTRUE(prometheus)) text else parse_json(text)
}

#' Reload the daemon's model
#'
#' @param cl a client from \code{\link{readmit_connect}}.
#' @param path \code{NULL} to re-read the daemon's configured model file, or the path of a
#'   model file (needs the daemon's \code{--allow-reload-path}).
#' @return a list with the \code{model_version} and \code{model_id} now serving. The client's
#'   cached schema is dropped.
#' @export
readmit_reload <- function(cl, path = NULL) {
  ptr <- client_ptr(cl)
  if (!is.null(path) && (!is.character(path) || length(path) != 1L || is.na(path))) {
    readmit_abort("'path' must be NULL or a single string", class = "readmit_invalid_argument")
  }
  text <- check_failure(.Call(rreadmit_reload, ptr, path))
  cl$info <- NULL
  cl$schema <- NULL
  parse_json(text)
}

#' Version of the compiled client library
#'
#' @return the libreadmit version string compiled into this package.
#' @export
readmit_library_version <- function() {
  .Call(rreadmit_lib_version)
}

# Parses JSON text into R values with the C library's own JSON reader (rm_json.c, through
# src/rreadmit.c): objects become named lists, arrays of scalars of one type become atomic
# vectors, other arrays lists.
parse_json <- function(text) {
  .Call(rreadmit_json_parse, text)
}
