# Scoring and explanations. A data frame (or a named list of one encounter) holds raw records:
# it goes to the daemon as it is (RECORDS, readmit_score_records) and the daemon encodes it with
# its model's own dataset spec. A numeric matrix holds ready feature vectors in schema order:
# it goes through the numeric SCORE and EXPLAIN after a shape check.

#' The model's feature schema as a data frame
#'
#' The columns of a numeric feature matrix for \code{\link{readmit_score}} with a matrix, read
#' through the C library's schema accessors (\code{readmit_feature_*}). Raw records need none
#' of this: see \code{\link{readmit_raw_fields}}.
#'
#' @param cl a client from \code{\link{readmit_connect}}.
#' @return a data frame with one row per feature in schema order: \code{index} (1-based
#'   column of the feature matrix), \code{name}, \code{kind} (\code{"numeric"} or
#'   \code{"categorical"}: the value is then the 0-based index of a level), \code{source}
#'   (the raw field or rule it comes from) and \code{n_levels}.
#' @export
readmit_schema <- function(cl) {
  s <- client_schema(cl)
  data.frame(
    index = seq_along(s$name),
    name = s$name,
    kind = s$kind,
    source = s$source,
    n_levels = lengths(s$levels),
    stringsAsFactors = FALSE
  )
}

# Whether `x` holds raw records (a data frame, or a named list of one encounter's fields).
is_records <- function(x) {
  is.data.frame(x) || (is.list(x) && !is.object(x))
}

# The numeric feature matrix `x` checked against the schema (column count, and column names
# when it has them), as a double matrix in schema order.
as_feature_matrix <- function(cl, x, call) {
  if (!is.matrix(x) || !(is.numeric(x) || is.logical(x))) {
    readmit_abort("'x' must be a data frame of raw records (or a named list of one encounter's fields) or a numeric feature matrix",
                  class = "readmit_invalid_argument", call = call)
  }
  expected <- client_schema(cl)$name
  m <- length(expected)
  if (ncol(x) != m) {
    readmit_abort(sprintf("the feature matrix has %d column%s; the model's schema has %d features",
                          ncol(x), if (ncol(x) == 1L) "" else "s", m),
                  class = c("readmit_bad_shape", "readmit_input_error"), call = call)
  }
  if (!is.null(colnames(x)) && !identical(colnames(x), expected)) {
    if (setequal(colnames(x), expected) && !anyDuplicated(colnames(x))) {
      x <- x[, expected, drop = FALSE]   # same features in another order
    } else {
      bad <- setdiff(colnames(x), expected)
      readmit_abort(sprintf("the feature matrix's column names are not the schema's feature names%s",
                            if (length(bad)) paste0(" (unknown: ", paste(head(bad, 5L), collapse = ", "), ")") else ""),
                    class = c("readmit_bad_shape", "readmit_input_error"), call = call)
    }
  }
  if (!is.double(x)) storage.mode(x) <- "double"
  x
}

# Raw records through RECORDS (readmit_score_records); rows the daemon could not score (their
# `error`) are reported in one warning of class readmit_row_error, since the callers below
# return no error column.
score_records_checked <- function(cl, x, k, call, ...) {
  res <- readmit_score_records(cl, x, k = k, ...)
  bad <- which(!is.na(res$error))
  if (length(bad)) {
    shown <- head(bad, 5L)
    text <- sprintf("%d row%s not scored (NA): %s%s", length(bad), if (length(bad) == 1L) "" else "s",
                    paste(sprintf("row %d: %s", shown, res$error[shown]), collapse = "; "),
                    if (length(bad) > length(shown)) "; ..." else "")
    warning(structure(class = c("readmit_row_error", "warning", "condition"),
                      list(message = text, call = call, rows = bad, errors = res$error[bad])))
  }
  res
}

#' Score patients
#'
#' Sends the rows to the daemon and returns their calibrated probabilities of readmission
#' within 30 days.
#'
#' @param cl a client from \code{\link{readmit_connect}}.
#' @param x raw records: a data frame of encounters with one column per raw field (see
#'   \code{\link{readmit_raw_fields}}), or a named list of one encounter's fields; they are
#'   sent as they are and the daemon encodes them (\code{\link{readmit_score_records}}). Or a
#'   numeric feature matrix in schema order (\code{\link{readmit_schema}}), scored as it is.
#' @param ... for raw records, further arguments of \code{\link{readmit_score_records}}
#'   (\code{bad_values}, \code{missing_fields}).
#' @param interval \code{TRUE}: also return each risk's interval (see Details).
#' @return a numeric vector of risks, one per row; with \code{interval = TRUE} a data frame
#'   with one row per input row: \code{risk}, \code{risk_low} and \code{risk_high}.
#' @details Raw records without the history fields have unknown history: the daemon scores
#'   them as missing and says so in the call's \code{readmit_data_warning}. A row the daemon
#'   cannot score (an unreadable value) gets \code{NA}, reported in one warning of class
#'   \code{readmit_row_error} (its \code{rows} and \code{errors} fields); use
#'   \code{\link{readmit_score_records}} for the per-row errors and warnings as columns.
#'
#'   Errors are conditions of class \code{readmit_error}: for example
#'   \code{readmit_timeout} when the daemon does not answer, \code{readmit_bad_argument} for
#'   raw records without a required field (named in the condition's \code{field}),
#'   \code{readmit_bad_value} for an infinite value in a matrix (with the 1-based \code{row}
#'   and \code{feature} in the condition).
#'
#'   The interval (\code{interval = TRUE}; the protocol's "Risk intervals") is the inductive
#'   Venn-Abers interval of the model's calibration patients at the row's margin:
#'   \code{risk_low <= risk_high}, both in [0, 1], wide where those patients say little about
#'   such a row. It is a statement about the calibration data, not a confidence interval of
#'   the patient's true probability; the risk (Platt-scaled) is often outside its own interval
#'   (isotonic). The risks
#'   are the same as without it, and a row's interval never depends on the other rows. A model
#'   without an interval signals \code{readmit_no_interval} (also a
#'   \code{readmit_bad_argument}).
#' @seealso \code{\link{readmit_score_frame}} for atypicality and risk tier.
#' @examples
#' \dontrun{
#' cl <- readmit_connect("tcp://127.0.0.1:5555")
#' # flat records as `readmit history` writes them, every column read as text
#' recs <- read.csv("flat.csv", colClasses = "character", na.strings = character(0))
#' risk <- readmit_score(cl, recs)
#' }
#' @export
readmit_score <- function(cl, x, ..., interval = FALSE) {
  call <- sys.call()
  interval <- check_flag(interval, "interval", call)
  res <- if (is_records(x)) {
    score_records_checked(cl, x, k = 0L, call = call, interval = interval, ...)
  } else {
    score_matrix(cl, x, full = interval, call = call, interval = interval)
  }
  if (!interval) return(res$risk)
  data.frame(risk = res$risk, risk_low = res$risk_low, risk_high = res$risk_high)
}

# Scores a numeric feature matrix. Returns the C result: list(risk, atypicality, tier,
# model_version). If the reply says another model scored the rows (the daemon reloaded a model
# meanwhile), the cached schema is refreshed and a warning says the matrix may have been built
# for the old model.
score_matrix <- function(cl, x, full, call, interval = FALSE) {
  ptr <- client_ptr(cl)
  info <- readmit_info(cl)
  res <- if (interval) {
    check_interval_failure(cl, .Call(rreadmit_score_interval, ptr, as_feature_matrix(cl, x, call)), call)
  } else {
    check_failure(.Call(rreadmit_score, ptr, as_feature_matrix(cl, x, call), full), call)
  }
  if (!same_version(res$model_version, info$model_version)) {
    readmit_info(cl, refresh = TRUE)
    warning(sprintf("the daemon now serves model %s, not %s: the matrix may have been built for the old model",
                    res$model_version, info$model_version), call. = FALSE)
  }
  res
}

# Model versions are hex strings; compare them as numbers (case and leading zeros aside).
same_version <- function(a, b) {
  is.character(a) && is.character(b) && length(a) == 1L && length(b) == 1L &&
    identical(sub("^0+", "", tolower(a)), sub("^0+", "", tolower(b)))
}

#' Score patients, with atypicality and risk tier
#'
#' @inheritParams readmit_score
#' @return a data frame with one row per input row: \code{risk} (calibrated probability of
#'   readmission within 30 days), \code{atypicality} (how unlike the training patients the
#'   row is; on the shipped data a high value does not mean a less certain risk: see the
#'   training report's atypicality section) and \code{tier} (a factor with the
#'   model's tier names, \code{low}, \code{medium}, \code{high}). For raw records, also
#'   \code{error} and \code{warnings} per row and the attributes of
#'   \code{\link{readmit_score_records}} (it is its result). The attribute
#'   \code{model_version} names the model that scored the rows. With \code{interval = TRUE}
#'   also \code{risk_low} and \code{risk_high} after \code{risk} (see
#'   \code{\link{readmit_score}}).
#' @export
readmit_score_frame <- function(cl, x, ..., interval = FALSE) {
  call <- sys.call()
  interval <- check_flag(interval, "interval", call)
  if (is_records(x)) return(score_records_checked(cl, x, k = 0L, call = call, interval = interval, ...))
  res <- score_matrix(cl, x, full = TRUE, call = call, interval = interval)
  tiers <- tier_names(readmit_info(cl))
  out <- data.frame(
    risk = res$risk,
    atypicality = res$atypicality,
    tier = factor(tiers[res$tier + 1L], levels = tiers),
    stringsAsFactors = FALSE
  )
  if (interval) out <- data.frame(out[1L], risk_low = res$risk_low, risk_high = res$risk_high, out[-1L])
  attr(out, "model_version") <- res$model_version
  out
}

# Tier names in tier order from INFO ("tiers": [{"name": ...}, ...]).
tier_names <- function(info) {
  t <- info$tiers
  names <- if (is.list(t)) vapply(t, function(e) as.character(e$name), "") else character()
  if (!length(names)) names <- c("low", "medium", "high")
  names
}

#' Explain risk scores
#'
#' Returns, for each row, the \code{k} features that contribute most to its risk (by
#' absolute contribution to the log-odds), largest first.
#'
#' @inheritParams readmit_score
#' @param k how many features per row (clamped to the number of features).
#' @return a data frame in long form with up to \code{k} rows per input row (fewer when a row
#'   has fewer non-zero contributions, none for a row the daemon could not score):
#'   \code{row} (1-based input row), \code{rank}, \code{feature} (name), \code{index} (1-based
#'   column in the feature matrix), \code{value} (for a matrix the row's value of that
#'   feature, \code{NA} when missing; for raw records the value as the daemon reports it, a
#'   text such as \code{"6"} or a level's name) and \code{contribution} (log-odds).
#' @export
readmit_explain <- function(cl, x, k = 5, ...) {
  call <- sys.call()
  k <- check_count(k, "k", min = 1)
  if (is_records(x)) {
    ex <- attr(score_records_checked(cl, x, k = k, call = call, ...), "explanations")
    out <- data.frame(row = as.integer(ex$row), rank = as.integer(ex$rank), feature = ex$feature,
                      index = match(ex$feature, client_schema(cl)$name), value = ex$value,
                      contribution = ex$contribution, stringsAsFactors = FALSE)
    out <- out[order(out$row, out$rank), , drop = FALSE]
    rownames(out) <- NULL
    return(out)
  }
  ptr <- client_ptr(cl)
  features <- as_feature_matrix(cl, x, call)
  res <- check_failure(.Call(rreadmit_explain, ptr, features, k))
  n <- nrow(features)
  kk <- ncol(res$feature)
  names_ <- client_schema(cl)$name
  row <- rep(seq_len(n), times = kk)
  rank <- rep(seq_len(kk), each = n)
  idx <- as.vector(res$feature)
  keep <- !is.na(idx)
  o <- order(row[keep], rank[keep])
  row <- row[keep][o]
  idx <- idx[keep][o]
  data.frame(
    row = row,
    rank = rank[keep][o],
    feature = names_[idx],
    index = idx,
    value = features[cbind(row, idx)],
    contribution = as.vector(res$contribution)[keep][o],
    stringsAsFactors = FALSE
  )
}
