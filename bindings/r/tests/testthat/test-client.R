# Against a real readmitd on a free loopback port (helper-daemon.R starts it; skipped with a
# message when READMITD_BIN / READMIT_TEST_MODEL are not set).

daemon <- start_daemon()

connect <- function(...) readmit_connect(daemon$endpoint, timeout_ms = 10000, ...)

# Flat raw records (fixtures/sample_flat.csv, as `readmit history` writes them), read as texts.
flat_frame <- function() {
  utils::read.csv(test_path("fixtures", "sample_flat.csv"), colClasses = "character",
                  na.strings = character(0))
}

# `expr` with its readmit_data_warning muffled (other warnings pass).
no_data_warning <- function(expr) {
  withCallingHandlers(expr, readmit_data_warning = function(w) invokeRestart("muffleWarning"))
}

# A numeric feature matrix of n rows built from the schema alone (categorical features: valid
# 0-based level indices; numeric features: small counts; about 10% missing), named by feature.
feature_matrix <- function(cl, n, seed = 20261203) {
  set.seed(seed)
  s <- readmit_schema(cl)
  x <- vapply(seq_len(nrow(s)), function(j) {
    v <- if (s$kind[j] == "categorical") sample.int(s$n_levels[j], n, replace = TRUE) - 1
         else as.double(stats::rpois(n, 3))
    v[stats::runif(n) < 0.1] <- NA_real_
    v
  }, numeric(n))
  x <- matrix(x, nrow = n, dimnames = list(NULL, s$name))
  x
}

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
  # The schema read through the library's accessors is INFO's.
  expect_identical(schema$name, vapply(info$features, `[[`, "", "name"))
  expect_identical(schema$kind, vapply(info$features, `[[`, "", "kind"))
  expect_identical(schema$n_levels, vapply(info$features, function(f) length(f$levels), 0L))
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

test_that("score_frame gives risk, atypicality and tier for a feature matrix", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  x <- feature_matrix(cl, 300)
  res <- readmit_score_frame(cl, x)
  expect_identical(names(res), c("risk", "atypicality", "tier"))
  expect_identical(nrow(res), nrow(x))
  expect_true(all(res$risk > 0 & res$risk < 1))
  expect_true(all(is.finite(res$atypicality)))
  tiers <- vapply(readmit_info(cl)$tiers, `[[`, "", "name")
  expect_identical(levels(res$tier), tiers)
  # The tier follows the risk thresholds in INFO.
  mins <- vapply(readmit_info(cl)$tiers, `[[`, 0, "min_risk")
  expect_identical(as.integer(res$tier), findInterval(res$risk, mins))
  expect_identical(attr(res, "model_version"), readmit_info(cl)$model_version)
  expect_identical(readmit_score(cl, x), res$risk)
  # Columns given by name in another order are put back in schema order.
  expect_identical(readmit_score(cl, x[, rev(colnames(x))]), res$risk)
  expect_identical(readmit_score(cl, unname(x)), res$risk)
})

test_that("a data frame or a named list goes through RECORDS: the results of readmit_score_records", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  recs <- flat_frame()
  ref <- no_data_warning(readmit_score_records(cl, recs))
  expect_true(all(is.na(ref$error)))
  expect_identical(no_data_warning(readmit_score(cl, recs)), ref$risk)
  expect_identical(no_data_warning(readmit_score_frame(cl, recs)), ref)
  # The daemon's warnings come as the one readmit_data_warning of readmit_score_records.
  expect_warning(readmit_score(cl, recs), class = "readmit_data_warning")
  one <- as.list(recs[7, ])
  expect_identical(no_data_warning(readmit_score(cl, one)), ref$risk[7])
  # Options of readmit_score_records pass through.
  ref_missing <- no_data_warning(readmit_score_records(cl, recs[1:5, ], bad_values = "missing"))
  expect_identical(no_data_warning(readmit_score(cl, recs[1:5, ], bad_values = "missing")),
                   ref_missing$risk)
})

test_that("rows the daemon cannot score are NA with one readmit_row_error warning", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  recs <- flat_frame()[1:6, ]
  fields <- readmit_raw_fields(cl)
  num <- intersect(make.names(fields$name[fields$type == "number" & fields$required]), names(recs))[1]
  recs[[num]][c(2, 5)] <- "three"
  w <- NULL
  risk <- withCallingHandlers(readmit_score(cl, recs),
    readmit_data_warning = function(c) invokeRestart("muffleWarning"),
    readmit_row_error = function(c) { w <<- c; invokeRestart("muffleWarning") })
  expect_s3_class(w, "readmit_row_error")
  expect_identical(w$rows, c(2L, 5L))
  expect_match(conditionMessage(w), "2 rows not scored")
  expect_identical(is.na(risk), seq_len(6) %in% c(2, 5))
  # bad_values = "missing" scores them instead.
  expect_false(anyNA(no_data_warning(readmit_score(cl, recs, bad_values = "missing"))))
})

test_that("a row of all NA is valid and scored; zero rows give an empty result", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  m <- nrow(readmit_schema(cl))
  risk <- readmit_score(cl, matrix(NA_real_, 2, m))
  expect_length(risk, 2)
  expect_true(all(risk > 0 & risk < 1))
  expect_identical(readmit_score(cl, matrix(0, 0, m)), numeric(0))
  expect_identical(nrow(readmit_score_frame(cl, matrix(0, 0, m))), 0L)
  expect_identical(nrow(no_data_warning(readmit_score_frame(cl, flat_frame()[0, ]))), 0L)
})

test_that("explain returns the top-k features per row, largest first", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  x <- feature_matrix(cl, 20)
  ex <- readmit_explain(cl, x, k = 3)
  expect_identical(names(ex), c("row", "rank", "feature", "index", "value", "contribution"))
  expect_true(all(table(ex$row) <= 3))
  expect_true(all(ex$row %in% 1:20))
  expect_identical(ex$feature, colnames(x)[ex$index])
  expect_identical(ex$value, x[cbind(ex$row, ex$index)])
  by_row <- split(abs(ex$contribution), ex$row)
  expect_true(all(vapply(by_row, function(v) !is.unsorted(rev(v)), TRUE)))
  expect_error(readmit_explain(cl, x, k = 0), "'k'")
  # A data frame: the explanations of readmit_score_records, in the same long form.
  recs <- flat_frame()[1:20, ]
  exr <- no_data_warning(readmit_explain(cl, recs, k = 3))
  ref <- attr(no_data_warning(readmit_score_records(cl, recs, k = 3)), "explanations")
  expect_identical(names(exr), names(ex))
  expect_identical(exr$row, as.integer(ref$row))
  expect_identical(exr$feature, ref$feature)
  expect_identical(exr$contribution, ref$contribution)
  expect_identical(exr$value, ref$value)
  expect_identical(exr$feature, colnames(x)[exr$index])
  expect_true(all(table(exr$row) <= 3))
  by_row <- split(abs(exr$contribution), exr$row)
  expect_true(all(vapply(by_row, function(v) !is.unsorted(rev(v)), TRUE)))
})

test_that("daemon errors are classed conditions with the daemon's message and 1-based position", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  x <- feature_matrix(cl, 5)
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
  # Raw records without a required field: the daemon refuses the call, naming the field.
  recs <- flat_frame()
  fields <- readmit_raw_fields(cl)
  req <- fields$name[fields$required][1]
  recs[[make.names(req)]] <- NULL
  err <- tryCatch(readmit_score(cl, recs), error = identity)
  expect_s3_class(err, "readmit_bad_argument")
  expect_identical(err$field, req)
})

test_that("a daemon that goes away gives readmit_unavailable_error at once, not a hang", {
  skip_without_daemon(daemon)
  d2 <- start_daemon()
  cl <- readmit_connect(d2$endpoint, timeout_ms = 5000, retries = 2)
  on.exit(readmit_close(cl))
  expect_true(readmit_health(cl)$ready)
  expect_true(stop_daemon(d2))          # SIGTERM: a clean exit
  t0 <- Sys.time()
  expect_error(readmit_health(cl), class = "readmit_unavailable_error")
  expect_lt(as.numeric(Sys.time() - t0, units = "secs"), 1.5)
})

test_that("a refused CURVE handshake is readmit_auth_error at once, not a timeout", {
  skip_without_daemon(daemon)
  # CurveZMQ's published example key pairs (rfc.zeromq.org, spec 26): this daemon has no CURVE.
  cl <- readmit_connect(daemon$endpoint, timeout_ms = 5000, retries = 2,
                        server_public_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
                        public_key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
                        secret_key = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs")
  on.exit(readmit_close(cl))
  t0 <- Sys.time()
  err <- tryCatch(readmit_health(cl), error = identity)
  expect_lt(as.numeric(Sys.time() - t0, units = "secs"), 3)
  expect_s3_class(err, c("readmit_auth_error", "readmit_client_error", "readmit_error"))
  expect_identical(err$code, 111L)
  expect_match(conditionMessage(err), paste0("refused by ", daemon$endpoint), fixed = TRUE)
  expect_match(conditionMessage(err), "the daemon does not", fixed = TRUE)
})

test_that("a daemon on the IPv6 loopback is reached, with the same risks as over 127.0.0.1", {
  skip_without_daemon(daemon)
  # The library did not set ZMQ_IPV6, so tcp://[::1]:PORT never resolved.
  v6 <- sprintf("tcp://[::1]:%d", free_port())
  d2 <- tryCatch(start_daemon(c("--endpoint", v6)), error = function(e) NULL)
  skip_if(is.null(d2), "no IPv6 loopback on this host (the daemon could not bind ::1)")
  on.exit(stop_daemon(d2), add = TRUE)
  over4 <- readmit_connect(d2$endpoint, timeout_ms = 10000)
  over6 <- readmit_connect(v6, timeout_ms = 5000, retries = 0)
  on.exit({ readmit_close(over4); readmit_close(over6) }, add = TRUE)
  expect_true(readmit_health(over6)$ready)
  x <- feature_matrix(over4, 5)
  expect_identical(readmit_score(over6, x), readmit_score(over4, x))
})

test_that("a client made before parallel::mclapply scores in the forked workers, at once, to the bit", {
  skip_without_daemon(daemon)
  skip_on_os("windows") # no fork
  cl <- connect()
  on.exit(readmit_close(cl))
  x <- feature_matrix(cl, 120, seed = 20261206)
  want <- readmit_score(cl, x)
  chunks <- split(seq_len(nrow(x)), rep(1:4, each = 30))
  started <- Sys.time()
  # Before libreadmit 0.11.0 each worker waited out every retry (a ZeroMQ socket does not
  # survive fork) and failed with readmit_timeout_error.
  parts <- parallel::mclapply(chunks, function(i) readmit_score(cl, x[i, , drop = FALSE]), mc.cores = 2)
  took <- as.numeric(difftime(Sys.time(), started, units = "secs"))
  for (p in parts) expect_false(inherits(p, "try-error"), info = as.character(p))
  expect_identical(unlist(parts, use.names = FALSE), want)
  expect_lt(took, 10)
  # The workers' closes and exits left the parent's connection alone.
  expect_identical(readmit_score(cl, x), want)
})

test_that("a client read back in another process says its connection did not travel", {
  skip_without_daemon(daemon)
  cl <- connect()
  on.exit(readmit_close(cl))
  # As a future multisession worker or readRDS() gets it; it said "the readmit client is
  # closed", which nobody had done.
  copy <- unserialize(serialize(cl, NULL))
  err <- tryCatch(readmit_health(copy), error = identity)
  expect_s3_class(err, c("readmit_not_connected", "readmit_closed", "readmit_error"))
  expect_match(conditionMessage(err), "made in another R process or session and read back", fixed = TRUE)
  expect_output(print(copy), "not connected: made in another process", fixed = TRUE)
  expect_true(readmit_health(cl)$ready)
  readmit_close(copy)
  expect_error(readmit_health(copy), "the readmit client is closed", class = "readmit_closed")
  # A client closed before it was saved reads back closed.
  gone <- connect()
  readmit_close(gone)
  err <- tryCatch(readmit_health(unserialize(serialize(gone, NULL))), error = identity)
  expect_s3_class(err, "readmit_closed")
  expect_false(inherits(err, "readmit_not_connected"))
})

test_that("a reply over max_reply_bytes is readmit_reply_too_big at once, not a timeout", {
  skip_without_daemon(daemon)
  # libzmq drops the connection of a reply frame over the limit: that was readmit_timeout after
  # every retry (here 2 x 3 s).
  small <- readmit_connect(daemon$endpoint, timeout_ms = 3000, retries = 1, max_reply_bytes = 4096)
  on.exit(readmit_close(small))
  t0 <- Sys.time()
  err <- tryCatch(readmit_info(small), error = identity) # INFO's JSON is over 4096 bytes
  expect_lt(as.numeric(Sys.time() - t0, units = "secs"), 3)
  expect_s3_class(err, c("readmit_reply_too_big", "readmit_client_error", "readmit_error"))
  expect_identical(err$code, 105L)
  expect_match(conditionMessage(err), "max_reply_bytes (4096)", fixed = TRUE)
})

stop_daemon(daemon)
