# The encoder against the schema fixture: no daemon needed. The end-to-end check against
# `readmit score` is in test-client.R.

test_that("real rows encode exactly as an independent implementation of docs/FEATURES.md", {
  df <- read_raw_csv(test_path("fixtures", "sample.csv"))
  expected <- as.matrix(utils::read.csv(test_path("fixtures", "sample_encoded.csv"), check.names = FALSE))
  x <- encode_fixture(df)
  expect_identical(dim(x), dim(expected))
  expect_identical(colnames(x), colnames(expected))
  expect_identical(unname(is.na(x)), unname(is.na(expected)))
  expect_identical(unname(x[!is.na(x)]), unname(expected[!is.na(expected)]))
})

test_that("read.csv's default name mangling (glyburide.metformin) is accepted", {
  df <- utils::read.csv(test_path("fixtures", "sample.csv"), na.strings = "?", stringsAsFactors = FALSE)
  expect_true("glyburide.metformin" %in% names(df))
  strict <- read_raw_csv(test_path("fixtures", "sample.csv"))
  expect_identical(encode_fixture(df), encode_fixture(strict))
})

test_that("columns are found by name, in any order, and extra columns are ignored", {
  df <- read_raw_csv(test_path("fixtures", "sample.csv"))
  shuffled <- df[, rev(names(df))]
  shuffled$extra <- "ignored"
  expect_identical(encode_fixture(shuffled), encode_fixture(df))
})

test_that("a missing required column is an error naming it", {
  df <- read_raw_csv(test_path("fixtures", "sample.csv"))
  df$age <- NULL
  df$insulin <- NULL
  err <- tryCatch(encode_fixture(df), error = identity)
  expect_s3_class(err, "readmit_missing_column")
  expect_s3_class(err, "readmit_error")
  expect_match(conditionMessage(err), "'age', 'insulin'")
  expect_identical(err$columns, c("age", "insulin"))
})

# One row with every feature set, built by hand.
one_row <- function(...) {
  df <- read_raw_csv(test_path("fixtures", "sample.csv"))[1, ]
  mods <- list(...)
  for (n in names(mods)) df[[n]] <- mods[[n]]
  df
}

test_that("categorical values become 0-based level indices; None is a level", {
  info <- fixture_info()
  lv <- function(name) info$features[[which(vapply(info$features, `[[`, "", "name") == name)]]$levels
  row <- function(type) one_row(age = "[70-80)", race = "AfricanAmerican", max_glu_serum = "None",
                                A1Cresult = ">8", admission_type_id = type, insulin = "Up")
  x <- encode_fixture(row(6L))
  expect_identical(unname(x[1, "age"]), 7)
  expect_identical(unname(x[1, "race"]), match("AfricanAmerican", lv("race")) - 1)
  expect_identical(unname(x[1, "max_glu_serum"]), match("None", lv("max_glu_serum")) - 1)
  expect_identical(unname(x[1, "A1Cresult"]), match(">8", lv("A1Cresult")) - 1)
  expect_identical(unname(x[1, "admission_type_id"]), match("6", lv("admission_type_id")) - 1)
  expect_identical(unname(x[1, "insulin"]), match("Up", lv("insulin")) - 1)
  # An integer code given as text, as a factor or as a double gives the same index.
  expect_identical(encode_fixture(row("6")), x)
  expect_identical(encode_fixture(row(6)), x)
  expect_identical(encode_fixture(row(factor("6"))), x)
})

test_that("unseen levels and missing values become NA with one warning counting them", {
  df <- one_row(race = "Martian", payer_code = NA, gender = "?", num_lab_procedures = "many")
  w <- NULL
  x <- withCallingHandlers(readmit:::encode_frame(df, fixture_info()$features),
                           warning = function(c) { w <<- c; invokeRestart("muffleWarning") })
  expect_true(is.na(x[1, "race"]))
  expect_true(is.na(x[1, "payer_code"]))
  expect_true(is.na(x[1, "gender"]))
  expect_true(is.na(x[1, "num_lab_procedures"]))
  expect_s3_class(w, "readmit_encode_warning")
  expect_match(conditionMessage(w), "1 value not among the training levels (race: 1)", fixed = TRUE)
  expect_match(conditionMessage(w), "1 value not a finite number (num_lab_procedures: 1)", fixed = TRUE)
  counts <- w$counts
  expect_identical(counts$unseen[counts$feature == "race"], 1L)
  expect_identical(counts$missing[counts$feature == "payer_code"], 1L)
  expect_identical(counts$missing[counts$feature == "gender"], 1L)
  expect_silent(readmit:::encode_frame(df, fixture_info()$features, warn = FALSE))
})

test_that("medical_specialty outside the top levels maps to Other", {
  info <- fixture_info()
  lv <- info$features[[which(vapply(info$features, `[[`, "", "name") == "medical_specialty")]]$levels
  x <- encode_fixture(rbind(one_row(medical_specialty = "Some-Rare-Specialty"),
                            one_row(medical_specialty = lv[1]),
                            one_row(medical_specialty = NA)))
  expect_identical(unname(x[, "medical_specialty"]), c(length(lv) - 1, 0, NA))
})

test_that("diagnosis codes map to ICD-9 chapters", {
  codes <- c("250.83", "250", "401", "785", "486", "786", "530", "787", "820", "999", "715",
             "599", "788", "174", "V57", "E909", "001", "?", NA, "abc", " 401")
  chapters <- c("diabetes", "diabetes", "circulatory", "circulatory", "respiratory",
                "respiratory", "digestive", "digestive", "injury", "injury", "musculoskeletal",
                "genitourinary", "genitourinary", "neoplasms", "other", "other", "other", NA, NA,
                "other", "other")
  expect_identical(readmit:::icd9_chapter(codes), chapters)
  # A diagnosis column that read.csv turned into numbers gives the same chapters.
  expect_identical(readmit:::icd9_chapter(c(250.83, 428, NA)), c("diabetes", "circulatory", NA))
})

test_that("history comes from the same patient's earlier encounters only", {
  base <- one_row()
  rows <- base[rep(1, 4), ]
  rows$patient_nbr <- c(7, 7, 7, 8)
  rows$encounter_id <- c(30, 10, 20, 5)     # file order is not time order
  rows$time_in_hospital <- c(4, 2, NA, 9)
  rows$number_inpatient <- c(2, 0, 1, 5)
  rows$discharge_disposition_id <- c(1, 1, 3, 1)
  rows$readmitted <- c("NO", "<30", "<30", "<30")
  x <- encode_fixture(rows)
  # Patient 7 in time order: encounter 10 (row 2), 20 (row 3), 30 (row 1).
  expect_identical(unname(x[, "prior_encounters"]), c(2, 0, 1, 0))
  expect_identical(unname(x[, "prior_days_in_hospital"]), c(2, 0, 2, 0))   # NA stay counts 0
  expect_identical(unname(x[, "prev_number_inpatient"]), c(1, NA, 0, NA))
  expect_identical(unname(x[, "prev_time_in_hospital"]), c(NA, NA, 2, NA))
  expect_identical(unname(x[, "prev_discharged_home"]), c(0, NA, 1, NA))
  expect_identical(unname(x[, "prior_readmitted_within_30"]), c(2, 0, 1, 0))
  # Without the label column the readmission count is unknown, not zero.
  rows$readmitted <- NULL
  expect_true(all(is.na(encode_fixture(rows)[, "prior_readmitted_within_30"])))
  # Without patient ids every history feature is missing.
  rows$patient_nbr <- NULL
  h <- encode_fixture(rows)[, readmit:::.history_sources]
  expect_true(all(is.na(h)))
})

test_that("history columns supplied by the caller are used as is", {
  rows <- one_row(prior_encounters = 3, prev_number_inpatient = 2)
  x <- encode_fixture(rows)
  expect_identical(unname(x[1, "prior_encounters"]), 3)
  expect_identical(unname(x[1, "prev_number_inpatient"]), 2)
})

test_that("non-integer stays sum sequentially per patient", {
  rows <- one_row()[rep(1, 3), ]
  rows$patient_nbr <- c(1, 1, 1)
  rows$encounter_id <- 1:3
  rows$time_in_hospital <- c(0.1, 0.2, 0.3)
  x <- encode_fixture(rows)
  expect_identical(unname(x[, "prior_days_in_hospital"]), c(0, 0.1, 0.1 + 0.2))
})

test_that("an empty data frame gives a 0-row matrix; non-frames are rejected", {
  df <- read_raw_csv(test_path("fixtures", "sample.csv"))[0, ]
  x <- encode_fixture(df)
  expect_identical(dim(x), c(0L, 52L))
  expect_error(encode_fixture(matrix(0, 1, 52)), class = "readmit_invalid_argument")
  expect_error(encode_fixture(list(a = 1)), class = "readmit_invalid_argument")
})

# The level codes of every row computed in R, as the encoder did before it keyed columns in C
# (src/rreadmit_assemble.c): each keyed column list(ids, codes) becomes the per-row codes of the
# raw column.
encode_row_by_row <- function(df, features = fixture_info()$features) {
  prep <- readmit:::prepare_columns(df, features)
  specs <- readmit:::feature_specs(features)
  df <- readmit:::resolve_columns(df, vapply(specs, `[[`, "", "source"))
  cols <- prep$cols
  for (j in seq_along(cols)) {
    if (is.list(cols[[j]])) {
      x <- df[[specs[[j]]$source]]
      values <- if (is.factor(x)) as.character(x) else x
      cols[[j]] <- readmit:::level_coder(specs[[j]])(values)
    }
  }
  res <- .Call(readmit:::rreadmit_assemble, cols, prep$kind, prep$n_levels, FALSE, prep$names)
  list(x = res$x, missing = res$missing, unseen = res$unseen)
}

keyed_encode <- function(df, features = fixture_info()$features) {
  prep <- readmit:::prepare_columns(df, features)
  res <- .Call(readmit:::rreadmit_assemble, prep$cols, prep$kind, prep$n_levels, FALSE, prep$names)
  list(x = res$x, missing = res$missing, unseen = res$unseen)
}

test_that("level columns keyed in C give the row-by-row codes, counts included", {
  df <- read_raw_csv(test_path("fixtures", "sample.csv"))
  df$race[c(3, 9, 27)] <- "Martian"
  df$payer_code[5] <- "ZZ"
  df$gender[c(2, 4)] <- c("", "?")
  df$medical_specialty[11:14] <- "Some-Rare-Specialty"
  df$diag_1[c(1, 2)] <- c(" 401", "abc")
  variants <- list(
    character = df,
    integer_ids_as_double = transform(df, admission_type_id = as.double(admission_type_id),
                                      discharge_disposition_id = as.double(discharge_disposition_id)),
    ids_as_text = transform(df, admission_source_id = as.character(admission_source_id)),
    factors = as.data.frame(lapply(df, function(x) if (is.character(x)) factor(x) else x),
                            check.names = FALSE),
    all_na_logical = transform(df, weight = NA),
    as_is = transform(df, race = I(race))
  )
  for (v in names(variants)) {
    keyed <- keyed_encode(variants[[v]])
    expect_identical(keyed, encode_row_by_row(variants[[v]]), info = v)
  }
  counts <- keyed_encode(df)
  names(counts$unseen) <- colnames(counts$x)
  expect_identical(counts$unseen[["race"]], 3L)
  expect_identical(counts$unseen[["payer_code"]], 1L)
  expect_identical(sum(counts$unseen), 4L)    # medical_specialty maps to Other, not unseen
  w <- tryCatch(readmit:::encode_frame(df, fixture_info()$features), warning = identity)
  expect_match(conditionMessage(w), "4 values not among the training levels (race: 3, payer_code: 1)",
               fixed = TRUE)
})

test_that("distinct values are found by identity; equal text in two encodings gets one code", {
  x <- c("b", NA, "a", "b", "?", "", NA, "a")
  d <- .Call(readmit:::rreadmit_distinct, list(x))[[1]]
  expect_identical(d$keys, unique(x))
  expect_identical(d$ids, as.raw(match(x, unique(x)) - 1L))
  i <- c(3L, NA, 3L, 1L)
  d <- c(2.5, NaN, NA, 2.5, -0, 0)
  l <- c(NA, TRUE, NA)
  keys <- lapply(.Call(readmit:::rreadmit_distinct, list(i, d, l, character())), `[[`, "keys")
  expect_identical(keys[[1]], c(3L, NA, 1L))
  expect_identical(keys[[2]], c(2.5, NaN, NA, -0, 0))   # by bits: -0 and 0 are two keys
  expect_identical(keys[[3]], c(NA, TRUE))
  expect_identical(keys[[4]], character())
  # More than 256 distinct values: integer ids.
  many <- as.character(c(1:300, 300:1))
  d <- .Call(readmit:::rreadmit_distinct, list(many))[[1]]
  expect_identical(d$keys, as.character(1:300))
  expect_identical(d$ids, c(0:299, 299:0))
  # One level in UTF-8; the column has the same text in latin1 and in UTF-8.
  features <- fixture_info()$features
  race <- which(vapply(features, `[[`, "", "name") == "race")
  features[[race]]$levels[[1]] <- "Caf\u00e9"
  df <- read_raw_csv(test_path("fixtures", "sample.csv"))[1:3, ]
  df$race <- c(iconv("Caf\u00e9", "UTF-8", "latin1"), "Caf\u00e9", "other text")
  expect_identical(Encoding(df$race[1:2]), c("latin1", "UTF-8"))
  x <- readmit:::encode_frame(df, features, warn = FALSE)
  expect_identical(unname(x[, "race"]), c(0, 0, NA))
  expect_identical(keyed_encode(df, features), encode_row_by_row(df, features))
})

test_that("the row-major assembly (the send buffer of a data frame) holds the same values", {
  df <- read_raw_csv(test_path("fixtures", "sample.csv"))
  prep <- readmit:::prepare_columns(df, fixture_info()$features)
  cm <- .Call(readmit:::rreadmit_assemble, prep$cols, prep$kind, prep$n_levels, FALSE, NULL)
  rm <- .Call(readmit:::rreadmit_assemble, prep$cols, prep$kind, prep$n_levels, TRUE, NULL)
  expect_identical(dim(rm$x), rev(dim(cm$x)))
  expect_identical(t(rm$x), cm$x)
  expect_identical(rm[c("missing", "unseen")], cm[c("missing", "unseen")])
  # More rows than one block of the writer (512), in a frame of 279 rows repeated.
  big <- df[rep(seq_len(nrow(df)), 5), ]
  prep <- readmit:::prepare_columns(big, fixture_info()$features)
  cm <- .Call(readmit:::rreadmit_assemble, prep$cols, prep$kind, prep$n_levels, FALSE, NULL)
  rm <- .Call(readmit:::rreadmit_assemble, prep$cols, prep$kind, prep$n_levels, TRUE, NULL)
  expect_identical(t(rm$x), cm$x)
  expect_identical(keyed_encode(big), encode_row_by_row(big))
})

test_that("a keyed column with an id that has no code is an error, not a wrong code", {
  df <- read_raw_csv(test_path("fixtures", "sample.csv"))[1:3, ]
  prep <- readmit:::prepare_columns(df, fixture_info()$features)
  j <- which(vapply(prep$cols, is.list, NA))[1]
  prep$cols[[j]][[2]] <- integer()
  expect_error(.Call(readmit:::rreadmit_assemble, prep$cols, prep$kind, prep$n_levels, FALSE, NULL),
               "has an id without a code")
})

test_that("history from integer and from double ids and stays is the same", {
  df <- read_raw_csv(test_path("fixtures", "sample.csv"))
  expect_true(is.integer(df$patient_nbr) && is.integer(df$time_in_hospital))
  dbl <- transform(df, patient_nbr = as.double(patient_nbr), encounter_id = as.double(encounter_id),
                   time_in_hospital = as.double(time_in_hospital),
                   discharge_disposition_id = as.character(discharge_disposition_id))
  expect_identical(encode_fixture(dbl), encode_fixture(df))
})

test_that("numbers in character columns are read from their distinct texts as from every row", {
  x <- c("3", "many", " 5", "Inf", "", "?", NA, "1e3", "-0", "3", "many", "2.5", "NaN")
  expect_identical(readmit:::raw_number_distinct(x), readmit:::raw_number(x))
  expect_identical(readmit:::raw_number_distinct(character()), readmit:::raw_number(character()))
  expect_identical(readmit:::raw_number_distinct(7:9), readmit:::raw_number(7:9))
  df <- utils::read.csv(test_path("fixtures", "sample.csv"), na.strings = "?", colClasses = "character",
                        check.names = FALSE)
  df$num_lab_procedures[1:3] <- c("many", "Inf", " 5")
  df$time_in_hospital[4] <- "x"
  w <- tryCatch(readmit:::encode_frame(df, fixture_info()$features), warning = identity)
  # " 5" is the number 5 for as.numeric(), as for raw_number() of every row.
  expect_match(conditionMessage(w), "3 values not a finite number (num_lab_procedures: 2, time_in_hospital: 1);",
               fixed = TRUE)
  typed <- read_raw_csv(test_path("fixtures", "sample.csv"))
  x <- encode_fixture(df)
  keep <- !colnames(x) %in% c("num_lab_procedures", "time_in_hospital", "prior_days_in_hospital",
                               "prev_time_in_hospital")
  expect_identical(x[, keep], encode_fixture(typed)[, keep])
})
