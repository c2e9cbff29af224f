# The package names no dataset's columns: the raw fields come from the model (INFO raw_fields,
# readmit_raw_fields) and the daemon encodes them, so no string literal under R/ or src/ (the
# synced shim copies aside) may hold a column of the Diabetes 130 data set.

diabetes130_columns <- c(
  "patient_nbr", "readmitted", "discharge_disposition_id", "admission_type_id",
  "admission_source_id", "time_in_hospital", "num_lab_procedures", "num_procedures",
  "num_medications", "number_outpatient", "number_emergency", "number_inpatient",
  "number_diagnoses", "medical_specialty", "payer_code", "max_glu_serum", "A1Cresult",
  "diabetesMed", "diag_1", "diag_2", "diag_3", "metformin", "insulin")

# The package's source directory: beside the tests in the source tree, else (R CMD check runs a
# copy of the tests) under READMIT_ROOT.
package_source <- function() {
  dirs <- c(test_path("..", ".."), file.path(Sys.getenv("READMIT_ROOT"), "bindings", "r"))
  dirs <- dirs[file.exists(file.path(dirs, "tools", "shim-files.txt")) & dir.exists(file.path(dirs, "R"))]
  if (!length(dirs)) {
    why <- "the package sources (bindings/r) are not at hand: set READMIT_ROOT"
    if (identical(Sys.getenv("READMIT_REQUIRE_DAEMON"), "1")) stop(why)
    skip(why)
  }
  dirs[1]
}

# The string literals of an R file (parser tokens), without their quotes.
r_strings <- function(path) {
  pd <- utils::getParseData(parse(path, keep.source = TRUE))
  vapply(pd$text[pd$token == "STR_CONST"], function(t) eval(parse(text = t)), "", USE.NAMES = FALSE)
}

# The string literals of a C file: comments and character constants are skipped.
c_strings <- function(path) {
  text <- paste(readLines(path, warn = FALSE), collapse = "\n")
  tok <- regmatches(text, gregexpr("\"(?:[^\"\\\\\n]|\\\\.)*\"|/\\*[\\s\\S]*?\\*/|//[^\n]*|'(?:[^'\\\\\n]|\\\\.)*'",
                                   text, perl = TRUE))[[1]]
  tok <- tok[startsWith(tok, "\"")]
  substr(tok, 2L, nchar(tok) - 1L)
}

# The columns named (as whole words) in any of `strings`.
columns_named <- function(strings) {
  hit <- vapply(diabetes130_columns, function(col) {
    any(grepl(sprintf("(?<![A-Za-z0-9_])%s(?![A-Za-z0-9_])", col), strings, perl = TRUE))
  }, TRUE)
  diabetes130_columns[hit]
}

test_that("the checks find a column in a string literal, and not in a comment or a longer name", {
  r <- tempfile(fileext = ".R")
  writeLines(c("# time_in_hospital in a comment", "f <- function(df) df[[\"time_in_hospital\"]]",
               "g <- 'diag_10 insulin_dose'"), r)
  expect_identical(columns_named(r_strings(r)), "time_in_hospital")
  cf <- tempfile(fileext = ".c")
  writeLines(c("/* \"patient_nbr\" in a comment */", "// \"A1Cresult\"",
               "static const char *k = \"x\\\"y diag_2\";", "char q = '\"';"), cf)
  expect_identical(columns_named(c_strings(cf)), "diag_2")
})

test_that("no R or C source of the package names a Diabetes 130 column in a string literal", {
  pkg <- package_source()
  shim <- readLines(file.path(pkg, "tools", "shim-files.txt"))
  r_files <- list.files(file.path(pkg, "R"), pattern = "\\.[Rr]$", full.names = TRUE)
  src <- list.files(file.path(pkg, "src"), pattern = "\\.(c|h|in)$")
  src <- setdiff(src, shim)
  expect_gt(length(r_files), 0L)
  expect_true("init.c" %in% src)
  expect_false("rm_json.c" %in% src)
  found <- c(
    unlist(lapply(r_files, function(f) {
      cols <- columns_named(r_strings(f))
      if (length(cols)) sprintf("%s: %s", basename(f), paste(cols, collapse = ", "))
    })),
    unlist(lapply(file.path(pkg, "src", src), function(f) {
      cols <- columns_named(c_strings(f))
      if (length(cols)) sprintf("%s: %s", basename(f), paste(cols, collapse = ", "))
    })))
  expect_identical(found, NULL)
})
