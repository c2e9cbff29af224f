# Schema fixtures for the encoder tests, which need no daemon. fixtures/info.json has the shape
# of a real INFO reply (docs/PROTOCOL.md, docs/FEATURES.md), with levels taken from the shipped
# data; fixtures/sample.csv holds 279 unmodified rows of data/diabetes130 (CC BY 4.0, see its
# README), including all encounters of 40 repeat patients, shuffled; fixtures/sample_encoded.csv
# is their encoding by an independent row-by-row implementation of docs/FEATURES.md.

fixture_info <- function() {
  readmit:::parse_json(paste(readLines(test_path("fixtures", "info.json")), collapse = "\n"))
}

# Reads a CSV of the training schema the way the docs recommend: "?" is missing, "None" stays.
read_raw_csv <- function(path) {
  utils::read.csv(path, na.strings = "?", stringsAsFactors = FALSE, check.names = FALSE)
}

# Encodes with the fixture schema, without a daemon.
encode_fixture <- function(df, warn = FALSE) {
  readmit:::encode_frame(df, fixture_info()$features, warn = warn)
}
