# Raw records (the protocol's RECORDS, docs/PROTOCOL.md "Raw records"): encounters go to the
# daemon as they are, one named column per raw field, and the daemon encodes them with its
# model's own dataset spec. Nothing is encoded here: the columns are sent as numbers or as
# texts, and the daemon applies its one documented policy to both (the same outcome as the C
# and Python clients and `readmit score --records`).

#' Raw fields of the serving model
#'
#' Lists the raw fields of one encounter that \code{\link{readmit_score_records}} sends, as the
#' model's dataset spec names them (the INFO reply's \code{raw_fields}). Read them instead of
#' hard-coding column names: they change with the model's dataset.
#'
#' @param cl a client from \code{\link{readmit_connect}}.
#' @return a data frame with one row per raw field: \code{name} (the column name to send),
#'   \code{type} (\code{"number"}, \code{"text"}, \code{"timestamp"},
#'   \code{"diagnosis_code"}, or \code{"other"} for a type newer than this package),
#'   \code{required} (\code{TRUE} when a request without this column fails, unless
#'   \code{missing_fields = "missing"}), \code{history} (\code{TRUE} for a value from the
#'   caller's records of the patient's earlier stays) and \code{levels} (a list column: the
#'   texts learned in training for a text field, else empty).
#' @seealso \code{\link{readmit_score_records}}
#' @examples
#' \dontrun{
#' cl <- readmit_connect("tcp://127.0.0.1:5555")
#' fields <- readmit_raw_fields(cl)
#' fields$name[fields$required]
#' }
#' @export
readmit_raw_fields <- function(cl) {
  res <- check_failure(.Call(rreadmit_raw_fields, client_ptr(cl)))
  data.frame(
    name = res$name,
    type = res$type,
    required = res$required,
    history = res$history,
    levels = I(res$levels),
    stringsAsFactors = FALSE
  )
}

#' Score raw encounter records
#'
#' Sends encounters as they are in the EHR, one named column per raw field (see
#' \code{\link{readmit_raw_fields}}), and the daemon encodes them with its model's own dataset
#' spec, through the encoder training used. Each row is encoded alone: a row's result never
#' depends on the other rows.
#'
#' The columns are sent as they are, without any encoding in R: numeric and integer columns
#' as numbers (\code{NA} is missing); every other column (character, factor (its labels),
#' logical, \code{Date}, ...) as texts, through \code{as.character} (a \code{POSIXct} or
#' \code{POSIXlt} value as \code{"\%Y-\%m-\%d \%H:\%M:\%S"} in its time zone, the time always
#' written, with microseconds when it has a fraction of a second, as Python writes it)
#' (\code{NA} is missing; a factor goes as its codes and levels, the same texts without a
#' character vector per column). The daemon then reads them by the rules of
#' \code{docs/PROTOCOL.md}: a text that is not a number in a number field (\code{"three"},
#' \code{TRUE}, a date) is an error of its row (\code{bad_number}), a text that is not a level
#' learned in training is missing with a warning (\code{unknown_level}), the spec's missing
#' tokens (such as \code{"?"}) are missing. Column names that \code{read.csv} mangled
#' (\code{glyburide.metformin} for \code{glyburide-metformin}) are given back their raw
#' field's name; columns the model does not read are ignored with a warning.
#'
#' @param cl a client from \code{\link{readmit_connect}}.
#' @param data a data frame of encounters (one row each), or a named list: single values for
#'   one encounter, or fields of one length for several.
#' @param k the number of explanations per row (0: none).
#' @param bad_values \code{"error"}: a value that cannot be read is an error of its row (the
#'   row is not scored); \code{"missing"}: it is missing, with a warning.
#' @param missing_fields \code{"error"}: a required field absent from \code{data} fails the
#'   call with a \code{readmit_bad_argument} error naming it; \code{"missing"}: it is missing
#'   for every row, with a warning.
#' @param interval \code{TRUE}: also return each risk's interval as \code{risk_low} and
#'   \code{risk_high} (\code{NaN} for a row with an error; see \code{\link{readmit_score}}). A
#'   model without an interval signals \code{readmit_no_interval}.
#' @return a data frame with one row per input row: \code{risk} (calibrated probability of
#'   readmission within 30 days), with \code{interval = TRUE} \code{risk_low} and
#'   \code{risk_high}, \code{atypicality}, \code{tier} (a factor with the model's
#'   tier names), \code{error} (the row's error message, \code{NA} when the row was scored;
#'   a row with an error has \code{NA} risk, atypicality and tier), \code{warnings} (the
#'   row's warnings joined by \code{"; "}, \code{""} when none) and, when \code{k > 0},
#'   \code{explanation} (\code{"feature=value +contribution; ..."}, the largest absolute
#'   log-odds contribution first). Attributes: \code{messages} (every error and warning:
#'   \code{row} (1-based, \code{NA} for the whole request), \code{field}, \code{severity},
#'   \code{code}, \code{message}), \code{explanations} (with \code{k > 0}, in long form:
#'   \code{row}, \code{rank}, \code{feature}, \code{value}, \code{contribution}) and
#'   \code{model_version}.
#' @details Row errors never signal: they are in the \code{error} column. Warnings (unknown
#'   levels, unused columns, absent history fields, ...) are summarised in one warning of
#'   class \code{readmit_data_warning} per call, whose \code{messages} field holds them all.
#'   A request the daemon refuses (an absent required field) is an error of class
#'   \code{readmit_bad_argument} (a \code{readmit_daemon_error}) naming the field (also in
#'   its \code{field}); daemon and connection failures are the classed conditions of
#'   \code{\link{readmit_score}}. Like the other calls, a call waits for the daemon at most
#'   \code{(retries + 1) * timeout_ms} (see \code{\link{readmit_connect}}).
#'
#'   History fields (\code{history} in \code{\link{readmit_raw_fields}}) come from the
#'   caller's records of the patient's earlier stays (\code{readmit history} writes them for
#'   tables of encounters). A frame without them has unknown history: the daemon scores those
#'   features as missing, with a warning.
#'
#'   \code{\link{readmit_score}}, \code{\link{readmit_score_frame}} and
#'   \code{\link{readmit_explain}} on a data frame send it through this function too.
#' @seealso \code{\link{readmit_raw_fields}}
#' @examples
#' \dontrun{
#' cl <- readmit_connect("tcp://127.0.0.1:5555")
#' # flat records as `readmit history` writes them, every column read as text
#' recs <- read.csv("flat.csv", colClasses = "character", na.strings = character(0))
#' res <- readmit_score_records(cl, recs, k = 3)
#' res[!is.na(res$error), c("error")]
#' # one encounter as a named list of its fields (the names come from readmit_raw_fields)
#' readmit_score_records(cl, as.list(recs[1, ]))
#' }
#' @export
readmit_score_records <- function(cl, data, k = 0L, bad_values = c("error", "missing"),
                                  missing_fields = c("error", "missing"), interval = FALSE) {
  call <- sys.call()
  ptr <- client_ptr(cl)
  k <- check_count(k, "k", min = 0)
  interval <- check_flag(interval, "interval", call)
  bad_values <- check_choice(bad_values, c("error", "missing"), "bad_values", call)
  missing_fields <- check_choice(missing_fields, c("error", "missing"), "missing_fields", call)
  cols <- records_columns(data, call)
  info <- readmit_info(cl)
  names(cols$cols) <- unmangle_names(names(cols$cols), client_schema(cl)$raw_fields)
  options <- (if (missing_fields == "missing") 1L else 0L) + (if (bad_values == "missing") 2L else 0L) +
    (if (interval) 4L else 0L)
  # Columns the model does not read (an id column, the label) go without their values: the
  # daemon only warns about them (unused_field), and an id column's 100,000 distinct texts cost
  # more to send and decode than the rest of a frame. Valid only for the model INFO described:
  # a reply from another one (a reload in between) sends again, in full.
  read <- records_read(info)
  unread <- if (is.null(read)) character(0) else setdiff(names(cols$cols), read)
  sent <- cols$cols
  sent[unread] <- list(rep(NA_character_, cols$n))
  res <- .Call(rreadmit_score_records, ptr, names(sent), unname(sent), cols$n, k, options)
  if (length(unread) && !is.na(res$model_version) && !same_version(res$model_version, info$model_version)) {
    info <- readmit_info(cl, refresh = TRUE)
    res <- .Call(rreadmit_score_records, ptr, names(cols$cols), unname(cols$cols), cols$n, k, options)
  }
  if (interval && no_interval_failure(cl, res)) stop_no_interval(res, call)
  if (inherits(res, "readmit_failure")) {
    # The daemon names an absent required field ("required field 'age' is absent"): the
    # condition carries it as `field`.
    field <- regmatches(res$message, regexec("required field '([^']+)'", res$message))[[1]]
    err <- tryCatch(check_failure(res, call), readmit_error = identity)
    if (length(field) == 2L) {
      err$field <- field[2]
      # A frame of feature vectors (`readmit encode`'s output) read as raw records: the daemon
      # names a raw field, which hides the cause.
      if (all(client_schema(cl)$name %in% names(cols$cols))) {
        err$message <- paste0(err$message, "; the columns of 'data' are the model's feature names: a feature matrix goes to ",
                              "readmit_score, readmit_score_frame or readmit_explain as a numeric matrix, ",
                              "as.matrix(data[readmit_schema(cl)$name])")
      }
    }
    stop(err)
  }
  if (!same_version(res$model_version, info$model_version)) info <- readmit_info(cl, refresh = TRUE)
  if (interval && is.null(res$risk_low)) {
    readmit_abort("the reply holds no intervals", class = c("readmit_protocol_error", "readmit_client_error"),
                  call = call)
  }
  out <- records_frame(res, cols$n, k, tier_names(info), call)
  # A frame's own row names (patient or encounter ids) name its results, as a pandas index does.
  if (is.data.frame(data) && .row_names_info(data) > 0L) row.names(out) <- row.names(data)
  out
}

#' Derive history fields from a patient file
#'
#' History is an input of \code{\link{readmit_score_records}}, never a guess: the daemon never
#' derives it behind the caller's back. When the rows of \code{data} hold patients' earlier
#' encounters, this explicit helper (the protocol's HISTORY) asks the daemon to derive each
#' row's history fields from the other rows of the same patient that ended before it began,
#' by the model's dataset spec and with the code training and \code{readmit history} use.
#' Unlike scoring, a row's history depends on the other rows of \code{data}: that is its job.
#'
#' @param cl a client from \code{\link{readmit_connect}}.
#' @param data a data frame of encounters, laid out as for \code{\link{readmit_score_records}},
#'   with the patient id and the dates or order column of the model's dataset spec (and, for a
#'   \code{count_positive} history feature, its label column).
#' @param bad_values,missing_fields as for \code{\link{readmit_score_records}}; an absent
#'   field needed to place the rows is a \code{readmit_bad_argument} error naming it.
#' @return \code{data} with one numeric column per history field (\code{NA} is unknown),
#'   replacing columns of the same name; pass it to \code{\link{readmit_score_records}}.
#'   Attributes: \code{messages} (every error and warning: \code{row} (1-based, \code{NA} for
#'   the whole request), \code{field}, \code{severity}, \code{code}, \code{message}) and
#'   \code{model_version}.
#' @details A row that cannot be placed (a bad date or order value, no patient id, ...) gets
#'   \code{NA} history and an error message naming its row and field; the other rows of its
#'   patient get a \code{history_incomplete} warning. Row errors never signal: the errors and
#'   warnings are summarised in one warning of class \code{readmit_data_warning} per call,
#'   whose \code{messages} field holds them all.
#' @seealso \code{\link{readmit_score_records}}, \code{\link{readmit_raw_fields}}
#' @examples
#' \dontrun{
#' cl <- readmit_connect("tcp://127.0.0.1:5555")
#' encounters <- read.csv("encounters.csv", colClasses = "character", na.strings = character(0))
#' res <- readmit_score_records(cl, readmit_derive_history(cl, encounters))
#' }
#' @export
readmit_derive_history <- function(cl, data, bad_values = c("error", "missing"),
                                   missing_fields = c("error", "missing")) {
  call <- sys.call()
  ptr <- client_ptr(cl)
  bad_values <- check_choice(bad_values, c("error", "missing"), "bad_values", call)
  missing_fields <- check_choice(missing_fields, c("error", "missing"), "missing_fields", call)
  if (!is.data.frame(data)) {
    readmit_abort("'data' must be a data frame of encounters (a patient file)",
                  class = "readmit_invalid_argument", call = call)
  }
  cols <- records_columns(data, call)
  names(cols$cols) <- unmangle_names(names(cols$cols), client_schema(cl)$raw_fields)
  options <- (if (missing_fields == "missing") 1L else 0L) + (if (bad_values == "missing") 2L else 0L)
  res <- .Call(rreadmit_derive_history, ptr, names(cols$cols), unname(cols$cols), cols$n, options)
  if (inherits(res, "readmit_failure")) {
    field <- regmatches(res$message, regexec("field '([^']+)'", res$message))[[1]]
    err <- tryCatch(check_failure(res, call), readmit_error = identity)
    if (length(field) == 2L) err$field <- field[2]
    stop(err)
  }
  out <- data
  for (name in names(res$fields)) {
    v <- res$fields[[name]]
    v[is.nan(v)] <- NA_real_   # unknown is R's NA (the daemon's NaN)
    out[[name]] <- v
  }
  m <- res$messages
  msgs <- data.frame(
    row = ifelse(m$row < 0L, NA_integer_, m$row + 1L),
    field = m$field,
    severity = m$severity,
    code = m$code,
    message = m$message,
    stringsAsFactors = FALSE
  )
  attr(out, "messages") <- msgs
  attr(out, "model_version") <- res$model_version
  warn_records(msgs, call, severities = c("warning", "error"))
  out
}

# The columns of `data` as sent: list(cols = named list of double or character vectors, n).
records_columns <- function(data, call) {
  if (is.data.frame(data)) {
    n <- nrow(data)
    cols <- as.list(data)
  } else if (is.list(data) && !is.object(data)) {
    # A named list is one encounter (single values) or several as columns of one length, as
    # as.data.frame() would take them and as Python takes a dict of lists.
    cols <- data
    len <- lengths(cols)
    n <- if (length(cols)) len[[1L]] else 1L
    if (any(len != n)) {
      shown <- utils::head(which(!duplicated(len)), 3L)
      readmit_abort(sprintf("the fields of 'data' have different lengths (%s); give one encounter as single values, or several as a data frame or fields of one length",
                            paste(sprintf("'%s' has %d", names(cols)[shown], len[shown]), collapse = ", ")),
                    class = "readmit_invalid_argument", call = call)
    }
  } else {
    readmit_abort("'data' must be a data frame of encounters or a named list of one encounter's fields",
                  class = "readmit_invalid_argument", call = call)
  }
  nm <- names(cols)
  if (length(cols) && (is.null(nm) || anyNA(nm) || any(!nzchar(nm)))) {
    readmit_abort("every column of 'data' needs a name (the raw field's name)",
                  class = "readmit_invalid_argument", call = call)
  }
  if (anyDuplicated(nm)) {
    readmit_abort(sprintf("duplicated column names: %s", paste(unique(nm[duplicated(nm)]), collapse = ", ")),
                  class = "readmit_invalid_argument", call = call)
  }
  for (j in seq_along(cols)) cols[[j]] <- record_column(cols[[j]], nm[j], call)
  list(cols = cols, n = n)
}

# One column as sent: plain numbers as doubles (NA/NaN: missing), everything else as texts
# through as.character (NA: missing). No value is changed beyond that.
record_column <- function(x, name, call) {
  # Date-times each with their time, as the Python binding writes a Timestamp: as.character()
  # drops the time of a column whose every value is at midnight, so a row's text (and whether
  # it matched the spec's timestamp format) depended on the other rows sent with it.
  if (inherits(x, "POSIXt")) {
    x <- as.POSIXct(x)
    secs <- unclass(x)
    out <- format(x, "%Y-%m-%d %H:%M:%S")
    part <- !is.na(secs) & secs != floor(secs)
    if (any(part)) out[part] <- format(x[part], "%Y-%m-%d %H:%M:%OS6")
    out[is.na(secs)] <- NA_character_
    return(out)
  }
  if (!is.null(dim(x)) && length(dim(x)) > 1L) {
    readmit_abort(sprintf("column '%s' is a matrix; give one vector per field", name),
                  class = "readmit_invalid_argument", call = call)
  }
  if (is.list(x)) {
    readmit_abort(sprintf("column '%s' is a list; give one vector per field", name),
                  class = "readmit_invalid_argument", call = call)
  }
  if (is.numeric(x) && typeof(x) %in% c("double", "integer") && !inherits(x, "integer64")) {
    # Integers go to C as they are (NA_integer_: missing), where each becomes a double in a
    # scratch shared by the columns: as.double() made a new 800 kB vector per 100,000-row
    # column, and the garbage collector marked the caller's data.frame to reclaim them.
    if (is.integer(x)) return(if (is.null(attributes(x))) x else as.vector(unclass(x)))
    return(as.double(unclass(x)))
  }
  # A factor goes to C as its codes and levels (the same cells as as.character(x), without a
  # character vector per column): about half the client time of a 100,000-row column.
  if (is.factor(x) && typeof(x) == "integer" && is.character(levels(x))) return(x)
  out <- as.character(x)
  if (length(out) != length(x)) {
    readmit_abort(sprintf("column '%s' could not be turned into texts", name),
                  class = "readmit_invalid_argument", call = call)
  }
  # No enc2utf8(): the C side translates each distinct string to UTF-8 once
  # (set_text_column); enc2utf8 visited every cell, about a tenth of the client's time.
  out
}

# read.csv (check.names = TRUE) turns "glyburide-metformin" into "glyburide.metformin": a
# column that is not a raw field but whose make.names() form is exactly one raw field's, absent
# from the data under its own name, gets that name back.
unmangle_names <- function(nm, fields) {
  if (!length(fields) || !length(nm)) return(nm)
  unknown <- which(!nm %in% fields)
  mangled <- make.names(fields)
  for (j in unknown) {
    hit <- fields[mangled == nm[j]]
    if (length(hit) == 1L && !hit %in% nm) nm[j] <- hit
  }
  nm
}

# The R result of a RECORDS reply (see readmit_score_records' @return); warns once with the
# warnings.
records_frame <- function(res, n, k, tiers, call) {
  m <- res$messages
  msgs <- data.frame(
    row = ifelse(m$row < 0L, NA_integer_, m$row + 1L),
    field = m$field,
    severity = m$severity,
    code = m$code,
    message = m$message,
    stringsAsFactors = FALSE
  )
  text <- ifelse(is.na(msgs$field), sprintf("%s: %s", msgs$code, msgs$message),
                 sprintf("%s (%s): %s", msgs$field, msgs$code, msgs$message))
  error <- rep(NA_character_, n)
  warnings <- rep("", n)
  is_row <- !is.na(msgs$row)
  errs <- which(is_row & msgs$severity == "error")
  errs <- errs[!duplicated(msgs$row[errs])]
  error[msgs$row[errs]] <- text[errs]
  w <- which(is_row & msgs$severity == "warning")
  if (length(w)) {
    joined <- tapply(text[w], msgs$row[w], paste, collapse = "; ")
    warnings[as.integer(names(joined))] <- unname(joined)
  }
  # The tier factor is made from its codes (factor() matched 100,000 labels back to the
  # levels), and the frame from its columns without data.frame()'s checks: together about
  # 0.3 ms of a 100,000-row call's 4 ms here. A tier index without a name (none is expected)
  # is NA, as factor() made it.
  tier <- res$tier + 1L
  tier[!is.na(tier) & (tier < 1L | tier > length(tiers))] <- NA_integer_
  out <- structure(
    list(risk = res$risk, atypicality = res$atypicality,
         tier = structure(tier, levels = tiers, class = "factor"), error = error, warnings = warnings),
    class = "data.frame", row.names = c(NA_integer_, -as.integer(n))
  )
  if (!is.null(res$risk_low)) {
    out <- data.frame(out[1L], risk_low = res$risk_low, risk_high = res$risk_high, out[-1L],
                      stringsAsFactors = FALSE)
  }
  if (k > 0L) {
    e <- res$explanations
    ex <- data.frame(row = e$row + 1L, rank = e$rank, feature = e$feature,
                     value = e$value, contribution = e$contribution, stringsAsFactors = FALSE)
    expl <- rep("", n)
    if (nrow(ex)) {
      item <- sprintf("%s=%s %s", ex$feature, ifelse(is.na(ex$value), "missing", ex$value),
                      format_exact(ex$contribution))
      joined <- tapply(item, ex$row, paste, collapse = "; ")
      expl[as.integer(names(joined))] <- unname(joined)
    }
    out$explanation <- expl
    attr(out, "explanations") <- ex
  }
  attr(out, "messages") <- msgs
  attr(out, "model_version") <- res$model_version
  warn_records(msgs, call)
  out
}

# One warning of class readmit_data_warning summarising the reply's warnings.
warn_records <- function(msgs, call, show = 5L, severities = "warning") {
  w <- msgs[msgs$severity %in% severities, , drop = FALSE]
  if (!nrow(w)) return(invisible())
  where <- ifelse(is.na(w$row), "request", sprintf("row %d", w$row))
  items <- sprintf("%s, %s: %s", where, ifelse(is.na(w$field), "-", w$field), w$message)
  shown <- head(items, show)
  more <- nrow(w) - length(shown)
  noun <- if (length(severities) > 1L) "message" else "warning"
  text <- sprintf("%d %s%s from the daemon: %s%s", nrow(w), noun, if (nrow(w) == 1L) "" else "s",
                  paste(shown, collapse = "; "),
                  if (more > 0L) sprintf("; and %d more (attr(result, \"messages\"))", more) else "")
  cond <- structure(class = c("readmit_data_warning", "warning", "condition"),
                    list(message = text, call = call, messages = w))
  warning(cond)
}

# Numbers as the shortest of 15, 16 or 17 significant digits that reads back to the same
# double, with a sign ("+0.2474274337291718").
format_exact <- function(x) {
  out <- sprintf("%+.15g", x)
  for (d in 16:17) {
    redo <- !is.na(x) & as.numeric(out) != x
    if (!any(redo)) break
    out[redo] <- sprintf(paste0("%+.", d, "g"), x[redo])
  }
  out
}

# The names of the columns a RECORDS request reads (docs/PROTOCOL.md): INFO's raw fields and
# its cohort's exclusion columns; NULL when INFO lists none (an older daemon), and then every
# column is sent in full.
records_read <- function(info) {
  if (is.null(info$raw_fields)) return(NULL)
  c(vapply(info$raw_fields, function(f) f$name, ""),
    vapply(if (is.null(info$dataset$exclusions)) list() else info$dataset$exclusions, function(e) e$column, ""))
}
