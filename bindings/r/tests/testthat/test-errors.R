# Client errors that need no daemon: real sockets to a port where nothing listens.

test_that("a request to a port with no daemon fails fast with readmit_unavailable_error", {
  endpoint <- sprintf("tcp://127.0.0.1:%d", free_port())
  cl <- readmit_connect(endpoint, timeout_ms = 2000, retries = 1)
  on.exit(readmit_close(cl))
  t0 <- Sys.time()
  err <- tryCatch(readmit_health(cl), error = identity)
  elapsed <- as.numeric(Sys.time() - t0, units = "secs")
  expect_s3_class(err, "readmit_unavailable_error")
  expect_s3_class(err, "readmit_client_error")
  expect_s3_class(err, "readmit_error")
  expect_identical(err$code, 109L)
  expect_match(conditionMessage(err), sprintf("READMIT_EUNAVAILABLE: no daemon at %s (connection refused)", endpoint),
               fixed = TRUE)
  expect_lt(elapsed, 1.5)        # not (retries + 1) * timeout_ms = 4 s
  # The client is still usable (and still finds nobody).
  expect_error(readmit_score(cl, matrix(0, 1, 3)), class = "readmit_unavailable_error")
})

test_that("a malformed endpoint is an error naming it", {
  err <- tryCatch(readmit_connect("localhost:5555"), error = identity)
  expect_s3_class(err, "readmit_invalid_argument")
  expect_match(conditionMessage(err),
               "invalid endpoint 'localhost:5555': expected tcp://HOST:PORT or ipc://PATH", fixed = TRUE)
})

test_that("bad arguments are classed errors naming the argument", {
  expect_error(readmit_connect(""), class = "readmit_invalid_argument")
  expect_error(readmit_connect(NA_character_), "endpoint")
  expect_error(readmit_connect("tcp://127.0.0.1:1", timeout_ms = 0), "timeout_ms")
  expect_error(readmit_connect("tcp://127.0.0.1:1", retries = -1), "retries")
  expect_error(readmit_connect("tcp://127.0.0.1:1", server_public_key = "x"), "CURVE")
  # max_reply_bytes went through as.numeric(): "abc" became NA (the default) and -1 a negative
  # size in C; both are now refused, as in Python.
  for (bad in list("abc", -1, 100, 1e30, 2048.5, c(2048, 4096))) {
    expect_error(readmit_connect("tcp://127.0.0.1:1", max_reply_bytes = bad),
                 "'max_reply_bytes' must be a whole number of bytes, at least 1024", class = "readmit_invalid_argument")
  }
  expect_error(readmit_connect("tcp://127.0.0.1:1", retries = 2^31), "retries", class = "readmit_invalid_argument")
  err <- tryCatch(readmit_connect("no-such-transport://x"), error = identity)
  expect_s3_class(err, "readmit_error")
  expect_true(nzchar(conditionMessage(err)))
  expect_error(readmit_score(list(), matrix(0, 1, 1)), class = "readmit_invalid_argument")
})

test_that("a closed client gives readmit_closed; closing twice is harmless", {
  cl <- readmit_connect("tcp://127.0.0.1:9", timeout_ms = 100)
  readmit_close(cl)
  expect_silent(readmit_close(cl))
  expect_error(readmit_health(cl), class = "readmit_closed")
  expect_error(readmit_info(cl), class = "readmit_closed")
  expect_output(print(cl), "closed")
})

test_that("the finalizer closes a forgotten client (its sockets and threads go away)", {
  skip_if_not(dir.exists("/proc/self/fd"), "needs /proc to count file descriptors")
  fds <- function() length(list.files("/proc/self/fd"))
  gc()
  before <- fds()
  for (i in 1:5) {
    cl <- readmit_connect(sprintf("tcp://127.0.0.1:%d", free_port()), timeout_ms = 50, retries = 0)
    try(readmit_health(cl), silent = TRUE)
  }
  expect_gt(fds(), before)
  rm(cl)
  gc()
  gc()
  expect_identical(fds(), before)
})

test_that("readmit_read_key reads a key file as the daemon does, and names a bad one's line", {
  dir <- tempfile("readmit-keys-")
  dir.create(dir)
  on.exit(unlink(dir, recursive = TRUE))
  key <- "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"   # CurveZMQ's example server public key
  writeLines(c("# readmit CURVE public key: share", key), file.path(dir, "server.pub"))
  expect_identical(readmit_read_key(file.path(dir, "server.pub")), key)
  writeLines(c("# comment", "", paste0("  ", key, "\t")), file.path(dir, "spaced.pub"))
  expect_identical(readmit_read_key(file.path(dir, "spaced.pub")), key)
  writeLines(c("# a comment", "", "not a key"), file.path(dir, "broken.pub"))
  err <- tryCatch(readmit_read_key(file.path(dir, "broken.pub")), error = identity)
  expect_s3_class(err, "readmit_data_file_error")
  expect_identical(err$line, 3L)
  expect_identical(err$kind, "bad_key")
  expect_match(conditionMessage(err), "broken.pub:3: not a 40-character Z85 CURVE key", fixed = TRUE)
  writeLines("# only a comment", file.path(dir, "empty.pub"))
  expect_error(readmit_read_key(file.path(dir, "empty.pub")), "holds no key", class = "readmit_data_file_error")
  expect_error(readmit_read_key(file.path(dir, "absent.pub")), "cannot read the key file", class = "readmit_data_file_error")
  expect_error(readmit_read_key(c("a", "b")), class = "readmit_invalid_argument")
  # A secret key file other users can read is read, with a classed warning (readmitd refuses
  # such a file for its own key); a private one, or a public key of that mode, gives none.
  secret <- "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"
  writeLines(c("# readmit CURVE secret key: keep private", secret), file.path(dir, "client.key"))
  Sys.chmod(file.path(dir, "client.key"), "0644")
  expect_warning(got <- readmit_read_key(file.path(dir, "client.key")),
                 "this secret key file can be read by other users (mode 0644)", fixed = TRUE, class = "readmit_key_warning")
  expect_identical(got, secret)
  Sys.chmod(file.path(dir, "client.key"), "0600")
  expect_no_warning(readmit_read_key(file.path(dir, "client.key")))
  Sys.chmod(file.path(dir, "server.pub"), "0644")
  expect_no_warning(readmit_read_key(file.path(dir, "server.pub")))
})
