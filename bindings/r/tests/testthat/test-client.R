# Against a real readmitd on a free loopback port (helper-daemon.R starts it; skipped with a
# message when READMITD_BIN / READMIT_TEST_MODEL are not set).

daemon <- start_daemon()

connect <- function(...) readmit_connect(daemon$endpoint, timeout_ms = 10000, ...)

sample_frame <- function() read_raw_csv(test_path("fixtures", "sample.csv"))

quiet_encode <- function(cl, df) suppressWarnings(readmit_encode(cl, df))

test_that("info returns the model's metadata and feature schema", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  info <- readmit_info(cl)
  expect_match(info$model_id, "^[0-9a-f]{16}$")
  expect_identical(length(info$features), as.integer(info$n_features))
  expect_identical(vapply(info$features, function(f) f$index, 0), seq_along(info$features) - 1)
  expect_true(all(vapply(info$features, function(f) f$kind %in% c("numeric", "categorical"), TRUE)))
  schema <- readmit_schema(cl)
  expect_identical(nrow(schema), length(info$features))
  expect_true(all(schema$n_levels[schema$kind == "categorical"] > 0))
  expect_output(print(cl), "open")
})

test_that("health says live and ready with the model's version", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  h <- readmit_health(cl)
  expect_true(h$live)
  expect_true(h$ready)
  expect_identical(h$model_version, readmit_info(cl)$model_version)
})

test_that("R scores equal `readmit score` on the same rows, bit for bit", {
  skip_without_daemon(daemon)
  cli <- daemon_paths()$cli
  if (!nzchar(cli) || !file.exists(cli)) {
    if (identical(Sys.getenv("READMIT_REQUIRE_DAEMON"), "1")) stop("READMIT_BIN not set")
    skip("READMIT_BIN (the readmit CLI) not set")
  }
  files <- test_path("fixtures", "sample.csv")
  # A larger slice of the shipped data when the repository is at hand (the stage script): a copy
  # in data/diabetes130/, else the shared one beside the checkout (the data is not in the repository).
  data <- file.path(Sys.getenv("READMIT_ROOT"), c("data", "../shared/data"), "diabetes130", "diabetic_data.csv.gz")
  data <- data[file.exists(data)][1]
  if (nzchar(Sys.getenv("READMIT_ROOT")) && !is.na(data)) {
    big <- tempfile(fileext = ".csv")
    con <- gzfile(data, "r")
    writeLines(readLines(con, n = 5001L), big)
    close(con)
    files <- c(files, big)
  }
  cl <- connect()
  on.exit(readmit_close(cl))
  for (csv in files) {
    out <- tempfile(fileext = ".csv")
    log <- system2(cli, c("score", "--model", shQuote(daemon_paths()$model), "--data", shQuote(csv),
                          "--out", shQuote(out)), stdout = TRUE, stderr = TRUE)
    if (!file.exists(out)) stop("readmit score wrote no output:\n", paste(log, collapse = "\n"))
    ref <- utils::read.csv(out, stringsAsFactors = FALSE, na.strings = c("", "NA"))
    df <- read_raw_csv(csv)
    expect_identical(nrow(ref), nrow(df))
    expect_identical(ref$encounter_id, df$encounter_id)
    ok <- is.na(ref$error) | ref$error == ""
    expect_gt(sum(ok), 0.9 * nrow(df))
    res <- suppressWarnings(readmit_score_frame(cl, df))
    expect_identical(res$risk[ok], ref$risk[ok])
    expect_identical(res$atypicality[ok], ref$atypicality[ok])
    expect_identical(as.character(res$tier[ok]), as.character(ref$tier[ok]))
    expect_identical(suppressWarnings(readmit_score(cl, df)), res$risk)
  }
})

test_that("score_frame gives risk, atypicality and tier for a data frame or a matrix", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  df <- sample_frame()
  x <- quiet_encode(cl, df)
  res <- readmit_score_frame(cl, x)
  expect_identical(names(res), c("risk", "atypicality", "tier"))
  expect_identical(nrow(res), nrow(df))
  expect_true(all(res$risk > 0 & res$risk < 1))
  expect_true(all(is.finite(res$atypicality)))
  tiers <- vapply(readmit_info(cl)$tiers, `[[`, "", "name")
  expect_identical(levels(res$tier), tiers)
  # The tier follows the risk thresholds in INFO.
  mins <- vapply(readmit_info(cl)$tiers, `[[`, 0, "min_risk")
  expect_identical(as.integer(res$tier), findInterval(res$risk, mins))
  expect_identical(attr(res, "model_version"), readmit_info(cl)$model_version)
  expect_identical(readmit_score(cl, x), res$risk)
  # A data frame is encoded straight into the send buffer: same scores, same warning.
  w <- tryCatch(readmit_score(cl, df), warning = identity)
  expect_s3_class(w, "readmit_encode_warning")
  expect_identical(w$counts, tryCatch(readmit_encode(cl, df), warning = identity)$counts)
  expect_identical(suppressWarnings(readmit_score(cl, df)), res$risk)
  expect_identical(suppressWarnings(readmit_score_frame(cl, df))[, 1:3], res[, 1:3])
  # Columns given by name in another order are put back in schema order.
  expect_identical(readmit_score(cl, x[, rev(colnames(x))]), res$risk)
})

test_that("a row of all NA is valid and scored; zero rows give an empty result", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  m <- length(readmit_info(cl)$features)
  risk <- readmit_score(cl, matrix(NA_real_, 2, m))
  expect_length(risk, 2)
  expect_true(all(risk > 0 & risk < 1))
  expect_identical(readmit_score(cl, matrix(0, 0, m)), numeric(0))
  expect_identical(nrow(readmit_score_frame(cl, sample_frame()[0, ])), 0L)
})

test_that("explain returns the top-k features per row, largest first", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  df <- sample_frame()[1:20, ]
  x <- quiet_encode(cl, df)
  ex <- readmit_explain(cl, x, k = 3)
  expect_identical(names(ex), c("row", "rank", "feature", "index", "value", "contribution"))
  expect_true(all(table(ex$row) <= 3))
  expect_true(all(ex$row %in% 1:20))
  expect_identical(ex$feature, colnames(x)[ex$index])
  expect_identical(ex$value, x[cbind(ex$row, ex$index)])
  by_row <- split(abs(ex$contribution), ex$row)
  expect_true(all(vapply(by_row, function(v) !is.unsorted(rev(v)), TRUE)))
  # A data frame gives the same explanation as its encoding.
  expect_identical(suppressWarnings(readmit_explain(cl, df, k = 3)), ex)
  expect_error(readmit_explain(cl, x, k = 0), "'k'")
})

test_that("daemon errors are classed conditions with the daemon's message and 1-based position", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  x <- quiet_encode(cl, sample_frame()[1:5, ])
  schema <- readmit_schema(cl)
  num <- schema$index[schema$kind == "numeric"][1]
  cat <- schema$index[schema$kind == "categorical"][1]

  bad <- x
  bad[3, num] <- Inf
  err <- tryCatch(readmit_score(cl, bad), error = identity)
  expect_s3_class(err, "readmit_bad_value")
  expect_s3_class(err, "readmit_daemon_error")
  expect_identical(err$row, 3L)
  expect_identical(err$feature, num)
  expect_match(conditionMessage(err), schema$name[num], fixed = TRUE)

  bad <- x
  bad[2, cat] <- schema$n_levels[cat] + 5
  err <- tryCatch(readmit_score_frame(cl, bad), error = identity)
  expect_s3_class(err, "readmit_bad_category")
  expect_identical(err$row, 2L)
  expect_identical(err$feature, cat)

  # A matrix of the wrong width is stopped in R; sent anyway, the daemon refuses it too.
  expect_error(readmit_score(cl, x[, -1]), class = "readmit_bad_shape")
  res <- readmit:::check_failure
  err <- tryCatch(res(.Call(readmit:::rreadmit_score, cl$ptr, unname(x[, -1]), FALSE)), error = identity)
  expect_s3_class(err, "readmit_error")
  # The client still works after errors.
  expect_length(readmit_score(cl, x), 5)
  # A data frame missing a required column names it.
  df <- sample_frame()
  df$age <- NULL
  expect_error(readmit_score(cl, df), "'age'", class = "readmit_missing_column")
})

test_that("a daemon that goes away gives readmit_timeout, not a hang", {
  skip_without_daemon(daemon)
  d2 <- start_daemon()
  cl <- readmit_connect(d2$endpoint, timeout_ms = 300, retries = 0)
  on.exit(readmit_close(cl))
  expect_true(readmit_health(cl)$ready)
  expect_true(stop_daemon(d2))          # SIGTERM: a clean exit
  t0 <- Sys.time()
  expect_error(readmit_health(cl), class = "readmit_timeout")
  expect_lt(as.numeric(Sys.time() - t0, units = "secs"), 3)
})

stop_daemon(daemon)
