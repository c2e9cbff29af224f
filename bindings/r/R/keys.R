# CURVE key files as `readmit keys` writes them: a comment line, then the 40-character Z85 key.

#' Read a CURVE key file
#'
#' The Z85 key of a key file, as the daemon reads one: the first line that is neither empty nor
#' a comment (\code{#}), stripped of spaces. \code{readmit keys --name client} writes
#' \code{client.pub} and \code{client.key}; pass them, with the daemon's \code{server.pub}, to
#' \code{\link{readmit_connect}}.
#'
#' @param path the key file.
#' @return the key, a string of 40 characters.
#' @details A file that cannot be read, holds no key, or whose key is not 40 Z85 characters is
#'   an error of class \code{readmit_data_file_error} with \code{path}, \code{line} and
#'   \code{kind} (\code{"bad_key"}, \code{"unreadable"}). A secret key file (marked so by
#'   \code{readmit keys}) that other users can read is read with a warning of class
#'   \code{readmit_key_warning}, as readmitd refuses such a file for its own key.
#' @examples
#' \dontrun{
#' cl <- readmit_connect("tcp://10.0.0.5:5555",
#'                       server_public_key = readmit_read_key("server.pub"),
#'                       public_key = readmit_read_key("client.pub"),
#'                       secret_key = readmit_read_key("client.key"))
#' }
#' @export
readmit_read_key <- function(path) {
  call <- sys.call()
  if (!is.character(path) || length(path) != 1L || is.na(path) || !nzchar(path)) {
    readmit_abort("'path' must be one file name", class = "readmit_invalid_argument", call = call)
  }
  fail <- function(line, message, kind) {
    where <- if (is.na(line)) path else sprintf("%s:%d", path, line)
    readmit_abort(sprintf("%s: %s", where, message), class = c("readmit_data_file_error", "readmit_input_error"),
                  call = call, path = path, line = line, kind = kind)
  }
  if (!file.exists(path) || dir.exists(path)) fail(NA_integer_, "cannot read the key file (does it exist and is it readable?)", "unreadable")
  # The daemon reads at most 64 KiB of a key file (a comment and a 40-character key).
  if (file.size(path) > 65536) fail(NA_integer_, "a key file holds one 40-character key, not over 64 KiB", "bad_key")
  lines <- tryCatch(readLines(path, warn = FALSE, encoding = "UTF-8"),
                    error = function(e) fail(NA_integer_, paste("cannot read the key file:", conditionMessage(e)), "unreadable"))
  # A secret key file (marked so by `readmit keys`) other users can read: readmitd refuses such
  # a file for its own key; a client's is read, with a classed warning.
  if (any(startsWith(lines, "# readmit CURVE secret key"))) {
    mode <- file.mode(path)
    if (!is.na(mode) && bitwAnd(as.integer(mode), 4L) != 0L) {
      warning(structure(class = c("readmit_key_warning", "warning", "condition"), list(
        message = sprintf("%s: this secret key file can be read by other users (mode 0%s); any of them could pose as its owner: make it private (chmod 600 %s)",
                          path, format(mode), path),
        call = call)))
    }
  }
  for (i in seq_along(lines)) {
    line <- gsub("^[ \t]+|[ \t\r]+$", "", lines[[i]])
    if (!nzchar(line) || startsWith(line, "#")) next
    # Z85's alphabet (ZeroMQ RFC 32): a CURVE key is 32 bytes, 40 characters of it.
    if (!grepl("^[0-9a-zA-Z.\\-:+=^!/*?&<>()\\[\\]{}@%$#]{40}$", line, perl = TRUE)) {
      fail(i, "not a 40-character Z85 CURVE key", "bad_key")
    }
    return(line)
  }
  fail(NA_integer_, "holds no key (only comments or blank lines)", "bad_key")
}
