# Reading a CSV of raw records the way the readmit CLI reads it (docs/DATASET_SPEC.md, "CSV
# files"), so that R sends the daemon the same texts as `readmit score --records` does.

# The longest field accepted, in bytes: the CLI's CSVTable.maxFieldBytes.
.readmit_max_field_bytes <- 1048576L

#' Read a CSV of raw records as the readmit CLI reads it
#'
#' Reads flat raw records (as \code{readmit history} writes them, or an EHR export) into a data
#' frame of character columns, every value the text written: no text becomes \code{NA}
#' (\code{None} is a level of Diabetes 130, and which texts are missing, such as \code{"?"}, is
#' the model's dataset spec's business, applied by the daemon; an empty field is missing
#' there). Column names are kept as written (no \code{make.names}). The rules are the CLI's:
#' UTF-8 text, a byte-order mark at the start ignored, LF or CRLF line endings (a lone carriage
#' return is data; a file whose lines end with one alone is refused), RFC 4180
#' quotes, blank lines skipped, gzip files read as well. The result goes to
#' \code{\link{readmit_score_records}} as it is.
#'
#' One difference remains: a line break inside a quoted field is read as LF (R's reader turns a
#' CRLF there into LF); such a field is never a number or a learned level, so the scores are
#' the same.
#'
#' @param path a CSV or CSV.gz file.
#' @return a data frame with one character column per header field.
#' @details A file the CLI refuses is an error of class \code{readmit_data_file_error} (a
#'   \code{readmit_input_error}) with fields \code{path}, \code{line} (1-based, the header is
#'   line 1; the first bad line), \code{column} (the column name, \code{NA} when unknown) and
#'   \code{kind} (the CLI's code): \code{"bad_encoding"} (not valid UTF-8),
#'   \code{"field_too_long"} (a field over 1 MiB), \code{"malformed"} (a row whose field count
#'   differs from the header's, a broken quote, a NUL byte, a column name twice; unnamed columns are left out), \code{"empty"}.
#' @seealso \code{\link{readmit_score_records}}
#' @examples
#' \dontrun{
#' recs <- readmit_read_records("flat.csv")
#' res <- readmit_score_records(readmit_connect("tcp://127.0.0.1:5555"), recs)
#' }
#' @export
readmit_read_records <- function(path) {
  call <- sys.call()
  if (!is.character(path) || length(path) != 1L || is.na(path)) {
    readmit_abort("'path' must be one file name", class = "readmit_invalid_argument", call = call)
  }
  fail <- function(line, message, kind, column = NA_character_) {
    where <- if (is.na(line)) path else sprintf("%s:%d", path, line)
    col <- if (is.na(column)) "" else sprintf("column '%s': ", column)
    readmit_abort(sprintf("%s: %s%s", where, col, message), class = c("readmit_data_file_error", "readmit_input_error"),
                  call = call, path = path, line = line, column = column, kind = kind)
  }
  if (!file.exists(path) || dir.exists(path)) fail(NA_integer_, "cannot open file (does it exist and is it readable?)", "file_not_found")
  bytes <- read_file_bytes(path, .readmit_max_file_bytes, function(message) fail(NA_integer_, message, "unreadable"))
  if (length(bytes) >= 3L && identical(bytes[1:3], as.raw(c(0xef, 0xbb, 0xbf)))) bytes <- bytes[-(1:3)]
  feeds <- which(bytes == as.raw(10L))
  line_of <- function(offset) sum(feeds < offset) + 1L  # the 1-based line of byte `offset`
  nul <- which(bytes == as.raw(0L))
  if (length(nul)) fail(line_of(nul[1]), "contains a NUL byte", "malformed")
  text <- rawToChar(bytes)
  Encoding(text) <- "UTF-8"
  if (!validUTF8(text)) {
    bad <- first_invalid_utf8(bytes)
    line <- line_of(bad)
    start <- if (line > 1L) feeds[line - 1L] + 1L else 1L
    before <- bytes[seq_len(bad - start) + start - 1L]
    commas <- which(before == as.raw(44L))  # commas before it on its line (quotes aside)
    field <- length(commas) + 1L
    at <- length(before) - (if (length(commas)) max(commas) else 0L) + 1L
    header <- if (line > 1L) strsplit(rawToChar(bytes[seq_len(feeds[1] - 1L)]), ",", fixed = TRUE)[[1]] else character()
    header <- sub("\r$", "", header)
    column <- if (field <= length(header)) header[field] else NA_character_
    if (line == 1L) column <- NA_character_
    fail(line, sprintf("%sfield %d is not valid UTF-8 (byte 0x%s at byte %d of the field)", if (line == 1L) "header " else "",
                       field, toupper(as.character(bytes[bad])), at), "bad_encoding", column)
  }
  # R's readers end a line at a lone carriage return, where the CLI reads it as data: such a
  # return stands in as a character the text does not hold while they parse, and is put back.
  lone_cr <- NA_character_
  if (grepl("\r(?!\n|\\z)", text, perl = TRUE)) {
    for (code in 0xE000:0xF8FF) {
      candidate <- intToUtf8(code)
      if (!grepl(candidate, text, fixed = TRUE)) { lone_cr <- candidate; break }
    }
    text <- gsub("\r(?!\n|\\z)", lone_cr, text, perl = TRUE)
    Encoding(text) <- "UTF-8"
  }
  # Field counts per line (NA for all but the last line of a record with a quoted line break; 0
  # for a blank line): a record whose count differs from the header's is reported at the line
  # where it starts, as the CLI does (read.csv itself would pad a short row silently).
  counts <- utils::count.fields(textConnection(text), sep = ",", quote = "\"", blank.lines.skip = FALSE,
                                comment.char = "")
  ends <- which(!is.na(counts) & counts > 0L)
  if (!length(ends)) fail(NA_integer_, "file is empty (no header line)", "empty")
  bad <- ends[counts[ends] != counts[ends[1]]]
  if (length(bad)) {
    previous <- c(0L, which(!is.na(counts)))
    start <- max(previous[previous < bad[1]]) + 1L
    fail(start, sprintf("row has %d fields, the header has %d", counts[bad[1]], counts[ends[1]]), "malformed")
  }
  # A header of one field holding ';', tabs or '|' (a spreadsheet's export in a locale with a
  # decimal comma): refused as the CLI refuses it, not sent as one column of every field.
  if (counts[ends[1]] == 1L) {
    first <- sub("\r$", "", strsplit(text, "\n", fixed = TRUE)[[1]][ends[1]])
    separator <- Filter(function(s) grepl(s, first, fixed = TRUE), c(";", "\t", "|"))
    if (length(separator)) {
      shown <- if (separator[1] == "\t") "tab" else sprintf("'%s'", separator[1])
      fail(ends[1], sprintf("the header is one field that holds %s characters: the file looks %s-separated; readmit reads comma-separated files (RFC 4180)",
                            shown, shown), "malformed")
    }
  }
  frame <- tryCatch(
    utils::read.csv(text = text, colClasses = "character", na.strings = character(0), check.names = FALSE,
                    encoding = "UTF-8", fill = FALSE, strip.white = FALSE, comment.char = "", quote = "\"",
                    blank.lines.skip = TRUE, stringsAsFactors = FALSE),
    error = function(e) fail(NA_integer_, conditionMessage(e), "malformed"),
    warning = function(w) fail(NA_integer_, conditionMessage(w), "malformed"))
  # A column name twice: which one to read would be a guess; refused as the CLI refuses it
  # (unnamed columns, a spreadsheet's trailing commas, may repeat, and are left out: never read).
  named <- which(nzchar(names(frame)))
  twice <- named[duplicated(names(frame)[named])]
  if (length(twice)) {
    column <- names(frame)[twice[1]]
    first <- named[names(frame)[named] == column][1]
    fail(ends[1], sprintf("header names column '%s' twice (fields %d and %d): rename or drop one", column, first, twice[1]),
         "malformed", column)
  }
  if (!is.na(lone_cr)) {
    # A header holding one: a file whose lines end with CR alone (classic Mac OS), one line for
    # the CLI, which refuses it as such.
    field <- which(grepl(lone_cr, names(frame), fixed = TRUE))
    if (length(field)) {
      fail(ends[1], sprintf("header field %d holds a carriage return that ends no line: lines ended by a carriage return alone (classic Mac OS) are not line breaks in a CSV file; convert the file to LF or CRLF line endings",
                            field[1]), "malformed")
    }
    frame[] <- lapply(frame, function(v) gsub(lone_cr, "\r", v, fixed = TRUE))
  }
  sizes <- c(list(nchar(names(frame), type = "bytes")), lapply(frame, nchar, type = "bytes"))
  over <- vapply(sizes, function(n) { k <- which(n > .readmit_max_field_bytes); if (length(k)) k[1] else NA_integer_ }, 0L)
  if (any(!is.na(over))) {
    # The first bad row (the header first), then its first column; its line when rows are lines.
    k <- which(!is.na(over))
    first <- k[which.min(ifelse(k == 1L, 0L, over[k]))]
    if (first == 1L) fail(1L, sprintf("header field %d is over the limit of %d bytes (1 MiB)", which(sizes[[1]] > .readmit_max_field_bytes)[1],
                                      .readmit_max_field_bytes), "field_too_long")
    row <- over[first]
    fail(NA_integer_, sprintf("row %d: field %d is %d bytes long, over the limit of %d bytes (1 MiB)", row, first - 1L,
                              sizes[[first]][row], .readmit_max_field_bytes), "field_too_long", names(frame)[first - 1L])
  }
  frame[named]
}

# The 1-based offset of the first byte of `bytes` that is not part of a valid UTF-8 sequence
# (the file is known to hold one): the line holding it is checked byte by byte.
first_invalid_utf8 <- function(bytes) {
  feeds <- c(0L, which(bytes == as.raw(10L)), length(bytes) + 1L)
  for (k in seq_len(length(feeds) - 1L)) {
    from <- feeds[k] + 1L
    to <- feeds[k + 1L] - 1L
    if (to < from || validUTF8(rawToChar(bytes[from:to]))) next
    b <- as.integer(bytes[from:to])
    i <- 1L
    while (i <= length(b)) {
      c <- b[i]
      if (c < 0x80L) { i <- i + 1L; next }
      need <- if (c >= 0xC2L && c <= 0xDFL) 1L else if (c >= 0xE0L && c <= 0xEFL) 2L else if (c >= 0xF0L && c <= 0xF4L) 3L else 0L
      lo <- if (c == 0xE0L) 0xA0L else if (c == 0xF0L) 0x90L else 0x80L
      hi <- if (c == 0xEDL) 0x9FL else if (c == 0xF4L) 0x8FL else 0xBFL
      if (need == 0L || i + need > length(b) || b[i + 1L] < lo || b[i + 1L] > hi ||
          (need > 1L && any(b[(i + 2L):(i + need)] < 0x80L | b[(i + 2L):(i + need)] > 0xBFL))) {
        return(from + i - 1L)
      }
      i <- i + need + 1L
    }
  }
  length(bytes)
}

# The most bytes a file may hold, decompressed: the CLI's CompressedFile.maxBytes.
.readmit_max_file_bytes <- 2147483646

# The bytes of the file at `path` (a plain file, or gzip decompressed as the CLI decompresses it:
# every member, a truncated or corrupt stream refused), at most `limit`; `fail(message)` raises.
# Not gzfile(): it returns what it could inflate of a truncated file without a word.
read_file_bytes <- function(path, limit, fail) {
  size <- file.size(path)
  gib <- if (limit >= .readmit_max_file_bytes) "2 GiB" else sprintf("%.0f bytes", limit)
  if (!is.na(size) && size > limit) fail(sprintf("file larger than %s is not supported", gib))
  con <- file(path, "rb", raw = TRUE)
  chunks <- list()
  total <- 0
  repeat {
    b <- readBin(con, "raw", 8L * 1048576L)
    if (!length(b)) break
    total <- total + length(b)
    if (total > limit) { close(con); fail(sprintf("file larger than %s is not supported", gib)) }
    chunks[[length(chunks) + 1L]] <- b
  }
  close(con)
  bytes <- if (length(chunks)) unlist(chunks, use.names = FALSE) else raw(0)
  if (length(bytes) < 2L || bytes[1] != as.raw(0x1f) || bytes[2] != as.raw(0x8b)) return(bytes)
  out <- .Call(rreadmit_gunzip, bytes, as.double(limit))
  if (is.character(out)) {
    fail(switch(out,
                too_large = sprintf("file decompresses to more than %s, which is not supported", gib),
                out_of_memory = "cannot read or decompress: out of memory",
                "cannot read or decompress: invalid or truncated gzip data"))
  }
  out
}
