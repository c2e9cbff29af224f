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
