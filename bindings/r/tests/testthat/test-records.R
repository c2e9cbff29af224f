# readmit_score_records (the protocol's RECORDS) against real readmitd processes: the daemon
# encodes raw fields with its model's own spec, and the R scores must equal those of
# `readmit score --records` (the CLI, READMIT_BIN) bit for bit.

daemon <- start_daemon()

connect_to <- function(d) readmit_connect(d$endpoint, timeout_ms = 20000)

# The CLI, which must have `history` and `score --records`.
records_cli <- function() {
  cli <- daemon_paths()$cli
  why <- NULL
  if (!nzchar(cli) || !file.exists(cli)) {
    why <- "READMIT_BIN (the readmit CLI) not set"
  } else {
    help <- suppressWarnings(system2(cli, c("history", "--help"), stdout = TRUE, stderr = TRUE))
    if (!any(grepl("flat raw records", help, fixed = TRUE))) {
      why <- sprintf("READMIT_BIN (%s) has no `history` subcommand: an old build (stage 00-build.sh makes a new one)", cli)
    }
  }
  if (!is.null(why)) {
    if (identical(Sys.getenv("READMIT_REQUIRE_DAEMON"), "1")) stop(why)
    skip(why)
  }
  cli
}

# Runs the CLI; stops with its output when it fails or writes no `out`.
run_cli <- function(cli, args, out) {
  log <- suppressWarnings(system2(cli, shQuote(args), stdout = TRUE, stderr = TRUE))
  if (!is.null(attr(log, "status")) || !file.exists(out)) {
    stop("readmit ", args[1], " failed:\n", paste(log, collapse = "\n"))
  }
  invisible(log)
}

# `readmit history` then `readmit score --records` on its output: list(flat, scores).
cli_records <- function(cli, model, history_args) {
  flat <- tempfile(fileext = ".csv")
  out <- tempfile(fileext = ".csv")
  run_cli(cli, c("history", "--model", model, history_args, "--out", flat), flat)
  run_cli(cli, c("score", "--model", model, "--records", flat, "--out", out), out)
  list(flat = flat,
       scores = utils::read.csv(out, stringsAsFactors = FALSE, na.strings = c("", "NA")))
}

# Flat records read as texts, exactly as written.
read_flat <- function(path, ...) {
  utils::read.csv(path, colClasses = "character", na.strings = character(0), ...)
}

# readmit_score_records with its readmit_data_warning muffled (other warnings pass).
score_quiet <- function(...) {
  withCallingHandlers(readmit_score_records(...),
                      readmit_data_warning = function(w) invokeRestart("muffleWarning"))
}

# The readmit_data_warning of a call, and its value.
score_warned <- function(...) {
  w <- NULL
  value <- withCallingHandlers(readmit_score_records(...), readmit_data_warning = function(c) {
    w <<- c
    invokeRestart("muffleWarning")
  })
  list(value = value, warning = w)
}

bits <- function(x) sprintf("%a", x)

# fixtures/sample_flat.csv is `readmit history --model READMIT_TEST_MODEL --data
# fixtures/sample.csv` (flat records with their history fields), so the tests below that only
# compare R with the daemon need no CLI; the parity tests run the CLI themselves.
flat_fixture <- function(...) read_flat(test_path("fixtures", "sample_flat.csv"), ...)

cli_sample_records <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      cache <<- cli_records(records_cli(), daemon_paths()$model,
                            c("--data", normalizePath(test_path("fixtures", "sample.csv"))))
    }
    cache
  }
})

test_that("raw fields come from INFO", {
  skip_without_daemon(daemon)
  cl <- connect_to(daemon)
  on.exit(readmit_close(cl))
  f <- readmit_raw_fields(cl)
  expect_identical(names(f), c("name", "type", "required", "history", "levels"))
  expect_identical(f$name, vapply(readmit_info(cl)$raw_fields, `[[`, "", "name"))
  expect_true(all(f$type %in% c("number", "text", "timestamp", "diagnosis_code", "other")))
  expect_type(f$required, "logical")
  expect_true(any(f$required))
  expect_true(any(f$history))
  expect_false(any(f$required & f$history))
  race <- f$levels[[match("race", f$name)]]
  expect_true("Caucasian" %in% race)
  expect_length(f$levels[[match("time_in_hospital", f$name)]], 0L)
})

test_that("R scores of `readmit history` records equal `readmit score --records`, bit for bit", {
  skip_without_daemon(daemon)
  ref <- cli_sample_records()
  cl <- connect_to(daemon)
  on.exit(readmit_close(cl))
  recs <- read_flat(ref$flat)
  expect_true("glyburide.metformin" %in% names(recs))   # read.csv's mangled names are fine
  got <- score_warned(cl, recs)
  res <- got$value
  expect_identical(nrow(res), nrow(ref$scores))
  expect_identical(names(res), c("risk", "atypicality", "tier", "error", "warnings"))
  expect_true(all(is.na(ref$scores$error)))
  expect_true(all(is.na(res$error)))
  expect_identical(bits(res$risk), bits(ref$scores$risk))
  expect_identical(bits(res$atypicality), bits(ref$scores$atypicality))
  expect_identical(as.character(res$tier), ref$scores$tier)
  # The flat file's label and unread columns are ignored with a warning, at request level.
  expect_s3_class(got$warning, "readmit_data_warning")
  w <- got$warning$messages
  expect_true(all(w$field[w$code == "unused_field"] %in% c("weight", "readmitted")))
  expect_true(all(is.na(w$row[w$code == "unused_field"])))
  expect_identical(res$warnings != "", seq_len(nrow(res)) %in% w$row)
  expect_identical(got$warning$messages, attr(res, "messages"))
  # Names as written give the same result.
  strict <- score_quiet(cl, read_flat(ref$flat, check.names = FALSE))
  expect_identical(strict, res)
  # Typed columns (numbers as numbers) give the same scores as texts.
  typed <- recs
  fields <- readmit_raw_fields(cl)
  for (f in intersect(make.names(fields$name[fields$type == "number"]), names(typed))) {
    typed[[f]] <- suppressWarnings(as.numeric(typed[[f]]))   # "" and "?" become NA
  }
  for (f in intersect(fields$name[fields$type == "text"], names(typed))) typed[[f]] <- factor(typed[[f]])
  expect_identical(bits(score_quiet(cl, typed)$risk), bits(res$risk))
  # Zero rows give an empty result.
  empty <- score_quiet(cl, recs[0, ])
  expect_identical(nrow(empty), 0L)
  expect_identical(names(empty), names(res))
})

test_that("character columns of many distinct texts, runs and NA send what factors send", {
  skip_without_daemon(daemon)
  cl <- connect_to(daemon)
  on.exit(readmit_close(cl))
  recs <- flat_fixture()
  # 3,000 rows: ids distinct (the C side's table grows from 64 slots), rows in runs of one
  # text (sorted by race), NA scattered, a text in two encodings of one CHARSXP each.
  big <- recs[rep(seq_len(nrow(recs)), length.out = 3000), ]
  big$encounter_id <- sprintf("%d", 500000L + seq_len(nrow(big)))
  big$patient_nbr <- sprintf("%d", 900000L + seq_len(nrow(big)) %/% 3L)
  big <- big[order(big$race), ]
  big$payer_code[seq(5, nrow(big), by = 97)] <- NA
  big$medical_specialty[seq(7, nrow(big), by = 89)] <- enc2native("Caf\u00e9")
  big$medical_specialty[seq(8, nrow(big), by = 89)] <- enc2utf8("Caf\u00e9")
  as_text <- score_warned(cl, big)
  as_factor <- big
  for (f in names(big)) as_factor[[f]] <- factor(big[[f]])
  # Factors go to C as codes and levels: an NA level, an unused level and levels in another
  # order send the labels all the same.
  as_factor$payer_code <- addNA(as_factor$payer_code)
  as_factor$race <- factor(big$race, levels = c("unused", rev(sort(unique(big$race)))))
  got <- score_warned(cl, as_factor)
  expect_identical(bits(got$value$risk), bits(as_text$value$risk))
  expect_identical(got$value$warnings, as_text$value$warnings)
  expect_identical(got$warning$messages, as_text$warning$messages)
  # Each row as it scores alone (a few): the batch's grouping of texts does not matter.
  for (i in c(1L, 1500L, 3000L)) {
    expect_identical(bits(score_quiet(cl, big[i, ])$risk), bits(as_text$value$risk[i]))
  }
  # A latin1 string is sent as its UTF-8 text (the C side translates each distinct string; its
  # bytes as they are would be invalid UTF-8, an error).
  latin <- recs[1, , drop = FALSE]
  latin$medical_specialty <- iconv("Caf\u00e9", "UTF-8", "latin1")
  expect_identical(Encoding(latin$medical_specialty), "latin1")
  utf <- latin
  utf$medical_specialty <- enc2utf8("Caf\u00e9")
  a <- score_warned(cl, latin)
  b <- score_warned(cl, utf)
  expect_identical(bits(a$value$risk), bits(b$value$risk))
  expect_identical(a$warning$messages, b$warning$messages)
  expect_false(is.na(a$value$risk))
  # Bytes that are not UTF-8 fail the call naming the 1-based row and the field, as in C and
  # Python (R's own translation sent "Caf<e9>", an unknown level; a string marked "bytes" gave
  # an unclassed R error), in a character column and in a factor alike.
  bad <- recs[1:4, , drop = FALSE]
  native <- rawToChar(as.raw(c(0x43, 0x61, 0x66, 0xe9)))
  marked <- native
  Encoding(marked) <- "bytes"
  for (text in list(native, marked)) {
    bad$medical_specialty <- c(recs$medical_specialty[1:2], text, recs$medical_specialty[4])
    # (factor() cannot sort a string marked "bytes": the factor case is the native string's.)
    variants <- if (identical(Encoding(text), "bytes")) list(bad) else list(bad, transform(bad, medical_specialty = factor(medical_specialty)))
    for (variant in variants) {
      err <- tryCatch(readmit_score_records(cl, variant), readmit_invalid_argument = function(e) e)
      expect_s3_class(err, "readmit_invalid_argument")
      expect_identical(err$row, 3L)
      expect_match(conditionMessage(err), "field 'medical_specialty', row 3: text is not valid UTF-8", fixed = TRUE)
    }
  }
  # Bytes that are UTF-8, marked "bytes", are sent as they are.
  fine <- recs[1, , drop = FALSE]
  text <- enc2utf8("Caf\u00e9")
  Encoding(text) <- "bytes"
  fine$medical_specialty <- text
  expect_identical(bits(score_warned(cl, fine)$value$risk), bits(b$value$risk))
})

test_that("a frame filled on two threads (16,384 rows or more) sends what smaller frames send", {
  skip_without_daemon(daemon)
  cl <- connect_to(daemon)
  on.exit(readmit_close(cl))
  recs <- flat_fixture()
  n <- 20000L
  big <- recs[rep(seq_len(nrow(recs)), length.out = n), ]
  rownames(big) <- NULL
  # Every kind of column in both parts (the split falls near the middle of the columns):
  # numbers, integers, factors, texts, an ALTREP character vector (as.character of integers is
  # a deferred string conversion: its elements come through R on R's thread), and texts that
  # R must translate (latin1) early and late in the frame.
  big$time_in_hospital <- as.numeric(big$time_in_hospital)
  big$num_medications <- as.integer(big$num_medications)
  big$num_lab_procedures <- as.character(as.integer(big$num_lab_procedures))
  big$age <- factor(big$age)
  big$insulin <- factor(big$insulin)
  latin <- iconv("Caf\u00e9", "UTF-8", "latin1")
  big$payer_code[seq(3, n, by = 101)] <- latin
  big$metformin.pioglitazone[seq(5, n, by = 103)] <- latin
  late <- which(names(big) == "metformin.pioglitazone")
  expect_gt(late, ncol(big) / 2)
  got <- score_warned(cl, big)
  # The same rows in frames of 5,000 (one thread), with the latin1 texts as UTF-8.
  utf <- big
  utf$payer_code <- enc2utf8(utf$payer_code)
  utf$metformin.pioglitazone <- enc2utf8(utf$metformin.pioglitazone)
  parts <- lapply(split(seq_len(n), (seq_len(n) - 1L) %/% 5000L), function(i) score_quiet(cl, utf[i, ]))
  expect_identical(bits(got$value$risk), bits(unlist(lapply(parts, `[[`, "risk"), use.names = FALSE)))
  expect_identical(bits(got$value$atypicality), bits(unlist(lapply(parts, `[[`, "atypicality"), use.names = FALSE)))
  expect_identical(got$value$tier, unlist(lapply(parts, `[[`, "tier"), use.names = FALSE))
  expect_true(any(!is.na(got$value$risk)))
  # The client keeps both batches for its next call of as many rows: nothing carries over.
  again <- score_quiet(cl, utf)
  expect_identical(bits(again$risk), bits(got$value$risk))
  fewer <- score_quiet(cl, utf[, names(utf) != "metformin.pioglitazone"], missing_fields = "missing")
  fresh <- connect_to(daemon)
  expect_identical(bits(fewer$risk), bits(score_quiet(fresh, utf[, names(utf) != "metformin.pioglitazone"],
                                                      missing_fields = "missing")$risk))
  readmit_close(fresh)

  # A text that is not UTF-8 fails the call naming its field and 1-based row, whichever part
  # holds it; with bad texts in both parts the first column's is the one reported.
  bad_bytes <- rawToChar(as.raw(c(0x43, 0x61, 0x66, 0xe9)))
  expect_bad_text <- function(frame, field, row) {
    err <- tryCatch(readmit_score_records(cl, frame), readmit_invalid_argument = function(e) e)
    expect_s3_class(err, "readmit_invalid_argument")
    expect_identical(err$row, row)
    expect_match(conditionMessage(err), sprintf("field '%s', row %d: text is not valid UTF-8", field, row),
                 fixed = TRUE)
  }
  late_bad <- utf
  late_bad$metformin.pioglitazone[17000] <- bad_bytes
  expect_bad_text(late_bad, "metformin-pioglitazone", 17000L)
  both_bad <- late_bad
  both_bad$medical_specialty[18000] <- bad_bytes
  expect_bad_text(both_bad, "medical_specialty", 18000L)
  # The first part stopping for R (latin1 texts) does not hide the second part's failure.
  late_bad$payer_code[2] <- latin
  expect_bad_text(late_bad, "metformin-pioglitazone", 17000L)
  late_bad$insulin <- factor(late_bad$insulin, levels = c(levels(late_bad$insulin), bad_bytes))
  late_bad$insulin[19000] <- bad_bytes
  late_bad$metformin.pioglitazone[17000] <- "No"
  expect_bad_text(late_bad, "insulin", 19000L)
})

test_that("each row alone scores as in the batch, bit for bit", {
  skip_without_daemon(daemon)
  cl <- connect_to(daemon)
  on.exit(readmit_close(cl))
  recs <- flat_fixture()
  batch <- score_quiet(cl, recs)
  set.seed(20261202)
  for (i in sample(nrow(recs), 20)) {
    alone <- score_quiet(cl, recs[i, , drop = FALSE])
    expect_identical(bits(alone$risk), bits(batch$risk[i]))
    expect_identical(bits(alone$atypicality), bits(batch$atypicality[i]))
    expect_identical(alone$tier, batch$tier[i])
  }
  # A row's neighbours do not change it either: the rows reversed give the rows reversed.
  rev_res <- score_quiet(cl, recs[rev(seq_len(nrow(recs))), ])
  expect_identical(bits(rev(rev_res$risk)), bits(batch$risk))
})

test_that("one encounter as a named list scores as its row; numbers may be numbers or texts", {
  skip_without_daemon(daemon)
  cl <- connect_to(daemon)
  on.exit(readmit_close(cl))
  recs <- flat_fixture(check.names = FALSE)
  batch <- score_quiet(cl, recs)
  one <- as.list(recs[5, ])
  res <- score_quiet(cl, one)
  expect_identical(nrow(res), 1L)
  expect_identical(bits(res$risk), bits(batch$risk[5]))
  one$time_in_hospital <- as.numeric(one$time_in_hospital)
  one$num_medications <- as.integer(one$num_medications)
  expect_identical(bits(score_quiet(cl, one)$risk), bits(batch$risk[5]))
  # An integer column goes as numbers, NA_integer_ missing as NA_real_ is.
  ints <- recs[1:6, ]
  ints$num_medications <- as.integer(ints$num_medications)
  ints$num_medications[2] <- NA_integer_
  dbl <- ints
  dbl$num_medications <- as.numeric(dbl$num_medications)
  expect_identical(bits(score_quiet(cl, ints)$risk), bits(score_quiet(cl, dbl)$risk))
  expect_error(readmit_score_records(cl, c(one, list(race = c("A", "B")))), class = "readmit_invalid_argument")
  # Several encounters as a named list of fields of one length, as a data frame's columns
  # (and as Python's dict of lists); fields of different lengths are refused, naming two.
  six <- score_quiet(cl, as.list(recs[1:6, ]))
  expect_identical(bits(six$risk), bits(batch$risk[1:6]))
  uneven <- as.list(recs[1:6, ])
  uneven$race <- uneven$race[1:2]
  expect_error(readmit_score_records(cl, uneven), "different lengths .*'race' has 2", class = "readmit_invalid_argument")
  # A frame's own row names name the results (a data frame's automatic ones stay automatic).
  named <- recs[3:5, ]
  row.names(named) <- c("enc-a", "enc-b", "enc-c")
  expect_identical(row.names(score_quiet(cl, named)), c("enc-a", "enc-b", "enc-c"))
  expect_identical(row.names(score_quiet(cl, recs[3:5, ])), c("3", "4", "5"))
  expect_identical(row.names(batch), as.character(seq_len(nrow(recs))))
  expect_error(readmit_score_records(cl, 1:3), class = "readmit_invalid_argument")
  expect_error(readmit_score_records(cl, list(1, 2)), class = "readmit_invalid_argument")
})

test_that("dirty values: row errors and warnings name the 1-based row and the field", {
  skip_without_daemon(daemon)
  cl <- connect_to(daemon)
  on.exit(readmit_close(cl))
  recs <- flat_fixture(check.names = FALSE)[1:6, ]
  clean <- score_quiet(cl, recs)
  dirty <- recs
  dirty$time_in_hospital[2] <- "three"
  dirty$gender[3] <- "female"
  got <- score_warned(cl, dirty)
  res <- got$value
  # "three" in a number field: an error of row 2, not a failure of the call.
  expect_identical(which(!is.na(res$error)), 2L)
  expect_match(res$error[2], "time_in_hospital", fixed = TRUE)
  expect_match(res$error[2], "bad_number", fixed = TRUE)
  expect_true(is.na(res$risk[2]) && is.na(res$atypicality[2]) && is.na(res$tier[2]))
  m <- attr(res, "messages")
  err <- m[m$severity == "error", ]
  expect_identical(err$row, 2L)
  expect_identical(err$field, "time_in_hospital")
  expect_identical(err$code, "bad_number")
  # "female" for "Female": missing, with a warning naming row 3 and gender.
  expect_false(is.na(res$risk[3]))
  expect_match(res$warnings[3], "gender", fixed = TRUE)
  expect_match(res$warnings[3], "unknown_level", fixed = TRUE)
  w <- got$warning$messages
  expect_true(any(w$row %in% 3L & w$field %in% "gender" & w$code == "unknown_level"))
  expect_match(conditionMessage(got$warning), "row 3, gender", fixed = TRUE)
  # The other rows are as in the clean batch.
  expect_identical(bits(res$risk[-(2:3)]), bits(clean$risk[-(2:3)]))
  # bad_values = "missing": the row is scored, with a warning.
  lenient <- score_quiet(cl, dirty, bad_values = "missing")
  expect_true(all(is.na(lenient$error)))
  expect_false(is.na(lenient$risk[2]))
  expect_match(lenient$warnings[2], "time_in_hospital", fixed = TRUE)
})

test_that("a stay the spec's cohort excludes (died, hospice) is not scored, under every option", {
  skip_without_daemon(daemon)
  cl <- connect_to(daemon)
  on.exit(readmit_close(cl))
  recs <- flat_fixture(check.names = FALSE)[1:6, ]
  clean <- score_quiet(cl, recs)
  out_of_cohort <- recs
  out_of_cohort$discharge_disposition_id[2] <- "11"   # expired
  out_of_cohort$discharge_disposition_id[5] <- "13"   # hospice
  for (bad in c("error", "missing")) {
    res <- score_quiet(cl, out_of_cohort, bad_values = bad)
    expect_identical(which(!is.na(res$error)), c(2L, 5L))
    expect_match(res$error[2], "discharge_disposition_id (excluded): '11' (died in hospital)", fixed = TRUE)
    expect_match(res$error[5], "hospice", fixed = TRUE)
    expect_true(all(is.na(res$risk[c(2, 5)])) && all(is.na(res$tier[c(2, 5)])))
    m <- attr(res, "messages")
    expect_identical(m$code[m$severity == "error"], c("excluded", "excluded"))
    expect_false(any(m$row %in% c(2L, 5L) & m$severity == "warning"))
    expect_identical(bits(res$risk[-c(2, 5)]), bits(clean$risk[-c(2, 5)]))
  }
})

test_that("TRUE or a Date in a number field is bad_number for its row", {
  skip_without_daemon(daemon)
  cl <- connect_to(daemon)
  on.exit(readmit_close(cl))
  recs <- flat_fixture(check.names = FALSE)[1:4, ]
  clean <- score_quiet(cl, recs)
  lg <- recs
  lg$num_procedures <- c(TRUE, NA, FALSE, TRUE)
  res <- score_quiet(cl, lg)
  expect_identical(!is.na(res$error), c(TRUE, FALSE, TRUE, TRUE))
  m <- attr(res, "messages")
  expect_identical(m$row[m$severity == "error"], c(1L, 3L, 4L))
  expect_true(all(m$field[m$severity == "error"] == "num_procedures"))
  expect_true(all(m$code[m$severity == "error"] == "bad_number"))
  expect_false(is.na(res$risk[2]))   # NA is missing, not an error
  dt <- recs
  dt$num_medications <- as.Date("2020-01-01") + 0:3
  dt$num_medications[2] <- NA
  res <- score_quiet(cl, dt)
  expect_identical(!is.na(res$error), c(TRUE, FALSE, TRUE, TRUE))
  expect_match(res$error[1], "num_medications (bad_number)", fixed = TRUE)
  expect_match(res$error[1], "2020-01-01", fixed = TRUE)
  # An infinite number is not_finite for its row; NA and NaN are missing.
  inf <- recs
  inf$num_lab_procedures <- c(Inf, NA, NaN, 41)
  res <- score_quiet(cl, inf)
  expect_identical(!is.na(res$error), c(TRUE, FALSE, FALSE, FALSE))
  expect_match(res$error[1], "num_lab_procedures (not_finite)", fixed = TRUE)
  # A factor sends its labels.
  fc <- recs
  fc$race <- factor(fc$race)
  fc$time_in_hospital <- factor(fc$time_in_hospital)
  expect_identical(bits(score_quiet(cl, fc)$risk), bits(clean$risk))
})

test_that("an absent required field fails the call naming it, or is missing on request", {
  skip_without_daemon(daemon)
  cl <- connect_to(daemon)
  on.exit(readmit_close(cl))
  recs <- flat_fixture(check.names = FALSE)[1:3, ]
  recs$age <- NULL
  err <- tryCatch(readmit_score_records(cl, recs), error = identity)
  expect_s3_class(err, "readmit_bad_argument")
  expect_s3_class(err, "readmit_daemon_error")
  expect_match(conditionMessage(err), "'age'", fixed = TRUE)
  expect_identical(err$field, "age")
  got <- score_warned(cl, recs, missing_fields = "missing")
  expect_true(all(is.na(got$value$error)))
  expect_true(all(got$value$risk > 0 & got$value$risk < 1))
  w <- got$warning$messages
  expect_true(any(is.na(w$row) & w$field %in% "age" & w$code == "missing_field"))
  expect_match(conditionMessage(got$warning), "request, age", fixed = TRUE)
  # The client works after the failure.
  expect_identical(nrow(score_quiet(cl, recs, missing_fields = "missing")), 3L)
  expect_false(grepl("feature names", conditionMessage(err), fixed = TRUE))
  # A frame of feature vectors (as `readmit encode` writes them) is read as raw records; the
  # message says so, instead of naming only a raw field the frame was never meant to hold.
  names <- readmit_schema(cl)$name
  features <- as.data.frame(matrix(0, 2, length(names), dimnames = list(NULL, names)), check.names = FALSE)
  err <- tryCatch(readmit_score(cl, features), error = identity)
  expect_s3_class(err, "readmit_bad_argument")
  expect_match(conditionMessage(err), "the columns of 'data' are the model's feature names", fixed = TRUE)
  expect_length(readmit_score(cl, as.matrix(features[names])), 2L)
})

test_that("a client's next call of as many rows sends only its own fields, with their own values", {
  skip_without_daemon(daemon)
  # The client keeps its last batch of raw records for a call of as many rows
  # (readmit_records_clear): nothing of one call may reach the next.
  cl <- connect_to(daemon)
  on.exit(readmit_close(cl))
  recs <- flat_fixture(check.names = FALSE)[1:40, ]
  other <- flat_fixture(check.names = FALSE)[41:80, ]
  fresh <- connect_to(daemon)
  want <- score_quiet(fresh, other)
  readmit_close(fresh)
  first <- score_quiet(cl, recs)
  again <- score_quiet(cl, other)
  expect_identical(bits(again$risk), bits(want$risk))
  expect_identical(bits(again$atypicality), bits(want$atypicality))
  expect_identical(again$tier, want$tier)
  # A field of the last call left out of this one is absent, not sent with its old values.
  err <- tryCatch(readmit_score_records(cl, other[, names(other) != "age"]), error = identity)
  expect_s3_class(err, "readmit_bad_argument")
  expect_identical(err$field, "age")
  # A field whose kind changes (texts, then numbers) reads as a new client reads it.
  as_numbers <- other
  as_numbers$num_medications <- as.numeric(as_numbers$num_medications)
  expect_identical(bits(score_quiet(cl, as_numbers)$risk), bits(want$risk))
  expect_identical(bits(score_quiet(cl, recs)$risk), bits(first$risk))
  # Another row count takes a new batch.
  expect_identical(bits(score_quiet(cl, other[1:7, ])$risk), bits(want$risk[1:7]))
})

test_that("k > 0 adds explanations; bad arguments and a closed client are classed errors", {
  skip_without_daemon(daemon)
  cl <- connect_to(daemon)
  recs <- flat_fixture(check.names = FALSE)[1:5, ]
  recs$time_in_hospital[4] <- "three"
  res <- score_quiet(cl, recs, k = 3)
  expect_identical(names(res), c("risk", "atypicality", "tier", "error", "warnings", "explanation"))
  ex <- attr(res, "explanations")
  expect_identical(names(ex), c("row", "rank", "feature", "value", "contribution"))
  expect_identical(sort(unique(ex$row)), c(1L, 2L, 3L, 5L))
  expect_true(all(table(ex$row) <= 3))
  by_row <- split(abs(ex$contribution), ex$row)
  expect_true(all(vapply(by_row, function(v) !is.unsorted(rev(v)), TRUE)))
  expect_identical(res$explanation[4], "")
  first <- ex[ex$row == 1L & ex$rank == 1L, ]
  expect_true(startsWith(res$explanation[1], paste0(first$feature, "=")))
  # The same scores as without explanations.
  expect_identical(bits(res$risk), bits(score_quiet(cl, recs)$risk))
  expect_error(readmit_score_records(cl, recs, k = -1), class = "readmit_invalid_argument")
  expect_error(readmit_score_records(cl, recs, bad_values = "drop"), "must be one of \"error\", \"missing\"",
               class = "readmit_invalid_argument")
  # match.arg() signalled a plain error for these
  expect_error(readmit_score_records(cl, recs, bad_values = NA), class = "readmit_invalid_argument")
  expect_error(readmit_score_records(cl, recs, missing_fields = c("missing", "error")), class = "readmit_invalid_argument")
  expect_error(readmit_score_records(cl, recs, k = 1e10), "from 0 to 2147483647", class = "readmit_invalid_argument")
  readmit_close(cl)
  expect_error(readmit_score_records(cl, recs), class = "readmit_closed")
  expect_error(readmit_raw_fields(cl), class = "readmit_closed")
})

test_that("MIMIC-IV demo: R scores of `readmit history` records equal `readmit score --records`", {
  skip_without_daemon(daemon)
  cli <- records_cli()
  root <- Sys.getenv("READMIT_ROOT")
  spec <- file.path(root, "data", "mimic-iv-demo", "dataset.yaml")
  dirs <- file.path(root, c("data", "../shared/data"), "mimic-iv-demo")
  dirs <- dirs[file.exists(file.path(dirs, "hosp", "admissions.csv.gz"))]
  if (!nzchar(root) || !file.exists(spec) || !length(dirs)) {
    why <- "the MIMIC-IV demo (READMIT_ROOT/data/mimic-iv-demo or ../shared/data/mimic-iv-demo) is not at hand"
    if (identical(Sys.getenv("READMIT_REQUIRE_DAEMON"), "1")) stop(why)
    skip(why)
  }
  out <- tempfile("mimic-model-")
  log <- suppressWarnings(system2(cli, shQuote(c("train", "--dataset", spec, "--quick", "--no-report", "--out", out)),
                                  stdout = TRUE, stderr = TRUE))
  model <- file.path(out, "model.readmit")
  if (!file.exists(model)) stop("readmit train failed:\n", paste(log, collapse = "\n"))
  # A daemon on the fixture (Diabetes 130) model, reloaded with the MIMIC-IV one by another
  # client after `cl` read INFO: the binding sends the columns INFO says the model does not
  # read without their values, so the reply from the reloaded model must make it send the
  # request again, in full.
  d <- start_daemon(extra_args = "--allow-reload-path")
  on.exit(stop_daemon(d))
  cl <- connect_to(d)
  on.exit(readmit_close(cl), add = TRUE)
  stale <- vapply(readmit_info(cl)$raw_fields, function(f) f$name, "")
  admin <- connect_to(d)
  readmit_reload(admin, model)
  readmit_close(admin)
  ref <- cli_records(cli, model, c("--data-dir", normalizePath(dirs[1])))
  recs <- read_flat(ref$flat)
  expect_true(length(setdiff(names(recs), stale)) > 0)
  res <- score_quiet(cl, recs)
  expect_identical(readmit_info(cl)$dataset$name, "mimic-iv-demo")
  fields <- readmit_raw_fields(cl)
  expect_true(all(c("timestamp", "diagnosis_code") %in% fields$type))
  expect_identical(score_quiet(cl, recs), res)   # INFO of the new model cached: the same result
  expect_identical(nrow(res), nrow(ref$scores))
  expect_gt(nrow(res), 200)
  ok <- is.na(ref$scores$error)
  expect_identical(is.na(res$error), ok)
  expect_true(any(!ok))   # stays the cohort excludes (died, hospice): not scored, in both
  expect_true(all(grepl("(excluded)", res$error[!ok], fixed = TRUE)))
  expect_true(all(is.na(res$risk[!ok])) && all(is.na(ref$scores$risk[!ok])))
  expect_identical(bits(res$risk[ok]), bits(ref$scores$risk[ok]))
  expect_identical(bits(res$atypicality[ok]), bits(ref$scores$atypicality[ok]))
  expect_identical(as.character(res$tier), ref$scores$tier)
  # Date-times as R holds them (POSIXct, POSIXlt) score as their texts do; a stay admitted at
  # midnight scores alone as in its batch (as.character() wrote "2153-09-17" for a column
  # whose every value is at midnight: a bad timestamp for that row alone).
  timed <- recs
  timed$admittime <- as.POSIXct(timed$admittime, tz = "UTC")
  timed$dischtime <- as.POSIXlt(timed$dischtime, tz = "UTC")
  expect_identical(score_quiet(cl, timed), res)
  batch <- timed[ok, ][1:3, ]
  batch$admittime[2] <- as.POSIXct(format(batch$admittime[2], "%Y-%m-%d 00:00:00"), tz = "UTC")
  both <- score_quiet(cl, batch)
  alone <- score_quiet(cl, batch[2, ])
  expect_true(is.na(alone$error))
  expect_identical(bits(alone$risk), bits(both$risk[2]))
})


# readmit_derive_history (the protocol's HISTORY): explicit history from a patient file.

# readmit_derive_history with its readmit_data_warning captured: list(value, warning).
derive_warned <- function(...) {
  w <- NULL
  value <- withCallingHandlers(readmit_derive_history(...), readmit_data_warning = function(c) {
    w <<- c
    invokeRestart("muffleWarning")
  })
  list(value = value, warning = w)
}

test_that("derive_history then score equals `readmit history` + `readmit score --records`, bit for bit", {
  skip_without_daemon(daemon)
  ref <- cli_sample_records()
  cl <- connect_to(daemon)
  on.exit(readmit_close(cl))
  encounters <- read_flat(test_path("fixtures", "sample.csv"))
  fields <- readmit_raw_fields(cl)
  hist <- fields$name[fields$history]
  expect_false(any(hist %in% names(encounters)))
  got <- derive_warned(cl, encounters)
  derived <- got$value
  expect_identical(names(derived), c(names(encounters), hist))
  # Clean rows: no row message, only request-level ones (the sample's unread columns).
  m <- attr(derived, "messages")
  expect_true(all(is.na(m$row)) && all(m$severity == "warning"))
  flat <- read_flat(ref$flat)
  for (h in hist) {
    expect_type(derived[[h]], "double")
    expect_identical(bits(derived[[h]]), bits(suppressWarnings(as.numeric(flat[[h]]))), label = h)
  }
  expect_true(sum(derived[[hist[1]]] > 0, na.rm = TRUE) > 10)   # earlier stays are in the sample
  res <- score_quiet(cl, derived)
  expect_identical(bits(res$risk), bits(ref$scores$risk))
  expect_identical(as.character(res$tier), ref$scores$tier)
  # Row order does not matter; a caller's own history column is replaced, not read.
  perm <- rev(seq_len(nrow(encounters)))
  shuffled <- encounters[perm, ]
  shuffled[[hist[1]]] <- "99"
  again <- derive_warned(cl, shuffled)$value
  for (h in hist) expect_identical(bits(again[[h]]), bits(derived[[h]][perm]), label = h)
})

test_that("derive_history reports bad rows with their 1-based row and field", {
  skip_without_daemon(daemon)
  cl <- connect_to(daemon)
  on.exit(readmit_close(cl))
  encounters <- read_flat(test_path("fixtures", "sample.csv"))
  fields <- readmit_raw_fields(cl)
  hist <- fields$name[fields$history]
  id <- "encounter_id"
  encounters[[id]][3] <- "soon"
  got <- derive_warned(cl, encounters)
  expect_s3_class(got$warning, "readmit_data_warning")
  m <- attr(got$value, "messages")
  e <- m[m$severity == "error", ]
  expect_identical(e$row, 3L)
  expect_identical(e$field, id)
  expect_identical(e$code, "bad_number")
  for (h in hist) expect_true(is.na(got$value[[h]][3]))
  # An absent field needed to place the rows: a classed error naming it.
  patient <- readmit_info(cl)$history_inputs$required[[1]]
  if (!is.null(patient)) {
    err <- tryCatch(readmit_derive_history(cl, encounters[setdiff(names(encounters), patient)]),
                    readmit_bad_argument = identity)
    expect_s3_class(err, "readmit_bad_argument")
    expect_identical(err$field, patient)
  }
})

stop_daemon(daemon)
