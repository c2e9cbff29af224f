# Risk intervals (docs/PROTOCOL.md, "Risk intervals") against a real readmitd: interval = TRUE
# on readmit_score, readmit_score_frame and readmit_score_records (SCORE flag bit 1, RECORDS
# option bit 2). With a model that has an interval: ordered intervals in [0, 1], NaN for a row
# with an error, a row alone equal to the row in a batch, the same interval through a feature
# matrix and through raw records, results without `interval` unchanged. With a model without
# one: the classed condition readmit_no_interval.

daemon <- start_daemon()

connect <- function() readmit_connect(daemon$endpoint, timeout_ms = 20000)

quiet <- function(expr) {
  withCallingHandlers(expr, readmit_data_warning = function(w) invokeRestart("muffleWarning"))
}

flat_frame <- function() {
  utils::read.csv(test_path("fixtures", "sample_flat.csv"), colClasses = "character",
                  na.strings = character(0))
}

# A feature matrix of n rows built from INFO's schema alone and the same rows as raw records
# (as the Python tests' schema_matrix): a categorical feature read as a level of its field gets
# a level index and that level's text, a numeric feature read as a number a small count, every
# other feature NA with its field left out.
schema_rows <- function(cl, n, seed = 7) {
  set.seed(seed)
  features <- readmit_info(cl)$features
  x <- matrix(NA_real_, n, length(features))
  records <- list()
  # Fields a derived feature also reads (INFO's columns) stay missing, and so does it.
  derived_inputs <- unlist(lapply(features, function(f) f$columns))
  for (j in seq_along(features)) {
    f <- features[[j]]
    if (f$source %in% derived_inputs) {
      next
    } else if (f$kind == "categorical" && f$transform %in% c("level", "level_or_other")) {
      i <- sample.int(length(f$levels), n, replace = TRUE)
      x[, j] <- i - 1
      records[[f$source]] <- f$levels[i]
    } else if (f$kind == "numeric" && f$transform %in% c("number", "history")) {
      x[, j] <- as.double(sample.int(10, n, replace = TRUE) - 1L)
      records[[f$source]] <- x[, j]
    }
  }
  list(x = x, records = as.data.frame(records, stringsAsFactors = FALSE, check.names = FALSE))
}

ordered_in_unit <- function(low, high) all(low >= 0 & low <= high & high <= 1)

bits <- function(v) writeBin(as.double(v), raw())

# A daemon serving the fixture model without its interval: tests/tools/model_without_interval.py
# drops its venn_abers sections (a file as written before intervals existed). NULL when the
# fixture model has no interval itself (then the fixture daemon is that daemon).
start_daemon_without_interval <- function(cl) {
  if (is.null(readmit_info(cl)$interval)) return(NULL)
  root <- Sys.getenv("READMIT_ROOT")
  script <- file.path(root, "tests", "tools", "model_without_interval.py")
  if (!nzchar(root) || !file.exists(script)) {
    stop("READMIT_ROOT must name the repository (scripts/tests/40-r.sh sets it): ", script, " not found")
  }
  copy <- tempfile(fileext = ".readmit")
  status <- system2("python3", shQuote(c(script, daemon_paths()$model, copy)))
  if (!identical(status, 0L)) stop("model_without_interval.py failed: ", status)
  start_daemon(model = copy)
}

test_that("a model without an interval signals readmit_no_interval", {
  skip_without_daemon(daemon)
  served <- connect()
  on.exit(readmit_close(served))
  other <- start_daemon_without_interval(served)
  if (!is.null(other)) on.exit(stop_daemon(other), add = TRUE)
  cl <- readmit_connect((if (is.null(other)) daemon else other)$endpoint, timeout_ms = 20000)
  on.exit(readmit_close(cl), add = TRUE)
  expect_null(readmit_info(cl)$interval)
  expect_identical(readmit_info(cl)$model_id, readmit_info(served)$model_id)
  rows <- schema_rows(cl, 3)
  for (f in list(function() readmit_score(cl, rows$x, interval = TRUE),
                 function() readmit_score_frame(cl, rows$x, interval = TRUE),
                 function() quiet(readmit_score_records(cl, rows$records, missing_fields = "missing",
                                                        interval = TRUE)))) {
    err <- tryCatch(f(), readmit_no_interval = identity)
    expect_s3_class(err, "readmit_no_interval")
    expect_s3_class(err, "readmit_bad_argument")
    expect_match(conditionMessage(err), "no risk interval")
  }
  expect_length(readmit_score(cl, rows$x), 3L)
})

test_that("interval must be TRUE or FALSE", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  rows <- schema_rows(cl, 2)
  expect_error(readmit_score(cl, rows$x, interval = "yes"), class = "readmit_invalid_argument")
  expect_error(readmit_score_records(cl, rows$records, interval = NA), class = "readmit_invalid_argument")
})

test_that("a feature matrix gets ordered intervals, the same alone as in a batch", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  if (is.null(readmit_info(cl)$interval)) {
    expect_error(readmit_score(cl, schema_rows(cl, 2)$x, interval = TRUE), class = "readmit_no_interval")
    return(invisible())
  }
  rows <- schema_rows(cl, 200, seed = 8)
  x <- rows$x
  x[1, ] <- NA_real_
  out <- readmit_score(cl, x, interval = TRUE)
  expect_identical(names(out), c("risk", "risk_low", "risk_high"))
  expect_identical(nrow(out), 200L)
  expect_true(ordered_in_unit(out$risk_low, out$risk_high))
  expect_gt(nrow(unique(out[c("risk_low", "risk_high")])), 1L)
  expect_identical(bits(out$risk), bits(readmit_score(cl, x)))
  full <- readmit_score_frame(cl, x, interval = TRUE)
  expect_identical(names(full), c("risk", "risk_low", "risk_high", "atypicality", "tier"))
  expect_identical(bits(full$risk_high), bits(out$risk_high))
  plain <- readmit_score_frame(cl, x)
  expect_identical(names(plain), c("risk", "atypicality", "tier"))
  expect_identical(bits(plain$atypicality), bits(full$atypicality))
  expect_identical(plain$tier, full$tier)
  for (i in c(1L, 5L, 200L)) {
    one <- readmit_score(cl, x[i, , drop = FALSE], interval = TRUE)
    expect_identical(bits(one$risk_low), bits(out$risk_low[i]))
    expect_identical(bits(one$risk_high), bits(out$risk_high[i]))
  }
})

test_that("raw records get the matrix's intervals, NaN for a row with an error", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  if (is.null(readmit_info(cl)$interval)) {
    expect_error(quiet(readmit_score_records(cl, flat_frame(), interval = TRUE)), class = "readmit_no_interval")
    return(invisible())
  }
  rows <- schema_rows(cl, 150, seed = 9)
  by_matrix <- readmit_score(cl, rows$x, interval = TRUE)
  by_records <- quiet(readmit_score_records(cl, rows$records, missing_fields = "missing", interval = TRUE))
  expect_true(all(is.na(by_records$error)))
  expect_identical(bits(by_records$risk), bits(by_matrix$risk))
  expect_identical(bits(by_records$risk_low), bits(by_matrix$risk_low))
  expect_identical(bits(by_records$risk_high), bits(by_matrix$risk_high))

  recs <- flat_frame()
  fields <- readmit_raw_fields(cl)
  number <- fields$name[fields$type == "number" & !fields$history & fields$name %in% names(recs)][1]
  recs[[number]][3] <- "three"   # row 3 cannot be read: an error of its own
  out <- quiet(readmit_score_records(cl, recs, k = 2, interval = TRUE))
  expect_identical(names(out)[1:3], c("risk", "risk_low", "risk_high"))
  failed <- !is.na(out$error)
  expect_true(failed[3])
  expect_true(all(is.nan(out$risk_low[failed])) && all(is.nan(out$risk_high[failed])))
  expect_true(ordered_in_unit(out$risk_low[!failed], out$risk_high[!failed]))
  plain <- quiet(readmit_score_records(cl, recs, k = 2))
  expect_identical(names(plain), setdiff(names(out), c("risk_low", "risk_high")))
  expect_identical(bits(plain$risk), bits(out$risk))
  expect_identical(plain$explanation, out$explanation)
  for (i in c(1L, 3L, nrow(recs))) {
    one <- quiet(readmit_score_records(cl, recs[i, , drop = FALSE], interval = TRUE))
    expect_identical(bits(one$risk_low), bits(out$risk_low[i]))
    expect_identical(bits(one$risk_high), bits(out$risk_high[i]))
  }
  good <- recs[!failed, , drop = FALSE]
  scored <- quiet(readmit_score(cl, good, interval = TRUE))
  expect_identical(names(scored), c("risk", "risk_low", "risk_high"))
  expect_identical(bits(scored$risk_low), bits(out$risk_low[!failed]))
  framed <- quiet(readmit_score_frame(cl, good, interval = TRUE))
  expect_identical(bits(framed$risk_high), bits(out$risk_high[!failed]))
})

stop_daemon(daemon)
