# Scoring a large data frame in parallel chunks over several daemons with the 'future' framework.

#' Score a large data frame in parallel chunks over several daemons
#'
#' Cuts \code{data} into chunks of \code{chunk_rows} rows and scores them in parallel with
#' \code{future.apply::future_lapply}, on the workers of the current \code{future::plan()}
#' (for example \code{plan(multisession, workers = 4)} on one machine, or a cluster plan).
#' Each chunk opens its own client to all of \code{endpoint} (daemons serving the same model),
#' so the chunks are spread over the daemons by the client's load balancing (see
#' \code{\link{readmit_connect}}), and a daemon that dies during the call costs no chunk. The
#' results are joined in order: the value is the same as \code{\link{readmit_score_records}}
#' on the whole frame gives (rows, \code{messages} with their rows, \code{explanations},
#' \code{model_version}; one \code{readmit_data_warning} for the whole call), because a row's
#' result never depends on the other rows.
#'
#' @param endpoint one or several daemon endpoints (as for \code{\link{readmit_connect}}).
#' @param data a data frame of encounters, as for \code{\link{readmit_score_records}}.
#' @param chunk_rows rows per chunk (each chunk is one request of one worker).
#' @param k,bad_values,missing_fields,interval as for \code{\link{readmit_score_records}}.
#' @param timeout_ms,retries as for \code{\link{readmit_connect}}, per chunk.
#' @param server_public_key,public_key,secret_key CURVE keys, as for
#'   \code{\link{readmit_connect}}: each worker's client uses them (so the secret key is sent
#'   to the workers of the plan). Checked before any chunk is sent.
#' @return the data frame of \code{\link{readmit_score_records}} for all of \code{data}.
#' @details Needs the \code{future.apply} package (Debian: \code{r-cran-future.apply});
#'   without it the call fails with an error of class \code{readmit_invalid_argument}. Workers
#'   must have this package installed (multisession workers use the calling session's library
#'   paths). If the chunks were scored by different model versions (a model reload during the
#'   call) the call fails with an error of class \code{readmit_version_mismatch}: call again.
#' @seealso \code{\link{readmit_score_records}}, \code{\link{readmit_connect}} (its
#'   \code{split_rows} splits a batch over the daemons within one call, without workers)
#' @examples
#' \dontrun{
#' future::plan(future::multisession, workers = 4)
#' eps <- c("tcp://10.0.0.1:5555", "tcp://10.0.0.2:5555")
#' recs <- read.csv("flat.csv", colClasses = "character", na.strings = character(0))
#' res <- readmit_score_parallel(eps, recs, chunk_rows = 20000)
#' }
#' @export
readmit_score_parallel <- function(endpoint, data, chunk_rows = 10000L, k = 0L,
                                   bad_values = c("error", "missing"),
                                   missing_fields = c("error", "missing"), interval = FALSE,
                                   timeout_ms = 60000, retries = NULL,
                                   server_public_key = NULL, public_key = NULL, secret_key = NULL) {
  call <- sys.call()
  if (!requireNamespace("future.apply", quietly = TRUE)) {
    readmit_abort("readmit_score_parallel() needs the 'future.apply' package (Debian: r-cran-future.apply)",
                  class = "readmit_invalid_argument", call = call)
  }
  if (!is.data.frame(data)) {
    readmit_abort("'data' must be a data frame of encounters", class = "readmit_invalid_argument", call = call)
  }
  chunk_rows <- check_count(chunk_rows, "chunk_rows", min = 1)
  k <- check_count(k, "k", min = 0)
  bad_values <- check_choice(bad_values, c("error", "missing"), "bad_values", call)
  missing_fields <- check_choice(missing_fields, c("error", "missing"), "missing_fields", call)
  # The endpoints, timeout and keys checked here, once, not as an error from every worker
  # (a client opens without a daemon: ZeroMQ connects in the background).
  readmit_close(readmit_connect(endpoint, timeout_ms = timeout_ms, retries = retries,
                                server_public_key = server_public_key, public_key = public_key,
                                secret_key = secret_key))
  n <- nrow(data)
  starts <- if (n == 0L) 1L else seq.int(1L, n, by = chunk_rows)
  chunks <- lapply(starts, function(s) data[seq.int(s, length.out = min(chunk_rows, max(n - s + 1L, 0L))), ,
                                             drop = FALSE])
  score_chunk <- function(chunk) {
    cl <- readmit::readmit_connect(endpoint, timeout_ms = timeout_ms, retries = retries,
                                   server_public_key = server_public_key, public_key = public_key,
                                   secret_key = secret_key)
    on.exit(readmit::readmit_close(cl))
    # The call's one warning is made from all chunks' messages below.
    withCallingHandlers(
      readmit::readmit_score_records(cl, chunk, k = k, bad_values = bad_values,
                                     missing_fields = missing_fields, interval = interval),
      readmit_data_warning = function(w) invokeRestart("muffleWarning"))
  }
  parts <- future.apply::future_lapply(chunks, score_chunk, future.seed = NULL,
                                       future.packages = "readmit")
  versions <- unique(vapply(parts, function(p) format(attr(p, "model_version")), character(1)))
  if (length(versions) > 1L) {
    readmit_abort(sprintf("the chunks were scored by different model versions (%s): a reload during the call; score again",
                          paste(versions, collapse = ", ")),
                  class = c("readmit_version_mismatch", "readmit_client_error"), call = call)
  }
  offsets <- c(0L, cumsum(vapply(parts, nrow, integer(1))))
  msgs <- do.call(rbind, lapply(seq_along(parts), function(i) {
    m <- attr(parts[[i]], "messages")
    m <- m[!is.na(m$row) | i == 1L, , drop = FALSE]   # whole-request messages once
    m$row <- m$row + offsets[i]
    m
  }))
  rownames(msgs) <- NULL
  expl <- if (k > 0L) {
    e <- do.call(rbind, lapply(seq_along(parts), function(i) {
      x <- attr(parts[[i]], "explanations")
      x$row <- x$row + offsets[i]
      x
    }))
    rownames(e) <- NULL
    e
  }
  model_version <- attr(parts[[1L]], "model_version")
  out <- do.call(rbind, lapply(parts, function(p) {
    attr(p, "messages") <- NULL
    attr(p, "explanations") <- NULL
    attr(p, "model_version") <- NULL
    p
  }))
  rownames(out) <- NULL
  if (.row_names_info(data) > 0L) row.names(out) <- row.names(data)  # as readmit_score_records
  if (k > 0L) attr(out, "explanations") <- expl
  attr(out, "messages") <- msgs
  attr(out, "model_version") <- model_version
  warn_records(msgs, call)
  out
}
