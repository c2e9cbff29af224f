# readmit_read_records reads raw records as `readmit score --records` does (no daemon needed).

write_bytes <- function(bytes) {
  path <- tempfile(fileext = ".csv")
  writeBin(bytes, path)
  path
}

test_that("LF, CRLF, a byte-order mark and gzip read the same, every value as written", {
  rows <- c("id,race,n", "1,None,3", "", "2,?,", "3,\"Mar,tian \"\"x\"\"\",12")
  lf <- charToRaw(paste0(paste(rows, collapse = "\n"), "\n"))
  crlf <- charToRaw(paste0(paste(rows, collapse = "\r\n"), "\r\n"))
  bom <- as.raw(c(0xef, 0xbb, 0xbf))
  gz <- tempfile(fileext = ".csv.gz")
  con <- gzfile(gz, "wb"); writeBin(c(bom, crlf), con); close(con)
  for (path in c(write_bytes(lf), write_bytes(crlf), write_bytes(c(bom, crlf)), gz)) {
    f <- readmit_read_records(path)
    expect_identical(names(f), c("id", "race", "n"))
    expect_identical(f$race, c("None", "?", "Mar,tian \"x\""))
    expect_identical(f$n, c("3", "", "12"))
  }
})

test_that("bad files name the first bad line, the column and the kind", {
  bad <- function(bytes) tryCatch(readmit_read_records(write_bytes(bytes)), readmit_data_file_error = identity)
  e <- bad(c(charToRaw("a,b\n1,2\n3,4"), as.raw(0xff), charToRaw("5\n6,"), as.raw(0xc3), charToRaw("\n")))
  expect_s3_class(e, "readmit_input_error")
  expect_identical(list(e$line, e$column, e$kind), list(3L, "b", "bad_encoding"))
  expect_match(conditionMessage(e), ":3: column 'b': field 2 is not valid UTF-8 (byte 0xFF at byte 2 of the field)", fixed = TRUE)
  e <- bad(charToRaw("a,b\r\n1,\"x\r\ny\"\r\n\r\n3\r\n4,5,6\r\n"))
  expect_identical(list(e$line, e$kind), list(5L, "malformed"))   # read.csv would pad it silently
  e <- bad(c(charToRaw("a,b\n1,"), rep(charToRaw("7"), 1048577L), charToRaw("\n")))
  expect_identical(list(e$column, e$kind), list("b", "field_too_long"))
  expect_identical(bad(raw(0))$kind, "empty")
  # Another separator is named, as the CLI and Python name it (line 2: a blank line first).
  e <- bad(charToRaw("\nenc;pat;age\n1;2;3\n"))
  expect_identical(list(e$line, e$kind), list(2L, "malformed"))
  expect_match(conditionMessage(e), ":2: the header is one field that holds ';' characters: the file looks ';'-separated; readmit reads comma-separated files (RFC 4180)", fixed = TRUE)
  expect_match(conditionMessage(bad(charToRaw("enc\tpat\n1\t2\n"))), "holds tab characters", fixed = TRUE)
  # Lines ended by a carriage return alone (classic Mac OS): one line for the CLI, refused as
  # such (read.csv read them as rows).
  e <- bad(charToRaw("enc,age\r1,2\r3,4\r"))
  expect_identical(list(e$line, e$kind), list(1L, "malformed"))
  expect_match(conditionMessage(e), ":1: header field 2 holds a carriage return that ends no line: lines ended by a carriage return alone (classic Mac OS) are not line breaks in a CSV file; convert the file to LF or CRLF line endings", fixed = TRUE)
})

test_that("unnamed columns are left out and a name twice is refused, as by the CLI", {
  # A spreadsheet's trailing commas: never read by the CLI; kept, their empty names failed
  # readmit_score_records ("every column of 'data' needs a name").
  f <- readmit_read_records(write_bytes(charToRaw("a,,b,,\n1,x,2,,\n")))
  expect_identical(names(f), c("a", "b"))
  expect_identical(unname(unlist(f[1, ])), c("1", "2"))
  e <- tryCatch(readmit_read_records(write_bytes(charToRaw("\na,race,race,b\n1,2,3,4\n"))), readmit_data_file_error = identity)
  expect_identical(list(e$line, e$column, e$kind), list(2L, "race", "malformed"))
  expect_match(conditionMessage(e), ":2: column 'race': header names column 'race' twice (fields 2 and 3): rename or drop one", fixed = TRUE)
})

test_that("a lone carriage return in a row is data, as the CLI reads it", {
  f <- readmit_read_records(write_bytes(charToRaw("a,b\r\n1,x\ry\r\n2,\"q\rr\"\r\n3,z\r")))
  expect_identical(f$b, c("x\ry", "q\rr", "z"))
  expect_identical(f$a, c("1", "2", "3"))
})

test_that("gzip is read as the CLI reads it: members in turn, a cut file refused, the size limit", {
  text <- charToRaw("a,b\n1,2\n3,4\n")
  gz <- function(bytes) {  # a gzip member (memCompress(type = "gzip") writes zlib's format)
    p <- tempfile()
    con <- gzfile(p, "wb")
    writeBin(bytes, con)
    close(con)
    readBin(p, "raw", file.size(p))
  }
  whole <- c(gz(text[1:8]), gz(text[9:12]))
  expect_identical(readmit_read_records(write_bytes(c(whole, as.raw(c(0, 0)))))$b, c("2", "4"))
  # A cut download: gzfile() gave what it could inflate without a word.
  cut <- write_bytes(whole[seq_len(length(whole) - 5L)])
  e <- tryCatch(readmit_read_records(cut), readmit_data_file_error = identity)
  expect_identical(e$kind, "unreadable")
  expect_identical(conditionMessage(e), sprintf("%s: cannot read or decompress: invalid or truncated gzip data", cut))
  fail <- function(message) stop(message, call. = FALSE)
  long <- charToRaw(paste0("a,b\n", strrep("1,2\n", 50000L)))  # 200,004 bytes; its gzip, about 1 KB
  packed <- write_bytes(gz(long))
  expect_identical(readmit:::read_file_bytes(packed, 200004, fail), long)
  expect_error(readmit:::read_file_bytes(packed, 200003, fail), "file decompresses to more than 200003 bytes, which is not supported", fixed = TRUE)
  expect_identical(readmit:::read_file_bytes(write_bytes(text), 12, fail), text)
  expect_error(readmit:::read_file_bytes(write_bytes(text), 11, fail), "file larger than 11 bytes is not supported", fixed = TRUE)
})
