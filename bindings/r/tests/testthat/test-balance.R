# One client, several real readmitd (load balancing, libreadmit 0.5.0): requests spread over the
# daemons, split batches (split_rows) equal one daemon's answer bit for bit, and a daemon killed
# between calls fails no call.

daemons <- list(start_daemon(), start_daemon(), start_daemon())

# The fixture has columns the model does not read (a warning per call): not the point here.
score <- function(cl, recs, ...) suppressWarnings(readmit_score_records(cl, recs, ...))

endpoints <- function() vapply(daemons, function(d) d$endpoint, character(1))

test_that("requests are spread round robin over the daemons", {
  for (d in daemons) skip_without_daemon(d)
  cl <- readmit_connect(endpoints(), timeout_ms = 5000)
  on.exit(readmit_close(cl))
  recs <- utils::read.csv(test_path("fixtures", "sample_flat.csv"), colClasses = "character",
                          na.strings = character(0))[1, , drop = FALSE]
  score(cl, recs)            # INFO and a first call: the counts start here
  first <- readmit_endpoint_status(cl)$requests
  for (i in 1:30) score(cl, recs)
  st <- readmit_endpoint_status(cl)
  expect_identical(st$endpoint, endpoints())
  expect_identical(st$requests - first, c(10, 10, 10))
  expect_true(all(st$in_rotation))
  expect_identical(st$failures, c(0, 0, 0))
})

test_that("split_rows is checked", {
  for (d in daemons) skip_without_daemon(d)
  expect_error(readmit_connect(endpoints(), split_rows = -1), class = "readmit_invalid_argument")
  expect_error(readmit_connect(endpoints(), split_rows = 1.5), class = "readmit_invalid_argument")
})

test_that("a split batch equals one daemon's answer bit for bit", {
  for (d in daemons) skip_without_daemon(d)
  recs <- utils::read.csv(test_path("fixtures", "sample_flat.csv"), colClasses = "character",
                          na.strings = character(0))
  recs$time_in_hospital[7] <- "three"        # a row error in the first chunk
  one <- readmit_connect(daemons[[1]]$endpoint, timeout_ms = 20000)
  split <- readmit_connect(endpoints(), timeout_ms = 20000, split_rows = 100)
  on.exit({ readmit_close(one); readmit_close(split) })
  whole <- score(one, recs, k = 2)
  readmit_info(split)
  before <- readmit_endpoint_status(split)$requests
  parts <- score(split, recs, k = 2)
  after <- readmit_endpoint_status(split)$requests
  expect_identical(parts, whole)
  expect_true(sum(after > before) >= 2)
  expect_identical(sum(after - before), ceiling(nrow(recs) / 100))
})

test_that("a daemon killed between calls fails no call and is taken out of rotation", {
  for (d in daemons) skip_without_daemon(d)
  cl <- readmit_connect(endpoints(), timeout_ms = 5000)
  on.exit(readmit_close(cl))
  recs <- utils::read.csv(test_path("fixtures", "sample_flat.csv"), colClasses = "character",
                          na.strings = character(0))[1:5, ]
  ref <- score(cl, recs)
  for (i in 1:200) {
    if (i == 50) {
      tools::pskill(daemons[[2]]$pid, tools::SIGKILL)
    }
    expect_identical(score(cl, recs), ref)
  }
  expect_false(readmit_endpoint_status(cl)$in_rotation[2])
})

for (d in daemons) stop_daemon(d)
