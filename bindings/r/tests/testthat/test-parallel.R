# readmit_score_parallel: chunks of a data frame scored on future workers over two real
# readmitd, joined into exactly what readmit_score_records gives for the whole frame.

daemons <- list(start_daemon(), start_daemon())

# The value and the one readmit_data_warning of a call.
with_warning <- function(expr) {
  w <- NULL
  value <- withCallingHandlers(expr, readmit_data_warning = function(cond) {
    w <<- cond
    invokeRestart("muffleWarning")
  })
  list(value = value, warning = w)
}

test_that("parallel chunks over two daemons equal one call on the whole frame", {
  for (d in daemons) skip_without_daemon(d)
  skip_if_not_installed("future.apply")
  eps <- vapply(daemons, function(d) d$endpoint, character(1))
  recs <- utils::read.csv(test_path("fixtures", "sample_flat.csv"), colClasses = "character",
                          na.strings = character(0))
  recs$time_in_hospital[c(3, 200)] <- "three"       # row errors in two chunks
  cl <- readmit_connect(eps[1], timeout_ms = 20000)
  on.exit(readmit_close(cl), add = TRUE)
  whole <- with_warning(readmit_score_records(cl, recs, k = 2))
  before <- vapply(daemons, function(d) {
    c1 <- readmit_connect(d$endpoint); on.exit(readmit_close(c1)); readmit_stats(c1)$requests_total
  }, numeric(1))
  old <- future::plan(future::multisession, workers = 2)
  on.exit(future::plan(old), add = TRUE)
  par <- with_warning(readmit_score_parallel(eps, recs, chunk_rows = 40, k = 2))
  expect_identical(par$value, whole$value)
  expect_s3_class(par$warning, "readmit_data_warning")
  expect_identical(conditionMessage(par$warning), conditionMessage(whole$warning))
  expect_identical(which(!is.na(par$value$error)), c(3L, 200L))
  after <- vapply(daemons, function(d) {
    c1 <- readmit_connect(d$endpoint); on.exit(readmit_close(c1)); readmit_stats(c1)$requests_total
  }, numeric(1))
  expect_true(all(after - before >= 2))              # 7 chunks reached both daemons
})

test_that("readmit_score_parallel checks its arguments", {
  for (d in daemons) skip_without_daemon(d)
  skip_if_not_installed("future.apply")
  expect_error(readmit_score_parallel(daemons[[1]]$endpoint, list(a = 1)), class = "readmit_invalid_argument")
  expect_error(readmit_score_parallel(daemons[[1]]$endpoint, data.frame(a = 1), chunk_rows = 0),
               class = "readmit_invalid_argument")
})

for (d in daemons) stop_daemon(d)

test_that("parallel chunks reach a CURVE daemon with the caller's keys; wrong keys fail before any chunk", {
  skip_if_not_installed("future.apply")
  # CurveZMQ's published example key pairs (rfc.zeromq.org, spec 26).
  keys <- list(server_public_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
               public_key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID",
               secret_key = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs")
  dir <- tempfile("readmit-curve-")
  dir.create(file.path(dir, "clients"), recursive = TRUE)
  writeLines("JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6", file.path(dir, "server.key"))
  Sys.chmod(file.path(dir, "server.key"), "0600") # readmitd refuses a secret key other users can read
  writeLines(keys$public_key, file.path(dir, "clients", "client.pub"))
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  secure <- start_daemon(c("--curve-secret-key", file.path(dir, "server.key"),
                           "--authorized-keys", file.path(dir, "clients")), curve = keys)
  skip_without_daemon(secure)
  on.exit(stop_daemon(secure), add = TRUE)
  recs <- utils::read.csv(test_path("fixtures", "sample_flat.csv"), colClasses = "character",
                          na.strings = character(0))[1:90, ]
  cl <- do.call(readmit_connect, c(list(secure$endpoint, timeout_ms = 20000), keys))
  on.exit(readmit_close(cl), add = TRUE)
  whole <- with_warning(readmit_score_records(cl, recs))
  old <- future::plan(future::multisession, workers = 2)
  on.exit(future::plan(old), add = TRUE)
  par <- with_warning(do.call(readmit_score_parallel, c(list(secure$endpoint, recs, chunk_rows = 40), keys)))
  expect_identical(par$value, whole$value)
  # Without keys every worker's client is refused: the caller gets the classed error.
  expect_error(readmit_score_parallel(secure$endpoint, recs, chunk_rows = 40, timeout_ms = 5000),
               class = "readmit_auth_error")
  # Two keys of three: refused before any chunk is sent.
  expect_error(readmit_score_parallel(secure$endpoint, recs, server_public_key = keys$server_public_key,
                                      public_key = keys$public_key),
               "CURVE needs all of", class = "readmit_invalid_argument")
})
