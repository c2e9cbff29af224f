# Raw CSV columns -> the feature matrix of the model's schema, following docs/FEATURES.md
# exactly as `readmit score` does, so R scores equal the CLI's scores on the same rows.

# ICD-9 chapter names in the order of docs/FEATURES.md (the `icd9_chapter` transform).
.icd9_chapters <- c("circulatory", "respiratory", "digestive", "diabetes", "injury",
                    "musculoskeletal", "genitourinary", "neoplasms", "other")

# History feature sources (docs/FEATURES.md, `history` transform).
.history_sources <- c("prior_encounters", "prior_days_in_hospital", "prev_number_inpatient",
                      "prev_time_in_hospital", "prev_discharged_home",
                      "prior_readmitted_within_30")

#' Encode a data frame of raw columns into the model's feature matrix
#'
#' Turns rows with the raw columns of the training data (for example
#' \code{read.csv(file, na.strings = "?")} of the Diabetes 130-US CSV) into the numeric matrix
#' the daemon scores: one column per feature of the model's schema, in schema order, with
#' categorical values as 0-based level indices and \code{NA} for missing. The rules are those
#' of \code{docs/FEATURES.md}, the same as \code{readmit score}:
#' \itemize{
#'   \item \code{number}: the value; \code{NA}, \code{"?"} and \code{""} are missing.
#'   \item \code{level}: the index of the level equal to the text (ID columns such as
#'     \code{admission_type_id} may be integer or text); a value never seen in training is
#'     set to \code{NA}. \code{"None"} in \code{max_glu_serum} and \code{A1Cresult} is a real
#'     level, so read the CSV with \code{na.strings = "?"} (not \code{"None"}).
#'   \item \code{level_or_other}: as \code{level}, but an unseen value maps to the last level,
#'     \code{Other}.
#'   \item \code{icd9_chapter}: the ICD-9 chapter of a diagnosis code.
#'   \item \code{history}: the patient's earlier encounters in the same data frame (same
#'     \code{patient_nbr}, lower \code{encounter_id}). A column named like the feature's
#'     source (e.g. \code{prior_encounters}) is used as is instead, so a caller scoring new
#'     encounters can supply history from its own records. Without \code{patient_nbr} and
#'     \code{encounter_id} these features are missing.
#' }
#' Extra columns (such as the label) are ignored; a missing required column is an error of
#' class \code{readmit_missing_column} naming it. Missing values, values not among the
#' training levels and values that are not numbers become \code{NA} with one warning of
#' class \code{readmit_encode_warning} that counts them (its \code{counts} field has the
#' counts per feature).
#'
#' @param cl a client from \code{\link{readmit_connect}} (the schema comes from
#'   \code{\link{readmit_info}}).
#' @param df a data frame with the raw columns.
#' @param warn whether to warn about values set to \code{NA}.
#' @return a double matrix with \code{nrow(df)} rows and one named column per feature.
#' @examples
#' \dontrun{
#' cl <- readmit_connect("tcp://127.0.0.1:5555")
#' df <- read.csv("diabetic_data.csv", na.strings = "?")
#' x <- readmit_encode(cl, df)
#' }
#' @export
readmit_encode <- function(cl, df, warn = TRUE) {
  info <- readmit_info(cl)
  encode_frame(df, info$features, warn = warn, call = sys.call())
}

#' The model's feature schema as a data frame
#'
#' @param cl a client from \code{\link{readmit_connect}}.
#' @return a data frame with one row per feature in schema order: \code{index} (1-based
#'   column of the feature matrix), \code{name}, \code{kind}, \code{source},
#'   \code{transform} and \code{n_levels}.
#' @export
readmit_schema <- function(cl) {
  specs <- feature_specs(readmit_info(cl)$features)
  data.frame(
    index = seq_along(specs),
    name = vapply(specs, `[[`, "", "name"),
    kind = vapply(specs, `[[`, "", "kind"),
    source = vapply(specs, `[[`, "", "source"),
    transform = vapply(specs, `[[`, "", "transform"),
    n_levels = vapply(specs, function(s) length(s$levels), integer(1)),
    stringsAsFactors = FALSE
  )
}

# Normalises the INFO "features" list: levels as a character vector, a transform for every
# feature (schemas without one: numbers for numeric, levels for categorical, history by name).
feature_specs <- function(features) {
  if (!is.list(features) || length(features) == 0L) {
    readmit_abort("the model's INFO has no feature schema", class = "readmit_protocol_error")
  }
  lapply(features, function(f) {
    name <- as.character(f$name)
    source <- if (is.null(f$source)) name else as.character(f$source)
    kind <- as.character(f$kind)
    levels <- if (length(f$levels)) as.character(unlist(f$levels)) else character()
    transform <- if (!is.null(f$transform)) as.character(f$transform)
                 else if (source %in% .history_sources) "history"
                 else if (identical(kind, "categorical")) "level"
                 else "number"
    list(name = name, kind = kind, levels = levels, source = source, transform = transform)
  })
}

# Text of a raw column with NA for missing (NA, "?" or empty), as the CSV would hold it.
raw_text <- function(x) {
  txt <- if (is.factor(x)) as.character(x) else if (is.character(x)) x else as.character(x)
  txt[match(txt, c("?", ""), nomatch = 0L) > 0L] <- NA_character_
  txt
}

# Numbers of a raw column: list(value, invalid), where `value` has NA for missing values (NA,
# "?", empty) and for present values that are not finite numbers, which `invalid` counts.
raw_number <- function(x) {
  if (is.integer(x) || is.logical(x)) return(list(value = x, invalid = 0L))
  if (is.double(x)) {
    bad <- is.infinite(x)
    if (any(bad)) x[bad] <- NA_real_
    return(list(value = x, invalid = sum(bad)))
  }
  txt <- raw_text(x)
  v <- suppressWarnings(as.numeric(txt))
  bad <- !is.na(txt) & (is.na(v) | !is.finite(v))
  v[bad] <- NA_real_
  list(value = v, invalid = sum(bad))
}

# raw_number() of a column of few distinct values (a count or a length of stay): for a plain
# character column (read.csv(colClasses = "character")), as.numeric() of its distinct texts only,
# spread to the rows by the ids of rreadmit_distinct. The same values and count as raw_number().
raw_number_distinct <- function(x) {
  if (!is.character(x) || is.object(x)) return(raw_number(x))
  d <- .Call(rreadmit_distinct, list(x))[[1L]]
  txt <- raw_text(d$keys)
  v <- suppressWarnings(as.numeric(txt))
  bad <- !is.na(txt) & (is.na(v) | !is.finite(v))
  v[bad] <- NA_real_
  i <- as.integer(d$ids) + 1L
  list(value = v[i], invalid = sum(tabulate(i, length(v))[bad]))
}

# ICD-9 chapter names of diagnosis codes (NA where the code is missing).
icd9_chapter <- function(x) {
  txt <- raw_text(x)
  out <- rep(NA_character_, length(txt))
  present <- !is.na(txt)
  out[present] <- "other"
  first <- substr(txt, 1L, 1L)
  # `readmit score` parses the code strictly: surrounding blanks make it "not a number".
  numeric_like <- present & first != "V" & first != "E" & !grepl("^\\s|\\s$", txt)
  num <- rep(NA_real_, length(txt))
  num[numeric_like] <- suppressWarnings(as.numeric(txt[numeric_like]))
  c <- floor(num)
  ok <- !is.na(c) & is.finite(c)
  within <- function(lo, hi) ok & c >= lo & c <= hi
  out[ok & c == 250] <- "diabetes"
  out[within(390, 459) | (ok & c == 785)] <- "circulatory"
  out[within(460, 519) | (ok & c == 786)] <- "respiratory"
  out[within(520, 579) | (ok & c == 787)] <- "digestive"
  out[within(800, 999)] <- "injury"
  out[within(710, 739)] <- "musculoskeletal"
  out[within(580, 629) | (ok & c == 788)] <- "genitourinary"
  out[within(140, 239)] <- "neoplasms"
  out
}

# Level codes of raw values for the C assembly (src/rreadmit_assemble.c): the position in
# c(levels, "?", "", NA), so 1..L is a level, > L is missing (NA, "?" or empty in the CSV) and 0
# a value not among the levels. Applied to a column's distinct values (prepare_columns).
level_codes <- function(txt, levels) {
  if (!is.character(txt)) txt <- as.character(txt)
  match(txt, c(levels, "?", "", NA_character_), nomatch = 0L)
}

# Applies `f` (a vectorised function of raw values) to the distinct values of `col` only, which
# is much faster for columns with few distinct values. Character columns go straight to `f`
# unless `always` (when `f` is costly per value). For the columns that the C assembly cannot key
# (keyable), and for discharge_disposition_id of the history features when it is not integer.
by_distinct <- function(col, f, always = FALSE) {
  if (is.factor(col)) {
    code <- f(c(levels(col), NA_character_))
    i <- as.integer(col)
    i[is.na(i)] <- length(code)
    return(code[i])
  }
  if (is.character(col) && !always) return(f(col))
  u <- unique(col)
  f(u)[match(col, u)]
}

# The six history features (named by .history_sources) of every row of `df`, as a list of
# double vectors. Sorting is done here (order(), stable: ties keep file order); the features come
# from one pass over the sorted rows in C (src/rreadmit_history.c).
history_columns <- function(df) {
  n <- nrow(df)
  if (n == 0L || !all(c("patient_nbr", "encounter_id") %in% names(df))) {
    return(stats::setNames(rep(list(rep(NA_real_, n)), length(.history_sources)), .history_sources))
  }
  need <- c("time_in_hospital", "number_inpatient", "discharge_disposition_id")
  absent <- setdiff(need, names(df))
  if (length(absent)) {
    readmit_abort(sprintf("missing required column%s %s (needed for the history features)",
                          if (length(absent) > 1L) "s" else "",
                          paste0("'", absent, "'", collapse = ", ")),
                  class = c("readmit_missing_column", "readmit_input_error"), call = NULL,
                  columns = absent)
  }
  # Unreadable ids count as -1, as in `readmit score`. Integer ids stay integer (they sort the
  # same as their doubles, and faster).
  id_of <- function(x) {
    v <- raw_number(x)$value
    if (!is.integer(v)) v <- as.double(v)
    if (anyNA(v)) v[is.na(v)] <- if (is.integer(v)) -1L else -1
    v
  }
  patient <- id_of(df$patient_nbr)
  encounter <- id_of(df$encounter_id)
  # Discharged home: the text of discharge_disposition_id is "1". For a plain integer column
  # that is the value 1 (as.character() of any other integer is not "1").
  disp <- df$discharge_disposition_id
  home <- if (is.integer(disp) && !is.object(disp)) !is.na(disp) & disp == 1L
          else by_distinct(disp, function(v) { t <- raw_text(v); !is.na(t) & t == "1" }, always = TRUE)
  within30 <- if ("readmitted" %in% names(df)) {
    !is.na(df$readmitted) & as.character(df$readmitted) == "<30"
  }
  o <- order(patient, encounter, method = "radix")
  .Call(rreadmit_history, o, patient, raw_number_distinct(df$time_in_hospital)$value,
        raw_number_distinct(df$number_inpatient)$value, home, within30)
}

# Lets `df` use read.csv's default syntactic names (glyburide.metformin for
# glyburide-metformin): a source column that is absent under its own name is taken from its
# make.names() spelling.
resolve_columns <- function(df, sources) {
  for (s in setdiff(sources, names(df))) {
    alt <- make.names(s)
    if (alt != s && alt %in% names(df)) df[[s]] <- df[[alt]]
  }
  df
}

# Prepares `df` for the C assembly (src/rreadmit_assemble.c) by the feature list of an INFO
# reply: list(cols, kind, n_levels, n_invalid, names), one entry per feature. Numbers stay as
# they are; categorical values become level codes (level_codes). Errors name what is wrong.
prepare_columns <- function(df, features, call = NULL) {
  if (is.matrix(df)) {
    readmit_abort("readmit_encode() needs a data frame of raw columns (a matrix is already encoded)",
                  class = "readmit_invalid_argument", call = call)
  }
  if (!is.data.frame(df)) {
    readmit_abort("'df' must be a data frame with the raw columns of the training data",
                  class = "readmit_invalid_argument", call = call)
  }
  specs <- feature_specs(features)
  names_ <- vapply(specs, `[[`, "", "name")
  transforms <- vapply(specs, `[[`, "", "transform")
  sources <- vapply(specs, `[[`, "", "source")
  known <- c("number", "level", "level_or_other", "icd9_chapter", "history")
  if (any(!transforms %in% known)) {
    bad <- unique(transforms[!transforms %in% known])
    readmit_abort(sprintf("the model uses transform%s %s that this package does not know; update the readmit package",
                          if (length(bad) > 1L) "s" else "", paste0("'", bad, "'", collapse = ", ")),
                  class = "readmit_unsupported_schema", call = call)
  }
  direct <- transforms != "history"
  df <- resolve_columns(df, unique(sources))
  absent <- setdiff(unique(sources[direct]), names(df))
  if (length(absent)) {
    readmit_abort(sprintf("missing required column%s %s (the model's features are built from %s)",
                          if (length(absent) > 1L) "s" else "",
                          paste0("'", absent, "'", collapse = ", "),
                          if (length(absent) > 1L) "them" else "it"),
                  class = c("readmit_missing_column", "readmit_input_error"), call = call,
                  columns = absent)
  }

  n <- nrow(df)
  m <- length(specs)
  cols <- vector("list", m)
  kind <- integer(m)                 # 0 number, 1 level, 2 level or Other, 3 uncounted number
  n_levels <- vapply(specs, function(s) length(s$levels), integer(1))
  n_invalid <- integer(m)
  history <- NULL
  keyed <- integer()                 # level features whose raw column C keys (see below)
  for (j in seq_len(m)) {
    s <- specs[[j]]
    col <- df[[s$source]]
    switch(s$transform,
      number = {
        r <- raw_number_distinct(col)
        cols[[j]] <- r$value
        n_invalid[j] <- r$invalid
      },
      level = , level_or_other = , icd9_chapter = {
        kind[j] <- if (s$transform == "level_or_other") 2L else 1L
        if (keyable(col)) {
          cols[[j]] <- col
          keyed <- c(keyed, j)
        } else {
          cols[[j]] <- by_distinct(col, level_coder(s), always = TRUE)
        }
      },
      history = {
        if (s$source %in% names(df)) {
          # Supplied by the caller (e.g. from the EHR's own records).
          r <- raw_number(col)
          cols[[j]] <- r$value
          n_invalid[j] <- r$invalid
        } else if (s$source %in% .history_sources) {
          if (is.null(history)) history <- history_columns(df)
          cols[[j]] <- history[[s$source]]
        } else {
          readmit_abort(sprintf("history feature '%s' has unknown source '%s'; supply a column '%s'",
                                s$name, s$source, s$source),
                        class = "readmit_unsupported_schema", call = call)
        }
        kind[j] <- 3L
      }
    )
    if (is.null(cols[[j]])) cols[[j]] <- rep(NA_real_, n)   # e.g. a 0-row frame's column
  }
  # Level features: the codes of a column's distinct values only (few, even on 100,000 rows),
  # computed by the same R code as for every value. C finds the distinct values by identity and
  # which one each row holds (src/rreadmit_assemble.c, "keyed" columns): no per-row R vector of
  # text or codes, no hash of every row by match().
  if (length(keyed)) {
    raw <- cols[keyed]
    distinct <- .Call(rreadmit_distinct, raw)
    for (i in seq_along(keyed)) {
      j <- keyed[i]
      k <- distinct[[i]]$keys
      values <- if (is.factor(raw[[i]])) {
        # A factor is keyed by its integer codes: its values are the level texts (NA for NA).
        lv <- levels(raw[[i]])
        lv[ifelse(is.na(k), length(lv) + 1L, k)]
      } else {
        k
      }
      cols[[j]] <- list(distinct[[i]]$ids, level_coder(specs[[j]])(values))
    }
  }
  list(cols = cols, kind = kind, n_levels = n_levels, n_invalid = n_invalid, names = names_)
}

# Whether the C assembly can key a raw level column by the identity of its values: a plain
# character, integer, logical or double vector, or a factor. Other classed vectors (Dates, ...)
# are coded row by row in R, since as.character() of their values depends on their class.
keyable <- function(col) {
  (is.character(col) || is.integer(col) || is.logical(col) || is.double(col)) &&
    (!is.object(col) || is.factor(col))
}

# The level codes (level_codes) of raw values of feature `s`, as a function of the values.
level_coder <- function(s) {
  if (identical(s$transform, "icd9_chapter")) function(v) level_codes(icd9_chapter(v), s$levels)
  else function(v) level_codes(v, s$levels)
}

# Raises the encode warning (if any value became NA) from the counts of the C assembly.
warn_encode <- function(prep, missing, unseen, call) {
  invalid <- prep$n_invalid
  missing <- missing - invalid            # invalid numbers are NA too; count them once
  if (!any(missing) && !any(unseen) && !any(invalid)) return(invisible())
  counts <- data.frame(feature = prep$names, missing = missing, unseen = unseen,
                       invalid = invalid, stringsAsFactors = FALSE)
  counts <- counts[counts$missing + counts$unseen + counts$invalid > 0L, , drop = FALSE]
  rownames(counts) <- NULL
  warning(encode_warning(counts, call))
}

# Encodes `df` by the feature list of an INFO reply (see readmit_encode) into an R matrix.
encode_frame <- function(df, features, warn = TRUE, call = NULL) {
  prep <- prepare_columns(df, features, call)
  res <- .Call(rreadmit_assemble, prep$cols, prep$kind, prep$n_levels, FALSE, prep$names)
  if (warn) warn_encode(prep, res$missing, res$unseen, call)
  res$x
}

# The one warning of an encode: totals, then the features with unseen or invalid values.
encode_warning <- function(counts, call) {
  per <- function(field) {
    sel <- counts[[field]] > 0L
    if (!any(sel)) return("")
    top <- head(counts[sel, , drop = FALSE][order(-counts[[field]][sel]), , drop = FALSE], 5L)
    more <- if (sum(sel) > 5L) ", ..." else ""
    sprintf(" (%s%s)", paste0(top$feature, ": ", top[[field]], collapse = ", "), more)
  }
  parts <- character()
  if (sum(counts$unseen)) {
    parts <- c(parts, sprintf("%d value%s not among the training levels%s",
                              sum(counts$unseen), if (sum(counts$unseen) > 1) "s" else "", per("unseen")))
  }
  if (sum(counts$invalid)) {
    parts <- c(parts, sprintf("%d value%s not a finite number%s",
                              sum(counts$invalid), if (sum(counts$invalid) > 1) "s" else "", per("invalid")))
  }
  if (sum(counts$missing)) {
    parts <- c(parts, sprintf("%d missing value%s", sum(counts$missing),
                              if (sum(counts$missing) > 1) "s" else ""))
  }
  msg <- paste0(paste(parts, collapse = "; "), " encoded as NA (missing); see the warning's $counts")
  structure(class = c("readmit_encode_warning", "warning", "condition"),
            list(message = msg, call = call, counts = counts))
}
