# Scoring and explanations: data frames are encoded (readmit_encode), matrices pass through
# after a shape check; the matrix goes to the daemon through libreadmit.

# The feature matrix for `x`: a data frame is encoded, a numeric matrix is checked against the
# schema (column count, and column names when it has them).
as_feature_matrix <- function(cl, x, call) {
  if (is.data.frame(x)) {
    return(encode_frame(x, readmit_info(cl)$features, call = call))
  }
  if (!is.matrix(x) || !(is.numeric(x) || is.logical(x))) {
    readmit_abort("'x' must be a data frame of raw columns or a numeric feature matrix",
                  class = "readmit_invalid_argument", call = call)
  }
  specs <- readmit_info(cl)$features
  m <- length(specs)
  if (ncol(x) != m) {
    readmit_abort(sprintf("the feature matrix has %d column%s; the model's schema has %d features",
                          ncol(x), if (ncol(x) == 1L) "" else "s", m),
                  class = c("readmit_bad_shape", "readmit_input_error"), call = call)
  }
  if (!is.null(colnames(x))) {
    expected <- vapply(specs, function(f) as.character(f$name), "")
    if (!identical(colnames(x), expected)) {
      if (setequal(colnames(x), expected) && !anyDuplicated(colnames(x))) {
        x <- x[, expected, drop = FALSE]   # same features in another order
      } else {
        bad <- setdiff(colnames(x), expected)
        readmit_abort(sprintf("the feature matrix's column names are not the schema's feature names%s",
                              if (length(bad)) paste0(" (unknown: ", paste(head(bad, 5L), collapse = ", "), ")") else ""),
                      class = c("readmit_bad_shape", "readmit_input_error"), call = call)
      }
    }
  }
  if (!is.double(x)) storage.mode(x) <- "double"
  x
}

#' Score patients
#'
#' Sends the rows to the daemon and returns their calibrated probabilities of readmission
#' within 30 days.
#'
#' @param cl a client from \code{\link{readmit_connect}}.
#' @param x a data frame of raw columns (encoded with \code{\link{readmit_encode}}) or a
#'   numeric feature matrix in schema order (as \code{readmit_encode} returns).
#' @return a numeric vector of risks, one per row.
#' @details Errors are conditions of class \code{readmit_error}: for example
#'   \code{readmit_timeout} when the daemon does not answer, \code{readmit_bad_value} for an
#'   infinite value (with the 1-based \code{row} and \code{feature} in the condition),
#'   \code{readmit_missing_column} for a data frame without a required column.
#' @seealso \code{\link{readmit_score_frame}} for atypicality and risk tier.
#' @examples
#' \dontrun{
#' cl <- readmit_connect("tcp://127.0.0.1:5555")
#' risk <- readmit_score(cl, read.csv("cohort.csv", na.strings = "?"))
#' }
#' @export
readmit_score <- function(cl, x) {
  score_any(cl, x, full = FALSE, call = sys.call())$risk
}

# Scores a data frame (encoded straight into the send buffer, no R matrix) or a matrix.
# Returns the C result: list(risk, atypicality, tier, model_version).
#
# The schema used to encode is the client's cached INFO. If the reply says another model scored
# the rows (the daemon reloaded a model meanwhile), the cache is refreshed; a data frame is then
# encoded again for the new model and scored once more, and for a matrix (encoded by the
# caller) a warning says it may have been encoded for the old model.
score_any <- function(cl, x, full, call) {
  ptr <- client_ptr(cl)
  for (attempt in 1:2) {
    info <- readmit_info(cl)
    if (is.data.frame(x)) {
      prep <- prepare_columns(x, info$features, call)
      res <- .Call(rreadmit_score_columns, ptr, prep$cols, prep$kind, prep$n_levels, full)
      if (attempt == 1L) warn_encode(prep, res$missing, res$unseen, call)
      res <- check_failure(res$result, call)
    } else {
      res <- check_failure(.Call(rreadmit_score, ptr, as_feature_matrix(cl, x, call), full), call)
    }
    if (same_version(res$model_version, info$model_version)) break
    readmit_info(cl, refresh = TRUE)
    if (!is.data.frame(x)) {
      warning(sprintf("the daemon now serves model %s, not %s: the matrix may have been encoded for the old model (encode again)",
                      res$model_version, info$model_version), call. = FALSE)
      break
    }
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
#'   row is; a high value means the risk is less certain) and \code{tier} (a factor with the
#'   model's tier names, \code{low}, \code{medium}, \code{high}). The attribute
#'   \code{model_version} names the model that scored the rows.
#' @export
readmit_score_frame <- function(cl, x) {
  res <- score_any(cl, x, full = TRUE, call = sys.call())
  tiers <- tier_names(readmit_info(cl))
  out <- data.frame(
    risk = res$risk,
    atypicality = res$atypicality,
    tier = factor(tiers[res$tier + 1L], levels = tiers),
    stringsAsFactors = FALSE
  )
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
#' @return a data frame in long form with \code{k} rows per input row (fewer when a row has
#'   fewer non-zero contributions): \code{row} (1-based input row), \code{rank},
#'   \code{feature} (name), \code{index} (1-based column in the feature matrix),
#'   \code{value} (the row's encoded value of that feature) and \code{contribution}
#'   (log-odds).
#' @export
readmit_explain <- function(cl, x, k = 5) {
  ptr <- client_ptr(cl)
  k <- check_count(k, "k", min = 1)
  features <- as_feature_matrix(cl, x, sys.call())
  res <- check_failure(.Call(rreadmit_explain, ptr, features, k))
  n <- nrow(features)
  kk <- ncol(res$feature)
  names_ <- vapply(readmit_info(cl)$features, function(f) as.character(f$name), "")
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
